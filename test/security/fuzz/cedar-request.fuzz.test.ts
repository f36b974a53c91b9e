/**
 * Fuzz: the policy engine's JSON input form (src/policy/compiled/json-request.ts, with
 * json-values.ts and entity-store.ts): principal, action, resource, context and entities
 * as cedar-wasm's `isAuthorized` takes them. Anything (random JSON, BigInt, wrong types,
 * hostile keys such as `__proto__`, cycles, deep nesting) gives a decision or a refusal,
 * never an exception; and on JSON input the answer is cedar-wasm's: the same refusal or
 * the same decision, reasons and erroring policies. The targeted differential tests are
 * in test/differential/json-request-differential.test.ts.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import * as cedar from '@cedar-policy/cedar-wasm/nodejs';
import { CompiledPolicySet } from '../../../src/policy/compiled/compiled-policy-set.js';
import { authorizeJsonRequest, type JsonRequest } from '../../../src/policy/compiled/json-request.js';
import { policySetTextToEntries } from '../../../src/policy/compiled/policy-text.js';
import { CedarSchema } from '../../../src/policy/compiled/schema.js';
import { fuzzParams } from './fuzz-runs.js';

const SCHEMA_TEXT = `
entity G;
entity U in [G] { n: Long, s: String, t?: Set<Long>, ip?: ipaddr, r?: { q: Bool } } tags Long;
entity D { owner: U };
action "read" appliesTo { principal: [U], resource: [D], context: { k?: Long, at?: datetime } };
action "write" in ["read"] appliesTo { principal: [U], resource: [D], context: {} };
`;
const SCHEMA = CedarSchema.parse(SCHEMA_TEXT);
const POLICIES = `
permit(principal, action in Action::"read", resource) when { principal.n > 0 && resource.owner == principal };
forbid(principal in G::"banned", action, resource);
permit(principal, action == Action::"read", resource) when { context has k && context.k == principal.getTag("k") };
permit(principal, action, resource) when { principal has ip && principal.ip.isInRange(ip("10.0.0.0/8")) };
forbid(principal, action, resource) when { principal has t && principal.t.contains(7) };
`;
const SET = new CompiledPolicySet(policySetTextToEntries(POLICIES));

const typeArb = fc.constantFrom('U', 'G', 'D', 'Action', 'X', '', 'if', '1A', 'A::B', '__cedar');
const idArb = fc.constantFrom('a', 'b', 'banned', 'read', 'write', '', '__proto__');
/** Mostly well-formed, so that many requests get as far as a decision; sometimes anything. */
const uidArb = fc.oneof(
  { weight: 8, arbitrary: fc.record({ type: fc.constantFrom('U', 'G', 'D'), id: fc.constantFrom('a', 'b', 'banned') }) },
  { weight: 1, arbitrary: fc.record({ type: typeArb, id: idArb }).map((u) => ({ __entity: u })) },
  { weight: 1, arbitrary: fc.record({ type: typeArb, id: idArb, extra: fc.constant(1) }) },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 1 }) },
);
const valueArb: fc.Arbitrary<unknown> = fc.letrec<{ v: unknown }>((tie) => ({
  v: fc.oneof(
    { depthSize: 'small' },
    fc.integer(),
    fc.constantFrom(0, -1, 2 ** 53, 2 ** 60, -(2 ** 63), 2 ** 63, 1.5, 'a', '10.1.2.3', '', true, null),
    fc.string({ maxLength: 4 }),
    uidArb.map((u) => ({ __entity: u })),
    fc.constantFrom(
      { __extn: { fn: 'ip', arg: '10.0.0.1' } },
      { __extn: { fn: 'ip', arg: 'nope' } },
      { __extn: { fn: 'decimal', arg: '1.5' } },
      { __extn: { fn: 'datetime', arg: '2024-01-01' } },
      { __extn: { fn: 'nope', arg: '' } },
      { __extn: { fn: 'ip', args: ['10.0.0.1'] } },
      { __extn: { fn: 'ip' } },
      { __extn: 3 },
      { __expr: 'true' },
      { __expr: 5 },
    ),
    fc.array(tie('v'), { maxLength: 3 }),
    fc.dictionary(fc.constantFrom('q', 'n', 's', '__proto__', 'constructor', '__entity', '__extn'), tie('v'), { maxKeys: 3 }),
  ),
})).v;
/** Attribute values that fit the schema most of the time. */
const goodAttrs = fc.record(
  {
    n: fc.oneof(fc.integer({ min: -2, max: 2 }), valueArb),
    s: fc.oneof(fc.string({ maxLength: 3 }), valueArb),
    t: fc.oneof(fc.array(fc.integer({ min: 5, max: 8 }), { maxLength: 3 }), valueArb),
    ip: fc.constantFrom({ __extn: { fn: 'ip', arg: '10.1.2.3' } }, '192.168.0.1', '10.0.0.0/8'),
    r: fc.record({ q: fc.boolean() }),
    owner: fc.constantFrom({ __entity: { type: 'U', id: 'a' } }, { type: 'U', id: 'b' }),
    zz: valueArb,
  },
  { requiredKeys: [] },
);
const entityArb = fc.record(
  {
    uid: uidArb,
    attrs: fc.oneof({ weight: 8, arbitrary: goodAttrs }, { weight: 1, arbitrary: valueArb }),
    parents: fc.oneof({ weight: 8, arbitrary: fc.array(fc.oneof(uidArb, fc.constant({ type: 'G', id: 'banned' })), { maxLength: 3 }) }, { weight: 1, arbitrary: valueArb }),
    tags: fc.option(fc.oneof(fc.dictionary(fc.constantFrom('k', 'j'), fc.oneof(fc.integer({ min: 0, max: 2 }), valueArb), { maxKeys: 2 }), valueArb), { nil: undefined }),
  },
  { requiredKeys: ['uid'] },
);
const requestArb: fc.Arbitrary<JsonRequest> = fc.record({
  principal: fc.oneof({ weight: 8, arbitrary: fc.constantFrom({ type: 'U', id: 'a' }, { type: 'U', id: 'banned' }) }, { weight: 1, arbitrary: uidArb }),
  action: fc.oneof({ weight: 8, arbitrary: fc.constantFrom({ type: 'Action', id: 'read' }, { type: 'Action', id: 'write' }) }, { weight: 1, arbitrary: uidArb }),
  resource: fc.oneof({ weight: 8, arbitrary: fc.constant({ type: 'D', id: 'd' }) }, { weight: 1, arbitrary: uidArb }),
  context: fc.oneof({ weight: 6, arbitrary: fc.record({ k: fc.integer({ min: 0, max: 2 }), at: fc.constant({ __extn: { fn: 'datetime', arg: '2024-01-01' } }) }, { requiredKeys: [] }) }, { weight: 1, arbitrary: fc.dictionary(fc.constantFrom('k', 'at', 'zz'), valueArb, { maxKeys: 2 }) }, { weight: 1, arbitrary: valueArb }),
  entities: fc.oneof(
    { weight: 8, arbitrary: fc.tuple(fc.array(entityArb, { maxLength: 4 }), goodAttrs).map(([es, attrs]) => [{ uid: { type: 'D', id: 'd' }, attrs: { owner: attrs.owner ?? { type: 'U', id: 'a' } }, parents: [] }, { uid: { type: 'U', id: 'a' }, attrs: { n: 1, s: 'x', ...attrs }, parents: [] }, ...es]) },
    { weight: 1, arbitrary: valueArb },
  ),
});

