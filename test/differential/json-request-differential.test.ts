/**
 * Differential tests of the engine's JSON input form (src/policy/compiled/json-request.ts)
 * against cedar-wasm, on what the generated policy cases do not reach: action entities
 * given with a schema (Cedar compares ancestor sets, closed over the entities given), and
 * Long values beyond 2^53 in attributes, tags and context. cedar-wasm's JS binding cannot
 * take a BigInt (it throws) and reads a JS number as the JSON text it prints as (2^60 is
 * read as 1152921504606847000), so an exact value is compared two ways: as a JS number
 * when its printed form is the value, and otherwise with the value written as a literal
 * into the policy text given to cedar-wasm (Cedar parses literals exactly).
 * COFFER_FUZZ_RUNS raises the number of cases (test/security/fuzz/README.md).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import * as cedar from '@cedar-policy/cedar-wasm/nodejs';
import { CompiledPolicySet } from '../../src/policy/compiled/compiled-policy-set.js';
import { authorizeJsonRequest } from '../../src/policy/compiled/json-request.js';
import { policySetTextToEntries } from '../../src/policy/compiled/policy-text.js';
import { CedarSchema } from '../../src/policy/compiled/schema.js';
import { fuzzParams } from '../security/fuzz/fuzz-runs.js';

type Outcome = { type: 'failure' } | { type: 'success'; decision: string; reasons: string[]; errors: string[] };

interface Call {
  schema: string | null;
  policies: string;
  entities: unknown[];
  context: Record<string, unknown>;
  action: string;
}

const PRINCIPAL = { type: 'User', id: 'u' };
const RESOURCE = { type: 'Doc', id: 'd' };

function official(call: Call): Outcome {
  const answer = cedar.isAuthorized({
    principal: PRINCIPAL,
    action: { type: 'Action', id: call.action },
    resource: RESOURCE,
    context: call.context as cedar.Context,
    ...(call.schema === null ? {} : { schema: call.schema, validateRequest: true }),
    policies: { staticPolicies: call.policies },
    entities: call.entities as cedar.Entities,
  });
  if (answer.type === 'failure') return { type: 'failure' };
  const d = answer.response;
  return { type: 'success', decision: d.decision, reasons: [...d.diagnostics.reason].sort(), errors: [...new Set(d.diagnostics.errors.map((e) => e.policyId))].sort() };
}

function ours(call: Call): Outcome {
  const set = new CompiledPolicySet(policySetTextToEntries(call.policies));
  const schema = call.schema === null ? undefined : CedarSchema.parse(call.schema);
  const answer = authorizeJsonRequest(set, { principal: PRINCIPAL, action: { type: 'Action', id: call.action }, resource: RESOURCE, context: call.context, entities: call.entities }, schema);
  if (answer.type === 'failure') return { type: 'failure' };
  return { type: 'success', decision: answer.result.decision, reasons: answer.result.reasons, errors: answer.result.errors.map((e) => e.policyId) };
}

// ---- action entities ----

/** A random action hierarchy a0..a4 (each action's groups are earlier actions), every action applying to User -> Doc. */
const hierarchyArb = fc.tuple(...[1, 2, 3, 4].map((i) => fc.subarray([...Array(i).keys()]))).map((groups) => [[], ...groups] as number[][]);

function closure(h: number[][], i: number): number[] {
  const out = new Set<number>();
  const stack = [...h[i]!];
  while (stack.length > 0) {
    const p = stack.pop()!;
    if (!out.has(p)) {
      out.add(p);
      stack.push(...h[p]!);
    }
  }
  return [...out];
}

function schemaText(h: number[][]): string {
  const actions = h.map((groups, i) => `action "a${i}"${groups.length ? ` in [${groups.map((g) => `"a${g}"`).join(', ')}]` : ''} appliesTo { principal: [User], resource: [Doc], context: {} };`);
  return `entity User;\nentity Doc;\n${actions.join('\n')}\n`;
}

/** How a test lists an action's parents: its whole ancestor set (shuffled, some twice), its direct groups, or anything. */
const parentsArb = (h: number[][], i: number): fc.Arbitrary<number[]> =>
  fc.oneof(
    fc.shuffledSubarray(closure(h, i), { minLength: closure(h, i).length }).chain((all) => fc.array(fc.constantFrom(...(all.length ? all : [0])), { maxLength: 2 }).map((extra) => (all.length ? [...all, ...extra] : all))),
    fc.constant(h[i]!),
    fc.array(fc.integer({ min: 0, max: 4 }), { maxLength: 5 }),
  );

