/**
 * Cedar's handwritten integration tests (shared/cedar-integration-tests): every request
 * of every test file, on the compiled evaluator and on cedar-wasm, must give the
 * expected decision, reasons and erroring policies.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import * as cedar from '@cedar-policy/cedar-wasm/nodejs';
import { sharedAbsent, sharedDir } from '../../../test/support/shared-dir.js';
import { policySetTextToEntries } from './policy-text.js';
import { CompiledPolicySet } from './compiled-policy-set.js';
import { CedarSchema } from './schema.js';
import { authorizeJsonRequest } from './json-request.js';

const ROOT = sharedDir('cedar-integration-tests');

interface TestFile {
  policies: string;
  entities: string;
  schema: string;
  shouldValidate: boolean;
  requests: { description: string; principal: unknown; action: unknown; resource: unknown; context: unknown; decision: 'allow' | 'deny'; reason: string[]; errors: string[] }[];
}

function findTests(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) findTests(p, out);
    else if (name.endsWith('.json')) out.push(p);
  }
  return out;
}

void describe('cedar integration tests', () => {
  // a fresh clone has no ../shared: skip with one line rather than fail (CI has it)
  if (ROOT === null || sharedDir('cedar-integration-tests', 'tests') === null) {
    void it('shared/cedar-integration-tests', { skip: sharedAbsent('cedar-integration-tests') }, () => undefined);
    return;
  }
  const files = findTests(join(ROOT, 'tests'));
  void it('has test files', () => assert.ok(files.length >= 20));
  for (const file of files) {
    const t = JSON.parse(readFileSync(file, 'utf8')) as TestFile;
    const policyText = readFileSync(join(ROOT, t.policies), 'utf8');
    const schemaText = readFileSync(join(ROOT, t.schema), 'utf8');
    const entities = JSON.parse(readFileSync(join(ROOT, t.entities), 'utf8')) as unknown;
    void it(relative(ROOT, file), () => {
      const set = new CompiledPolicySet(policySetTextToEntries(policyText));
      const schema = CedarSchema.parse(schemaText);
      if (t.shouldValidate) {
        const v = cedar.validate({ schema: schemaText, policies: { staticPolicies: policyText }, validationSettings: { mode: 'strict' } });
        assert.equal(v.type, 'success');
        if (v.type === 'success') assert.deepEqual(v.validationErrors, []);
      }
      for (const r of t.requests) {
        const request = { principal: r.principal, action: r.action, resource: r.resource, context: r.context, entities };
        const ours = authorizeJsonRequest(set, request, schema);
        assert.equal(ours.type, 'success', `${r.description}: ${ours.type === 'failure' ? ours.errors.join('; ') : ''}`);
        if (ours.type !== 'success') continue;
        const got = { decision: ours.result.decision, reason: ours.result.reasons, errors: ours.result.errors.map((e) => e.policyId) };
        const want = { decision: r.decision, reason: [...r.reason].sort(), errors: [...r.errors].sort() };
        assert.deepEqual(got, want, r.description);
        const official = cedar.isAuthorized({
          principal: r.principal as cedar.EntityUid,
          action: r.action as cedar.EntityUid,
          resource: r.resource as cedar.EntityUid,
          context: r.context as cedar.Context,
          schema: schemaText,
          validateRequest: true,
          policies: { staticPolicies: policyText },
          entities: entities as cedar.Entities,
        });
        assert.equal(official.type, 'success');
        if (official.type === 'success') {
          const d = official.response;
          assert.deepEqual(
            { decision: d.decision, reason: [...d.diagnostics.reason].sort(), errors: d.diagnostics.errors.map((e) => e.policyId).sort() },
            want,
            `cedar-wasm: ${r.description}`,
          );
        }
      }
    });
  }
});