type Outcome = { type: 'failure' } | { type: 'success'; decision: string; reasons: string[]; errors: string[] };

function ours(request: JsonRequest, schema: boolean): Outcome {
  const answer = authorizeJsonRequest(SET, request, schema ? SCHEMA : undefined);
  return answer.type === 'failure' ? { type: 'failure' } : { type: 'success', decision: answer.result.decision, reasons: answer.result.reasons, errors: answer.result.errors.map((e) => e.policyId) };
}

function official(request: JsonRequest, schema: boolean): Outcome | 'throws' {
  let answer;
  try {
    answer = cedar.isAuthorized({ ...(request as unknown as cedar.AuthorizationCall), policies: { staticPolicies: POLICIES }, ...(schema ? { schema: SCHEMA_TEXT, validateRequest: true } : {}) });
  } catch {
    return 'throws';
  }
  if (answer.type === 'failure') return { type: 'failure' };
  const d = answer.response;
  return { type: 'success', decision: d.decision, reasons: [...d.diagnostics.reason].sort(), errors: [...new Set(d.diagnostics.errors.map((e) => e.policyId))].sort() };
}

/** What this fuzzer found, kept: each once threw, or answered otherwise than cedar-wasm. */
const FOUND: { what: string; request: JsonRequest; schema: boolean }[] = (() => {
  const base = { principal: { type: 'U', id: 'a' }, action: { type: 'Action', id: 'read' }, resource: { type: 'D', id: 'd' }, context: {} };
  const user = (attrs: unknown) => ({ uid: { type: 'U', id: 'a' }, attrs, parents: [] });
  return [
    { what: 'an entity type that is not a Cedar name', request: { ...base, action: { type: '', id: 'a', extra: 1 }, entities: [] }, schema: false },
    { what: 'a reserved word as entity type', request: { ...base, principal: { type: 'if', id: 'a' }, entities: [] }, schema: false },
    { what: 'an entity without attrs or parents', request: { ...base, entities: [{ uid: { type: 'U', id: 'a' } }] }, schema: false },
    { what: 'attrs that are null', request: { ...base, entities: [{ uid: { type: 'U', id: 'a' }, attrs: null, parents: [] }] }, schema: false },
    { what: 'an attribute named __extn (the evaluator threw a TypeError)', request: { ...base, entities: [user({ __extn: { fn: 'ip', arg: '10.0.0.1' } })] }, schema: false },
    { what: 'a tag named __extn', request: { ...base, entities: [{ ...user({}), tags: { __extn: { fn: 'ip', arg: '10.0.0.1' } } }] }, schema: false },
    { what: 'a context that is an extension value', request: { ...base, context: { __extn: { fn: 'ip', arg: '10.0.0.1' } }, entities: [] }, schema: false },
    { what: 'the retired __expr escape', request: { ...base, context: { x: { __expr: 'true' } }, entities: [] }, schema: false },
    { what: 'an __extn that is not a call is a record', request: { ...base, context: { x: { __extn: {} } }, entities: [] }, schema: false },
    { what: 'an action whose parent is not an action', request: { ...base, entities: [user({ n: 1, s: 'x' }), { uid: { __entity: { type: 'Action', id: 'a' } }, attrs: {}, parents: [{ type: 'U', id: 'a' }] }] }, schema: false },
  ];
})();