const actionCaseArb = hierarchyArb.chain((h) =>
  fc.record({
    h: fc.constant(h),
    action: fc.integer({ min: 0, max: 4 }),
    given: fc.array(
      fc.integer({ min: 0, max: 4 }).chain((i) =>
        fc.record({ i: fc.constant(i), parents: parentsArb(h, i), attrs: fc.constantFrom({}, { a: 1 }), tags: fc.constantFrom(undefined, {}, { t: 1 }) }),
      ),
      { maxLength: 4 },
    ),
    permitGroup: fc.integer({ min: 0, max: 4 }),
    forbid: fc.option(fc.integer({ min: 0, max: 4 })),
  }),
);

void describe('action entities with a schema, against cedar-wasm', () => {
  void it('the same acceptance and decision, whatever ancestors are listed (all of them, one twice, direct only)', () => {
    let accepted = 0;
    let refused = 0;
    fc.assert(
      fc.property(actionCaseArb, (c) => {
        const seen = new Set<number>();
        const entities: unknown[] = [{ uid: PRINCIPAL, attrs: {}, parents: [] }];
        for (const g of c.given) {
          if (seen.has(g.i)) continue; // one entry per action: repeated entries are another rule
          seen.add(g.i);
          entities.push({ uid: { type: 'Action', id: `a${g.i}` }, attrs: g.attrs, parents: g.parents.map((p) => ({ type: 'Action', id: `a${p}` })), ...(g.tags === undefined ? {} : { tags: g.tags }) });
        }
        const policies = `permit(principal, action in Action::"a${c.permitGroup}", resource);\n${c.forbid === null ? '' : `forbid(principal, action == Action::"a${c.forbid}", resource);\n`}`;
        const call: Call = { schema: schemaText(c.h), policies, entities, context: {}, action: `a${c.action}` };
        const want = official(call);
        if (want.type === 'failure') refused++;
        else accepted++;
        assert.deepEqual(ours(call), want, JSON.stringify(call));
      }),
      fuzzParams(300, 1119),
    );
    assert.ok(accepted > 20 && refused > 20, `accepted ${accepted}, refused ${refused}`);
  });
});

// ---- Long values ----

const I64_MAX = 2n ** 63n - 1n;
const I64_MIN = -(2n ** 63n);

/** The integer a JS number holding about `v` prints as, when it is an i64: what cedar-wasm can be given. */
function printable(v: bigint): bigint {
  const p = BigInt(String(Number(v)));
  return p >= I64_MIN && p <= I64_MAX ? p : v;
}

/** i64 values, most beyond 2^53, with the boundaries, and values a JS number can carry to cedar-wasm. */
const longArb: fc.Arbitrary<bigint> = fc.oneof(
  fc.bigInt({ min: I64_MIN, max: I64_MAX }),
  fc.bigInt({ min: I64_MIN, max: I64_MAX }).map(printable),
  fc.bigInt({ min: 2n ** 53n - 2n, max: 2n ** 53n + 4n }).map((v) => v),
  fc.bigInt({ min: -(2n ** 53n) - 4n, max: -(2n ** 53n) + 2n }),
  fc.constantFrom(I64_MAX, I64_MIN, I64_MAX - 1n, I64_MIN + 1n, 0n, 1n, -1n, 2n ** 62n),
);

/** Expressions over a Long `$V`, compared with a literal near it: equality, order, arithmetic (with overflow), sets. */
const exprArb = (v: bigint): fc.Arbitrary<string> =>
  fc.tuple(fc.bigInt({ min: -3n, max: 3n }), fc.constantFrom('==', '<', '<=', '>', 'plus', 'minus', 'times', 'contains')).map(([d, op]) => {
    const near = v + d >= I64_MIN && v + d <= I64_MAX ? v + d : v;
    const lit = `(${near})`;
    switch (op) {
      case 'plus':
        return `$V + ${d} > ${lit}`;
      case 'minus':
        return `$V - 2 < ${lit}`;
      case 'times':
        return `$V * 2 != ${lit}`;
      case 'contains':
        return `[$V, 1].contains(${lit})`;
      default:
        return `$V ${op} ${lit}`;
    }
  });

const WHERE = {
  attribute: { read: 'principal.n', schema: 'entity User { n: Long };', place: (v: unknown) => ({ entities: [{ uid: PRINCIPAL, attrs: { n: v }, parents: [] }], context: {} }) },
  tag: { read: 'principal.getTag("t")', schema: 'entity User tags Long;', place: (v: unknown) => ({ entities: [{ uid: PRINCIPAL, attrs: {}, parents: [], tags: { t: v } }], context: {} }) },
  context: { read: 'context.k', schema: 'entity User;', place: (v: unknown) => ({ entities: [{ uid: PRINCIPAL, attrs: {}, parents: [] }], context: { k: v } }) },
  'nested context': { read: 'context.r.q', schema: 'entity User;', place: (v: unknown) => ({ entities: [{ uid: PRINCIPAL, attrs: {}, parents: [] }], context: { r: { q: v } } }) },
  'set attribute': { read: 'principal.s.contains', schema: 'entity User { s: Set<Long> };', place: (v: unknown) => ({ entities: [{ uid: PRINCIPAL, attrs: { s: [v, 5] }, parents: [] }], context: {} }) },
} as const;

