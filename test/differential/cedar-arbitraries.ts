/**
 * fast-check generators of Cedar policy sets (in Cedar's JSON policy form, printed to
 * text for cedar-wasm), templates and links, entities and requests in Cedar's JSON
 * forms, for differential testing of the compiled evaluator against cedar-wasm.
 * Everything is drawn from small pools so that scopes match, attributes exist and
 * conditions hold often enough to be interesting, and from boundary values (i64
 * limits, invalid extension literals, cycles) to reach errors and refusals.
 */
import fc from 'fast-check';
import { printPolicy } from './est-printer.js';

const TYPES = ['U', 'G', 'R'] as const;
const IDS = ['a', 'b', 'c'] as const;
const ATTRS = ['x', 'y', 'z'] as const;
const ACTIONS = ['view', 'edit', 'g1', 'g2'] as const;

/** A uid in Cedar's JSON form. */
export interface Uid {
  type: string;
  id: string;
}

/** An expression node of Cedar's JSON policy form. */
export type Est = Record<string, unknown>;

const ALL_UIDS: Uid[] = TYPES.flatMap((t) => IDS.map((id) => ({ type: t, id })));
const uidArb: fc.Arbitrary<Uid> = fc.constantFrom(...ALL_UIDS);
const actionArb: fc.Arbitrary<Uid> = fc.constantFrom(...ACTIONS).map((id) => ({ type: 'Action', id }));

const IP_STRINGS = ['10.0.0.1', '10.0.0.0/8', '127.0.0.1', '127.0.0.0/7', '::1', 'ff00::/8', '192.168.1.1/24', '224.0.0.1', '::', '10.0.0.0/33', '1.2.3', '::ffff:1.2.3.4', '010.0.0.1', '1::2::3', 'a:b:c:d:e:f:0:1/64'];
const DECIMAL_STRINGS = ['1.0', '-0.5', '0.0001', '922337203685477.5807', '-922337203685477.5808', '1.23456', 'abc', '2.5', '-2.5', '1.', '922337203685477.5808'];
const DATETIME_STRINGS = ['2024-01-01', '2024-01-01T10:00:00Z', '2024-01-01T10:00:00.123+0130', '1969-12-31T23:59:59Z', '2024-02-30', '0000-01-01', '9999-12-31T23:59:59.999Z', '2024-01-01T24:00:00Z', '2024-01-01T00:00:00-2359', '2024-01-01T00:00:00+2400', '2024-1-01'];
const DURATION_STRINGS = ['1h', '-1d2h', '0ms', '1d1ms', '9223372036854775807ms', '-9223372036854775808ms', '1h1d', '', '-', '90m', '-1ms', '106751991167d'];
const STRINGS = ['', 'a', 'b', 'ab', 'a*b', 'ba', 'é', '\u{1F600}'];
const LONGS: (number | bigint)[] = [0, 1, -1, 2, 3, 7, 9223372036854775807n, -9223372036854775808n, 9007199254740993n, 4611686018427387904n, 3037000500];
const PATTERNS: ('Wildcard' | { Literal: string })[][] = [
  [{ Literal: 'a' }, 'Wildcard'],
  ['Wildcard'],
  [],
  ['Wildcard', { Literal: 'b' }],
  [{ Literal: 'a' }, { Literal: '*' }, { Literal: 'b' }],
  [{ Literal: 'a' }, 'Wildcard', { Literal: 'b' }, 'Wildcard'],
  ['Wildcard', 'Wildcard'],
  [{ Literal: 'é' }, 'Wildcard'],
  ['Wildcard', { Literal: '\u{1F600}' }],
];

const lit = (v: unknown): Est => ({ Value: v });
const ent = (u: Uid): Est => lit({ __entity: u });
const v = (name: string): Est => ({ Var: name });
const bin = (op: string, left: Est, right: Est): Est => ({ [op]: { left, right } });
const attr = (left: Est, a: string): Est => ({ '.': { left, attr: a } });

