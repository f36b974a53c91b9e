import { it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from './policy-files.js';
import { PolicySetFactory } from './policy-set-factory.js';
import { TEST_ADMINS_GROUP, parsePolicyTestFile, runPolicyTests } from './policy-test-cases.js';

const examples = join(packageRoot(), 'src', 'policy', 'examples');

void it('runs the working-hours example and its test cases (all pass)', () => {
  const file = parsePolicyTestFile(JSON.parse(readFileSync(join(examples, 'working-hours.tests.json'), 'utf8')));
  const sources = file.policies!.map((name) => ({ name, text: readFileSync(join(examples, name), 'utf8') }));
  const results = runPolicyTests(new PolicySetFactory().engine(sources, TEST_ADMINS_GROUP), file);
  assert.equal(results.length, 7);
  for (const r of results) assert.ok(r.passed, `${r.name}: ${r.message}`);
});

void it('reports failing cases: wrong decision, wrong determining policies', () => {
  const file = parsePolicyTestFile(JSON.parse(readFileSync(join(examples, 'working-hours.tests.json'), 'utf8')));
  // without the working-hours policy, the after-hours cases allow
  const results = runPolicyTests(new PolicySetFactory().engine([], TEST_ADMINS_GROUP), file);
  const failed = results.filter((r) => !r.passed);
  assert.deepEqual(failed.map((r) => r.name), [
    'the same download at 19:00 is refused by the working-hours rule',
    'a Saturday upload of a prod model by its owner is refused',
    'a restricted dev dataset is not downloaded at 07:59',
    "without pinned hours the rule reads the request time in the organisation's time zone (UTC by default)",
  ]);
  assert.match(failed[0]!.message, /expected deny, got allow; expected determining \[working-hours\/prod-and-restricted\], got \[ml-reads-vision\]/);
});

void it('refuses a malformed test file, naming the field', () => {
  const bad = (json: unknown, pattern: RegExp) => assert.throws(() => parsePolicyTestFile(json), (err: Error & { code?: string }) => err.code === 'COFFER_VALIDATION_FAILED' && pattern.test(err.message));
  bad({ tests: [] }, /tests: must be a list/);
  bad({ tests: [{ name: 'x', principal: 'a', action: 'fly', resource: 'system', expect: 'allow' }] }, /tests\[0\]\.action: must be one of/);
  bad({ tests: [{ name: 'x', principal: 'a', action: 'download', resource: { project: 'p', version: 2 }, expect: 'allow' }] }, /resource\.version: needs an artifact/);
  bad({ tests: [{ name: 'x', principal: 'a', action: 'download', resource: 'system', expect: 'allow', extra: 1 }] }, /unknown field `extra`/);
  bad({ tests: [{ name: 'x', principal: 'a', action: 'download', resource: 'system', expect: 'yes' }] }, /expect: must be one of allow, deny/);
});