function longSchema(where: keyof typeof WHERE): string {
  const ctx = where === 'context' ? '{ k: Long }' : where === 'nested context' ? '{ r: { q: Long } }' : '{}';
  return `${WHERE[where].schema}\nentity Doc;\naction "x" appliesTo { principal: [User], resource: [Doc], context: ${ctx} };\n`;
}

/** The policy reading the value (`$V` -> where it lives), or with the value as a literal. */
function longPolicy(where: keyof typeof WHERE, expr: string, value: bigint | null): string {
  if (where === 'set attribute') {
    // the set holds the value: membership of the literal near it
    const lit = /\(([-0-9]+)\)/.exec(expr)![1]!;
    return `permit(principal, action, resource) when { ${value === null ? `principal.s.contains(${lit})` : `[(${value}), 5].contains(${lit})`} };`;
  }
  return `permit(principal, action, resource) when { ${expr.replaceAll('$V', value === null ? WHERE[where].read : `(${value})`)} };`;
}

const longCaseArb = fc.record({
  v: longArb,
  where: fc.constantFrom(...(Object.keys(WHERE) as (keyof typeof WHERE)[])),
  typed: fc.boolean(),
}).chain((c) => exprArb(c.v).map((expr) => ({ ...c, expr })));

void describe('Long values beyond 2^53, against cedar-wasm', () => {
  void it('an exact BigInt gives what cedar-wasm gives for the same value (as a number when a double holds it, else as a literal)', () => {
    let viaNumber = 0;
    let viaLiteral = 0;
    fc.assert(
      fc.property(longCaseArb, ({ v, where, typed, expr }) => {
        const schema = typed ? longSchema(where) : null;
        const placed = WHERE[where].place(v);
        const mine: Call = { schema, policies: longPolicy(where, expr, null), entities: placed.entities, context: placed.context, action: 'x' };
        const got = ours(mine);
        // cedar-wasm reads a number as the integer its printed form spells
        const exact = String(Number(v)) === String(v);
        if (exact) {
          viaNumber++;
          const asNumber = WHERE[where].place(Number(v));
          const call: Call = { ...mine, entities: asNumber.entities, context: asNumber.context };
          const want = official(call);
          assert.deepEqual(got, want, `${v} in ${where}: ${mine.policies}`);
          assert.deepEqual(ours(call), want, `${v} as a number in ${where}`);
        } else {
          viaLiteral++;
          // the value as a literal: the request carries everything else, minus the value
          const without = WHERE[where].place(0);
          const want = official({ ...mine, policies: longPolicy(where, expr, v), entities: without.entities, context: without.context });
          assert.deepEqual(got, want, `${v} in ${where}: ${mine.policies}`);
        }
      }),
      fuzzParams(400, 1219),
    );
    assert.ok(viaNumber > 30 && viaLiteral > 30, `via number ${viaNumber}, via literal ${viaLiteral}`);
  });

  void it('JS numbers are read as their printed form, as cedar-wasm reads them; BigInt over the whole i64 range, nothing beyond', () => {
    const schema = longSchema('context');
    const policies = [
      'permit(principal, action, resource) when { context.k != 0 };',
      // 2^60 is read as the integer it prints as, 1152921504606847000 (not 1152921504606846976)
      'permit(principal, action, resource) when { context.k == 1152921504606847000 };',
      'permit(principal, action, resource) when { context.k == 1152921504606846976 };',
    ];
    const call = (k: unknown, p = policies[0]!): Call => ({ schema, policies: p, entities: [{ uid: PRINCIPAL, attrs: {}, parents: [] }], context: { k }, action: 'x' });
    for (const k of [2 ** 63, -(2 ** 63), 2 ** 63 - 1024, 2 ** 62, -(2 ** 62), 2 ** 60, 2 ** 53 + 2, 1e21, 1.5, Number.NaN, Infinity]) {
      for (const p of policies) assert.deepEqual(ours(call(k, p)), official(call(k, p)), `${k}: ${p}`);
    }
    assert.deepEqual(ours(call(2 ** 60, policies[1])), { type: 'success', decision: 'allow', reasons: ['policy0'], errors: [] });
    assert.equal(ours(call(I64_MIN)).type, 'success');
    assert.equal(ours(call(I64_MAX)).type, 'success');
    assert.equal(ours(call(I64_MAX + 1n)).type, 'failure');
    assert.equal(ours(call(I64_MIN - 1n)).type, 'failure');
  });
});