const extArb: fc.Arbitrary<Est> = fc.oneof(
  fc.constantFrom(...IP_STRINGS).map((s) => ({ ip: [lit(s)] })),
  fc.constantFrom(...DECIMAL_STRINGS).map((s) => ({ decimal: [lit(s)] })),
  fc.constantFrom(...DATETIME_STRINGS).map((s) => ({ datetime: [lit(s)] })),
  fc.constantFrom(...DURATION_STRINGS).map((s) => ({ duration: [lit(s)] })),
);

const literalArb: fc.Arbitrary<Est> = fc.oneof(
  fc.boolean().map(lit),
  fc.constantFrom(...LONGS).map(lit),
  fc.constantFrom(...STRINGS).map(lit),
  uidArb.map(ent),
  actionArb.map(ent),
);

/** A reference to request data: a variable or one of its attributes (or a nested one). */
const refArb: fc.Arbitrary<Est> = fc.oneof(
  { weight: 2, arbitrary: fc.constantFrom('principal', 'resource', 'action', 'context').map(v) },
  { weight: 5, arbitrary: fc.tuple(fc.constantFrom('principal', 'resource', 'context'), fc.constantFrom(...ATTRS)).map(([n, a]) => attr(v(n), a)) },
  { weight: 1, arbitrary: fc.tuple(fc.constantFrom('principal', 'resource', 'context'), fc.constantFrom(...ATTRS), fc.constantFrom(...ATTRS)).map(([n, a, b]) => attr(attr(v(n), a), b)) },
);

/** Expressions likely to be well typed (comparisons of request data with literals). */
const typedArb: fc.Arbitrary<Est> = fc.oneof(
  fc.tuple(refArb, fc.constantFrom('==', '!='), literalArb).map(([a, op, b]) => bin(op, a, b)),
  fc.tuple(refArb, fc.constantFrom('<', '<=', '>', '>='), fc.constantFrom(0, 1, 2, 3)).map(([a, op, n]) => bin(op, a, lit(n))),
  fc.tuple(fc.constantFrom('principal', 'resource', 'context').map(v), fc.constantFrom(...ATTRS), fc.option(fc.constantFrom(...ATTRS), { nil: undefined })).map(([a, x, y]) => ({ has: { left: a, attr: y === undefined ? x : [x, y] } })),
  fc.tuple(fc.constantFrom('principal', 'resource').map(v), fc.oneof(uidArb.map(ent), refArb)).map(([a, b]) => bin('in', a, b)),
  fc.tuple(refArb, literalArb).map(([a, b]) => bin('contains', a, b)),
  fc.tuple(refArb, fc.constantFrom(...PATTERNS)).map(([a, pattern]) => ({ like: { left: a, pattern } })),
  fc.tuple(refArb, fc.constantFrom(...IP_STRINGS.slice(0, 7))).map(([a, s]) => ({ isInRange: [a, { ip: [lit(s)] }] })),
  fc.tuple(refArb, fc.constantFrom(...DECIMAL_STRINGS.slice(0, 5))).map(([a, s]) => ({ lessThan: [a, { decimal: [lit(s)] }] })),
  fc.tuple(refArb, fc.constantFrom(...DATETIME_STRINGS.slice(0, 4))).map(([a, s]) => bin('<', a, { datetime: [lit(s)] })),
  fc.tuple(fc.constantFrom('principal', 'resource').map(v), fc.constantFrom('t', 'u')).map(([a, t]) => bin('hasTag', a, lit(t))),
);