void describe('fuzz: Cedar request JSON', () => {
  void it('regression (found by this fuzzer): the answers cedar-wasm gives, never an exception', () => {
    for (const f of FOUND) assert.deepEqual(ours(f.request, f.schema), official(f.request, f.schema), f.what);
    assert.deepEqual(ours(undefined as unknown as JsonRequest, false), { type: 'failure' }, 'a request that is not an object (was a TypeError)');
  });

  void it('anything gives a decision or a refusal, never an exception, with or without a schema', () => {
    fc.assert(
      fc.property(fc.oneof(requestArb, fc.anything({ withBigInt: true, withNullPrototype: true, maxDepth: 3 }).map((a) => a as JsonRequest)), fc.boolean(), (request, schema) => {
        const o = ours(request, schema);
        assert.ok(o.type === 'failure' || o.type === 'success');
      }),
      fuzzParams(1000, 2201),
    );
  });

  void it('on JSON input, the same answer as cedar-wasm', () => {
    let accepted = 0;
    fc.assert(
      fc.property(requestArb, fc.boolean(), (request, schema) => {
        const want = official(request, schema);
        fc.pre(want !== 'throws');
        if (want.type === 'success') accepted++;
        assert.deepEqual(ours(request, schema), want, JSON.stringify(request));
      }),
      fuzzParams(400, 2202),
    );
    assert.ok(accepted > 20, `accepted ${accepted}`);
  });
});
