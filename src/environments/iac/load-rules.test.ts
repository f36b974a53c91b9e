import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { IacRuleInvalidError } from '../../domain/errors.js';
import { builtinRules } from './builtin-rules.js';
import { checkPlan } from './check-plan.js';
import { loadRuleFile, loadRules } from './load-rules.js';
import { parsePlan } from './parse-plan.js';
import { testRuleFixtures } from './test-fixtures.js';

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'coffer-iac-rules-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

const TAGGED = `rules:
  - id: acme-bucket-owner-tag
    severity: low
    title: Buckets name their owner
    message: the bucket has no owner tag
    category: tagging
    provider: aws
    resource_types: [aws_s3_bucket]
    violation: |
      // tags may be null: only a map can hold the key
      !(type(setting(resource, "tags")) == map && "owner" in setting(resource, "tags"))
    remediation: add tags = { owner = "team" }
    fixtures:
      violates: untagged.json
      passes: tagged.json
`;

const bucketPlan = (tags: unknown) =>
  JSON.stringify({
    format_version: '1.2',
    resource_changes: [{ address: 'aws_s3_bucket.b', mode: 'managed', type: 'aws_s3_bucket', name: 'b', change: { actions: ['create'], before: null, after: { bucket: 'b', tags }, after_unknown: {} } }],
  });

function rejects(fn: () => unknown, message: RegExp) {
  assert.throws(fn, (err: unknown) => err instanceof IacRuleInvalidError && err.code === 'COFFER_IAC_RULE_INVALID' && message.test(err.message), `expected COFFER_IAC_RULE_INVALID matching ${message}`);
}

test('a user rule file in YAML loads, evaluates, and runs its own fixtures', () => {
  const d = join(dir, 'ok');
  mkdirSync(d);
  writeFileSync(join(d, 'tags.yaml'), TAGGED);
  writeFileSync(join(d, 'untagged.json'), bucketPlan(null));
  writeFileSync(join(d, 'tagged.json'), bucketPlan({ owner: 'ml' }));
  const rules = loadRules([d], builtinRules());
  assert.deepEqual(rules.map((r) => r.id), ['acme-bucket-owner-tag']);
  assert.equal(rules[0]!.source, join(d, 'tags.yaml'));
  const report = checkPlan(parsePlan(bucketPlan({ team: 'x' })), rules);
  assert.equal(report.findings[0]?.verdict, 'violation');
  assert.deepEqual(testRuleFixtures(rules, '/nonexistent').map((r) => r.status), ['ok']);
  // the fixtures swapped: the test of the fixtures fails
  writeFileSync(join(d, 'tagged.json'), bucketPlan(null));
  assert.deepEqual(testRuleFixtures(rules, '/nonexistent').map((r) => r.status), ['failed']);
});

test('a rule that does not compile, has the wrong type or the wrong fields is an error, never skipped', () => {
  const write = (name: string, body: string) => {
    const p = join(dir, name);
    writeFileSync(p, body);
    return p;
  };
  const base = (violation: string, extra = '') =>
    `rules:\n  - id: acme-x\n    severity: high\n    title: t\n    message: m\n    category: network\n    provider: aws\n    resource_types: [aws_s3_bucket]\n    violation: '${violation}'\n    remediation: r\n${extra}`;
  rejects(() => loadRuleFile(write('syntax.yaml', base('resource.values.acl =='))), /acme-x.*`violation` does not compile/);
  rejects(() => loadRuleFile(write('fn.yaml', base('nosuchfunction(resource)'))), /does not compile/);
  rejects(() => loadRuleFile(write('type.yaml', base('"a string"'))), /has type `string`, expected bool/);
  rejects(() => loadRuleFile(write('extra.yaml', base('true', '    severity_override: low\n'))), /must NOT have additional properties/);
  rejects(() => loadRuleFile(write('sev.yaml', base('true').replace('severity: high', 'severity: urgent'))), /severity/);
  rejects(() => loadRuleFile(write('id.yaml', base('true').replace('acme-x', 'Bad Id'))), /id/);
  rejects(() => loadRuleFile(write('yaml.yaml', 'rules: [unclosed')), /not valid YAML/);
  rejects(() => loadRuleFile(write('dup-key.yaml', base('true').replace('    remediation: r', '    remediation: r\n    remediation: s'))), /not valid YAML/);
  rejects(() => loadRuleFile(write('bad.json', '{"rules": ')), /not valid JSON/);
  rejects(() => loadRuleFile(join(dir, 'missing.yaml')), /cannot be read: ENOENT/);
  const big = write('big.yaml', 'rules: []\n' + '#'.repeat(1024 * 1024 + 1));
  rejects(() => loadRuleFile(big), /larger than/);
  // a billion-laughs file: aliases are capped
  const laughs = ['a: &a ["x","x","x","x","x","x","x","x","x","x"]'];
  for (let i = 1; i < 12; i++) laughs.push(`${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(10).fill(`*${String.fromCharCode(96 + i)}`).join(',')}]`);
  rejects(() => loadRuleFile(write('laughs.yaml', laughs.join('\n') + '\nrules: []\n')), /not valid YAML|not valid/);
});

test('ids are unique across the built-in rules and every file loaded', () => {
  const d = join(dir, 'dup');
  mkdirSync(d);
  writeFileSync(
    join(d, 'a.yaml'),
    `rules:\n  - id: aws-s3-bucket-public-acl\n    severity: low\n    title: t\n    message: m\n    category: network\n    provider: aws\n    resource_types: [aws_s3_bucket]\n    violation: 'false'\n    remediation: r\n`,
  );
  rejects(() => loadRules([d], builtinRules()), /`aws-s3-bucket-public-acl` .* has the id of a rule in `builtin`/);
});

test('a directory loads its .yaml files only and does not follow directory symlinks', () => {
  const d = join(dir, 'tree');
  mkdirSync(join(d, 'sub'), { recursive: true });
  writeFileSync(join(d, 'sub', 'tags.yml'), TAGGED);
  writeFileSync(join(d, 'plan.json'), '{"not": "a rule file"}');
  symlinkSync(d, join(d, 'sub', 'loop'));
  assert.deepEqual(loadRules([d]).map((r) => r.id), ['acme-bucket-owner-tag']);
});