/** Any expression, typed or not, up to `maxDepth` nested operators. */
export function exprArb(maxDepth: number): fc.Arbitrary<Est> {
  const { expr } = fc.letrec<{ expr: Est }>((tie) => {
    const sub = tie('expr');
    return {
      expr: fc.oneof(
        { depthSize: 'small', withCrossShrink: true, maxDepth },
        { weight: 4, arbitrary: fc.oneof(refArb, literalArb) },
        { weight: 6, arbitrary: typedArb },
        { weight: 1, arbitrary: extArb },
        { weight: 1, arbitrary: sub.map((a) => ({ '!': { arg: a } })) },
        { weight: 1, arbitrary: sub.map((a) => ({ neg: { arg: a } })) },
        { weight: 3, arbitrary: fc.tuple(sub, fc.constantFrom('&&', '||'), sub).map(([a, op, b]) => bin(op, a, b)) },
        { weight: 3, arbitrary: fc.tuple(sub, fc.constantFrom('==', '!=', '<', '<=', '>', '>=', '+', '-', '*', 'in'), sub).map(([a, op, b]) => bin(op, a, b)) },
        { weight: 1, arbitrary: fc.tuple(sub, fc.constantFrom(...ATTRS)).map(([a, n]) => attr(a, n)) },
        { weight: 1, arbitrary: fc.tuple(sub, fc.constantFrom(...ATTRS), fc.option(fc.constantFrom(...ATTRS), { nil: undefined })).map(([a, x, y]) => ({ has: { left: a, attr: y === undefined ? x : [x, y] } })) },
        { weight: 1, arbitrary: fc.tuple(sub, fc.constantFrom(...PATTERNS)).map(([a, pattern]) => ({ like: { left: a, pattern } })) },
        { weight: 1, arbitrary: fc.tuple(sub, fc.constantFrom(...TYPES, 'Action'), fc.option(sub, { nil: undefined })).map(([a, t, b]) => ({ is: b === undefined ? { left: a, entity_type: t } : { left: a, entity_type: t, in: b } })) },
        { weight: 1, arbitrary: fc.tuple(sub, sub, sub).map(([a, b, c]) => ({ 'if-then-else': { if: a, then: b, else: c } })) },
        { weight: 1, arbitrary: fc.array(sub, { maxLength: 3 }).map((xs) => ({ Set: xs })) },
        { weight: 1, arbitrary: fc.dictionary(fc.constantFrom(...ATTRS), sub, { maxKeys: 3 }).map((r) => ({ Record: r })) },
        { weight: 2, arbitrary: fc.tuple(sub, fc.constantFrom('contains', 'containsAll', 'containsAny', 'getTag', 'hasTag'), sub).map(([a, m, b]) => bin(m, a, b)) },
        { weight: 1, arbitrary: sub.map((a) => ({ isEmpty: { arg: a } })) },
        { weight: 1, arbitrary: fc.tuple(sub, fc.constantFrom('lessThan', 'lessThanOrEqual', 'greaterThan', 'greaterThanOrEqual', 'isInRange', 'offset', 'durationSince'), sub).map(([a, m, b]) => ({ [m]: [a, b] })) },
        { weight: 1, arbitrary: fc.tuple(sub, fc.constantFrom('isIpv4', 'isIpv6', 'isLoopback', 'isMulticast', 'toDate', 'toTime', 'toMilliseconds', 'toSeconds', 'toMinutes', 'toHours', 'toDays')).map(([a, m]) => ({ [m]: [a] })) },
      ),
    };
  });
  return expr;
}

