/**
 * Attack (correctness of the policy engine's public input form, issue 11.19): valid
 * Cedar JSON input that the official engine accepts was refused by Coffer's evaluator,
 * and some input the official engine refuses was accepted. Action entities listed with
 * all their ancestors or with a parent twice (Cedar compares ancestor sets), and Long
 * values beyond 2^53 given exactly as BigInt in attributes, tags or context. Each case
 * is run on both engines with Coffer's own schema (the generated ones are in
 * test/differential/json-request-differential.test.ts).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as cedar from '@cedar-policy/cedar-wasm/nodejs';
import { CompiledPolicySet } from '../../src/policy/compiled/compiled-policy-set.js';
import { authorizeJsonRequest } from '../../src/policy/compiled/json-request.js';
import { policySetTextToEntries } from '../../src/policy/compiled/policy-text.js';
import { CedarSchema } from '../../src/policy/compiled/schema.js';
import { readSchemaText } from '../../src/policy/policy-files.js';

const SCHEMA = readSchemaText();
const USER = { type: 'Coffer::User', id: 'u' };
const PROJECT = { type: 'Coffer::Project', id: 'p' };
const CONTEXT = {
  sourceIp: { __extn: { fn: 'ip', arg: '10.0.0.1' } },
  now: { __extn: { fn: 'datetime', arg: '2026-01-01T00:00:00Z' } },
  localHour: 0,
  localWeekday: 'thu',
  mfa: { methods: ['token'], ageSeconds: 0 },
  device: { managed: false, id: '' },
};
const action = (id: string, parents: string[]) => ({ uid: { type: 'Coffer::Action', id }, attrs: {}, parents: parents.map((p) => ({ type: 'Coffer::Action', id: p })) });
const user = { uid: USER, attrs: { id: 'u', name: 'u' }, parents: [] };
const project = { uid: PROJECT, attrs: { name: 'p' }, parents: [] };

function both(entities: unknown[], policies: string, context: Record<string, unknown> = CONTEXT, numberContext = context): { ours: string; official: string } {
  const request = { principal: USER, action: { type: 'Coffer::Action', id: 'read-metadata' }, resource: PROJECT, context, entities };
  const set = new CompiledPolicySet(policySetTextToEntries(policies));
  const mine = authorizeJsonRequest(set, request, CedarSchema.parse(SCHEMA));
  const theirs = cedar.isAuthorized({
    ...request,
    context: numberContext as cedar.Context,
    entities: entities as cedar.Entities,
    schema: SCHEMA,
    validateRequest: true,
    policies: { staticPolicies: policies },
  });
  return {
    ours: mine.type === 'failure' ? 'refused' : mine.result.decision,
    official: theirs.type === 'failure' ? 'refused' : theirs.response.decision,
  };
}

const PERMIT_READER = 'permit(principal, action in Coffer::Action::"role/reader", resource);';

void describe('action entities are compared with the schema as Cedar does (ancestor sets)', () => {
  void it('an action listed with all its ancestors is accepted', () => {
    assert.deepEqual(both([user, project, action('read-metadata', ['role/reader', 'role/writer', 'role/owner'])], PERMIT_READER), { ours: 'allow', official: 'allow' });
  });
  void it('an action listed with a parent twice is accepted', () => {
    assert.deepEqual(both([user, project, action('role/writer', ['role/owner', 'role/owner']), action('read-metadata', ['role/reader', 'role/writer', 'role/owner', 'role/reader'])], PERMIT_READER), { ours: 'allow', official: 'allow' });
  });
  void it('a chain of actions, each with its direct group, is accepted (the ancestors close over the entities given)', () => {
    assert.deepEqual(both([user, project, action('read-metadata', ['role/reader']), action('role/reader', ['role/writer']), action('role/writer', ['role/owner'])], PERMIT_READER), { ours: 'allow', official: 'allow' });
  });
  void it('an action with only its direct group, whose ancestors are not given, is refused (as Cedar refuses it)', () => {
    assert.deepEqual(both([user, project, action('read-metadata', ['role/reader'])], PERMIT_READER), { ours: 'refused', official: 'refused' });
  });
  void it('an action with an ancestor it does not have, or with tags, is refused', () => {
    assert.deepEqual(both([user, project, action('read-metadata', ['role/reader', 'role/writer', 'role/owner', 'download'])], PERMIT_READER), { ours: 'refused', official: 'refused' });
    assert.deepEqual(both([user, project, { ...action('read-metadata', ['role/reader', 'role/writer', 'role/owner']), tags: { t: 'x' } }], PERMIT_READER), { ours: 'refused', official: 'refused' });
  });
});

void describe('Long values beyond 2^53 given exactly as BigInt', () => {
  const BIG = 2n ** 60n + 1n; // no double holds it
  const PRINTED = 1152921504606847000n; // what the double 2^60 prints as, and cedar-wasm reads
  void it('in the context: accepted, with the exact value', () => {
    // mfa.ageSeconds is a Long of the schema
    const ctx = (age: unknown) => ({ ...CONTEXT, mfa: { methods: ['token'], ageSeconds: age } });
    const exact = `permit(principal, action, resource) when { context.mfa.ageSeconds == ${BIG} };`;
    const r = both([user, project], exact, ctx(BIG), ctx(0));
    assert.equal(r.ours, 'allow');
    // cedar-wasm cannot take a BigInt: the same value as a number it reads exactly
    const printed = `permit(principal, action, resource) when { context.mfa.ageSeconds == ${PRINTED} };`;
    assert.deepEqual(both([user, project], printed, ctx(PRINTED), ctx(Number(PRINTED))), { ours: 'allow', official: 'allow' });
    assert.equal(both([user, project], exact, ctx(2n ** 63n), ctx(0)).ours, 'refused');
  });
  void it('in an attribute and in a tag: accepted, with the exact value', () => {
    const schema = CedarSchema.parse('entity U { n: Long } tags Long; entity D; action "a" appliesTo { principal: [U], resource: [D], context: {} };');
    const set = new CompiledPolicySet(policySetTextToEntries(`permit(principal, action, resource) when { principal.n == ${BIG} && principal.getTag("t") == ${-BIG} };`));
    const request = (n: unknown, t: unknown) => ({
      principal: { type: 'U', id: 'u' },
      action: { type: 'Action', id: 'a' },
      resource: { type: 'D', id: 'd' },
      context: {},
      entities: [{ uid: { type: 'U', id: 'u' }, attrs: { n }, parents: [], tags: { t } }],
    });
    const answer = authorizeJsonRequest(set, request(BIG, -BIG), schema);
    assert.equal(answer.type === 'success' && answer.result.decision, 'allow');
    const off = authorizeJsonRequest(set, request(BIG + 1n, -BIG), schema);
    assert.equal(off.type === 'success' && off.result.decision, 'deny');
  });
});