/** A Cedar value in JSON form (entity attributes, context, tags). */
export function jsonValueArb(maxDepth: number): fc.Arbitrary<unknown> {
  const leaf = fc.oneof(
    { weight: 2, arbitrary: fc.boolean() },
    { weight: 3, arbitrary: fc.integer({ min: -1, max: 3 }) },
    { weight: 1, arbitrary: fc.constantFrom(9007199254740991, -9007199254740991, 3037000500) },
    { weight: 3, arbitrary: fc.constantFrom(...STRINGS) },
    { weight: 3, arbitrary: uidArb.map((u) => ({ __entity: u })) },
    { weight: 1, arbitrary: fc.constantFrom(...IP_STRINGS.slice(0, 9)).map((s) => ({ __extn: { fn: 'ip', arg: s } })) },
    { weight: 1, arbitrary: fc.constantFrom(...DECIMAL_STRINGS.slice(0, 5)).map((s) => ({ __extn: { fn: 'decimal', arg: s } })) },
    { weight: 1, arbitrary: fc.constantFrom(...DATETIME_STRINGS.slice(0, 3)).map((s) => ({ __extn: { fn: 'datetime', arg: s } })) },
    { weight: 1, arbitrary: fc.constantFrom(...DURATION_STRINGS.slice(0, 4)).map((s) => ({ __extn: { fn: 'duration', arg: s } })) },
  );
  if (maxDepth <= 0) return leaf;
  const sub = jsonValueArb(maxDepth - 1);
  return fc.oneof(
    { weight: 6, arbitrary: leaf },
    { weight: 1, arbitrary: fc.array(sub, { maxLength: 3 }) },
    { weight: 1, arbitrary: fc.dictionary(fc.constantFrom(...ATTRS), sub, { maxKeys: 3 }) },
  );
}

/** An entity in Cedar's JSON form. */
export interface EntityJson {
  uid: Uid;
  attrs: Record<string, unknown>;
  parents: Uid[];
  tags?: Record<string, unknown>;
}

const parentsArb = (pool: Uid[]) => fc.subarray(pool, { maxLength: Math.min(3, pool.length) });

/** Entities drawn from the pools; parents mostly point "up" (no cycle), sometimes anywhere. */
export const entitiesArb: fc.Arbitrary<EntityJson[]> = fc
  .tuple(fc.subarray(ALL_UIDS, { minLength: 2 }), fc.subarray(ACTIONS.map((id) => ({ type: 'Action', id }))))
  .chain(([uids, actions]) =>
    fc.tuple(
      ...uids.map((uid) =>
        fc.record(
          {
            uid: fc.constant(uid),
            attrs: fc.dictionary(fc.constantFrom(...ATTRS), jsonValueArb(1), { maxKeys: 3 }),
            parents: fc.oneof(
              { weight: 19, arbitrary: parentsArb(ALL_UIDS.filter((p) => p.type > uid.type || (p.type === uid.type && p.id > uid.id))) },
              { weight: 1, arbitrary: parentsArb(ALL_UIDS) },
            ),
            tags: fc.dictionary(fc.constantFrom('t', 'u'), jsonValueArb(0), { maxKeys: 2 }),
          },
          { requiredKeys: ['uid', 'attrs', 'parents'] },
        ),
      ),
      ...actions.map((uid) =>
        fc.record({
          uid: fc.constant(uid),
          attrs: fc.constant({}),
          parents: fc.subarray(ACTIONS.filter((a) => a.startsWith('g') && a > uid.id).map((id) => ({ type: 'Action', id }))),
        }),
      ),
    ),
  )
  .map((es) => es as EntityJson[]);

const scopeArb = (slot: boolean): fc.Arbitrary<Est> =>
  fc.oneof(
    { weight: 3, arbitrary: fc.constant({ op: 'All' }) },
    { weight: 2, arbitrary: uidArb.map((entity) => ({ op: '==', entity })) },
    { weight: 2, arbitrary: uidArb.map((entity) => ({ op: 'in', entity })) },
    { weight: 1, arbitrary: fc.constantFrom(...TYPES).map((entity_type) => ({ op: 'is', entity_type })) },
    { weight: 1, arbitrary: fc.tuple(fc.constantFrom(...TYPES), uidArb).map(([entity_type, entity]) => ({ op: 'is', entity_type, in: { entity } })) },
    ...(slot
      ? [
          { weight: 4, arbitrary: fc.constantFrom('==', 'in').map((op) => ({ op, slot: '?' })) },
          { weight: 1, arbitrary: fc.constantFrom(...TYPES).map((entity_type) => ({ op: 'is', entity_type, in: { slot: '?' } })) },
        ]
      : []),
  );

const actionScopeArb: fc.Arbitrary<Est> = fc.oneof(
  fc.constant({ op: 'All' }),
  actionArb.map((entity) => ({ op: '==', entity })),
  actionArb.map((entity) => ({ op: 'in', entity })),
  fc.uniqueArray(actionArb, { minLength: 2, maxLength: 3, selector: (a) => a.id }).map((entities) => ({ op: 'in', entities })),
);

function fillSlot(c: Est, name: string): Est {
  if (c.slot === '?') return { ...c, slot: name };
  if (typeof c.in === 'object' && c.in !== null && (c.in as Est).slot === '?') return { ...c, in: { slot: name } };
  return c;
}
const usesSlot = (c: Est) => c.slot !== undefined || (typeof c.in === 'object' && c.in !== null && (c.in as Est).slot !== undefined);

/** A policy (or template) in Cedar's JSON policy form. */
export function policyArb(template: boolean, maxDepth: number): fc.Arbitrary<Est> {
  return fc
    .record({
      effect: fc.constantFrom('permit', 'permit', 'permit', 'forbid'),
      principal: scopeArb(template).map((c) => fillSlot(c, '?principal')),
      action: actionScopeArb,
      resource: scopeArb(template).map((c) => fillSlot(c, '?resource')),
      conditions: fc.array(fc.record({ kind: fc.constantFrom('when', 'when', 'unless'), body: exprArb(maxDepth) }), { maxLength: 2 }),
    })
    .filter((p) => !template || usesSlot(p.principal) || usesSlot(p.resource));
}

/** One differential case: policies, templates and links, entities and a request. */
export interface DifferentialCase {
  /** JSON forms (exact: big integers as bigint). */
  policiesJson: Record<string, Est>;
  templatesJson: Record<string, Est>;
  /** The same, printed as Cedar text (what cedar-wasm parses). */
  policies: Record<string, string>;
  templates: Record<string, string>;
  links: { templateId: string; newId: string; values: Record<string, Uid> }[];
  entities: EntityJson[];
  principal: Uid;
  action: Uid;
  resource: Uid;
  context: Record<string, unknown>;
}

/** Generates differential cases. */
export function caseArb(maxDepth = 3): fc.Arbitrary<DifferentialCase> {
  return fc
    .record({
      policies: fc.array(policyArb(false, maxDepth), { minLength: 1, maxLength: 4 }),
      templates: fc.array(policyArb(true, maxDepth), { maxLength: 2 }),
      entities: entitiesArb,
      principal: uidArb,
      action: actionArb,
      resource: uidArb,
      context: fc.dictionary(fc.constantFrom(...ATTRS), jsonValueArb(2), { maxKeys: 3 }),
      linkSeeds: fc.array(fc.tuple(fc.nat(), uidArb, uidArb), { maxLength: 3 }),
    })
    .map(({ policies, templates, linkSeeds, ...rest }) => {
      const templateIds = templates.map((_, i) => `t${i}`);
      const links =
        templateIds.length === 0
          ? []
          : linkSeeds.map(([n, pu, ru], i) => {
              const t = templates[n % templates.length]!;
              const values: Record<string, Uid> = {};
              if (usesSlot(t.principal as Est)) values['?principal'] = pu;
              if (usesSlot(t.resource as Est)) values['?resource'] = ru;
              return { templateId: templateIds[n % templateIds.length]!, newId: `link${i}`, values };
            });
      const policiesJson = Object.fromEntries(policies.map((p, i) => [`p${i}`, p]));
      const templatesJson = Object.fromEntries(templates.map((t, i) => [templateIds[i]!, t]));
      return {
        policiesJson,
        templatesJson,
        policies: Object.fromEntries(Object.entries(policiesJson).map(([id, p]) => [id, printPolicy(p)])),
        templates: Object.fromEntries(Object.entries(templatesJson).map(([id, p]) => [id, printPolicy(p)])),
        links,
        ...rest,
      };
    });
}
