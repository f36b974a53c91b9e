/**
 * fast-check generators of Cedar policy sets (text, with templates and links),
 * entities and requests in Cedar's JSON forms, for differential testing of the
 * compiled evaluator against cedar-wasm. Everything is drawn from small pools so that
 * scopes match, attributes exist and conditions hold often enough to be interesting,
 * and from boundary values (i64 limits, invalid extension literals) to reach errors.
 */
import fc from 'fast-check';

const TYPES = ['U', 'G', 'R'] as const;
const IDS = ['a', 'b', 'c'] as const;
const ATTRS = ['x', 'y', 'z'] as const;
const ACTIONS = ['view', 'edit', 'g1', 'g2'] as const;

/** A uid in Cedar's JSON form. */
export interface Uid {
  type: string;
  id: string;
}

const uidArb: fc.Arbitrary<Uid> = fc.record({ type: fc.constantFrom(...TYPES), id: fc.constantFrom(...IDS) });
const actionArb: fc.Arbitrary<Uid> = fc.constantFrom(...ACTIONS).map((id) => ({ type: 'Action', id }));
const uidText = (u: Uid) => `${u.type}::${JSON.stringify(u.id)}`;

const IP_STRINGS = ['10.0.0.1', '10.0.0.0/8', '127.0.0.1', '127.0.0.0/7', '::1', 'ff00::/8', '192.168.1.1/24', '224.0.0.1', '::', '10.0.0.0/33', '1.2.3', '::ffff:1.2.3.4', '010.0.0.1', '1::2::3', 'a:b:c:d:e:f:0:1/64'];
const DECIMAL_STRINGS = ['1.0', '-0.5', '0.0001', '922337203685477.5807', '-922337203685477.5808', '1.23456', 'abc', '2.5', '-2.5', '1.', '922337203685477.5808'];
const DATETIME_STRINGS = ['2024-01-01', '2024-01-01T10:00:00Z', '2024-01-01T10:00:00.123+0130', '1969-12-31T23:59:59Z', '2024-02-30', '0000-01-01', '9999-12-31T23:59:59.999Z', '2024-01-01T24:00:00Z', '2024-01-01T00:00:00-2359', '2024-01-01T00:00:00+2400', '2024-1-01'];
const DURATION_STRINGS = ['1h', '-1d2h', '0ms', '1d1ms', '9223372036854775807ms', '-9223372036854775808ms', '1h1d', '', '-', '90m', '-1ms', '106751991167d'];
const STRINGS = ['', 'a', 'b', 'ab', 'a*b', 'ba', 'é', '\u{1F600}'];
const LONGS = ['0', '1', '-1', '2', '7', '9223372036854775807', '-9223372036854775808', '9007199254740993', '4611686018427387904', '3037000500'];
const PATTERNS = ['a*', '*', '', '*b', 'a\\*b', 'a*b*', '**', 'é*', '*\u{1F600}'];

const q = (s: string) => JSON.stringify(s);

/** A Cedar expression as text. Every compound sub-expression is parenthesised. */
export function exprArb(maxDepth: number): fc.Arbitrary<string> {
  const { expr } = fc.letrec<{ expr: string; leaf: string }>((tie) => {
    const sub = tie('expr');
    const leaf: fc.Arbitrary<string> = fc.oneof(
      { weight: 3, arbitrary: fc.constantFrom('principal', 'resource', 'action', 'context') },
      { weight: 3, arbitrary: fc.constantFrom('principal', 'resource', 'context').chain((v) => fc.constantFrom(...ATTRS).map((a) => `${v}.${a}`)) },
      { weight: 2, arbitrary: fc.constantFrom('true', 'false') },
      { weight: 2, arbitrary: fc.constantFrom(...LONGS) },
      { weight: 2, arbitrary: fc.constantFrom(...STRINGS).map(q) },
      { weight: 2, arbitrary: uidArb.map(uidText) },
      { weight: 1, arbitrary: actionArb.map(uidText) },
    );
    const ext = fc.oneof(
      fc.constantFrom(...IP_STRINGS).map((s) => `ip(${q(s)})`),
      fc.constantFrom(...DECIMAL_STRINGS).map((s) => `decimal(${q(s)})`),
      fc.constantFrom(...DATETIME_STRINGS).map((s) => `datetime(${q(s)})`),
      fc.constantFrom(...DURATION_STRINGS).map((s) => `duration(${q(s)})`),
    );
    const p = (s: string) => `(${s})`;
    return {
      leaf,
      expr: fc.oneof(
        { depthSize: 'small', withCrossShrink: true, maxDepth },
        { weight: 6, arbitrary: leaf },
        { weight: 2, arbitrary: ext },
        { weight: 1, arbitrary: sub.map((a) => `!${p(a)}`) },
        { weight: 1, arbitrary: sub.map((a) => `-${p(a)}`) },
        {
          weight: 6,
          arbitrary: fc
            .tuple(sub, fc.constantFrom('==', '!=', '<', '<=', '>', '>=', '+', '-', '*', '&&', '||', 'in'), sub)
            .map(([a, op, b]) => `${p(a)} ${op} ${p(b)}`),
        },
        { weight: 2, arbitrary: fc.tuple(sub, fc.constantFrom(...ATTRS)).map(([a, n]) => `${p(a)}.${n}`) },
        { weight: 2, arbitrary: fc.tuple(sub, fc.constantFrom(...ATTRS), fc.option(fc.constantFrom(...ATTRS), { nil: undefined })).map(([a, n, m]) => `${p(a)} has ${n}${m === undefined ? '' : `.${m}`}`) },
        { weight: 1, arbitrary: fc.tuple(sub, fc.constantFrom(...PATTERNS)).map(([a, pat]) => `${p(a)} like ${q(pat)}`) },
        { weight: 1, arbitrary: fc.tuple(sub, fc.constantFrom(...TYPES, 'Action'), fc.option(sub, { nil: undefined })).map(([a, t, b]) => `${p(a)} is ${t}${b === undefined ? '' : ` in ${p(b)}`}`) },
        { weight: 1, arbitrary: fc.tuple(sub, sub, sub).map(([a, b, c]) => `if ${p(a)} then ${p(b)} else ${p(c)}`) },
        { weight: 2, arbitrary: fc.array(sub, { maxLength: 3 }).map((xs) => `[${xs.join(', ')}]`) },
        { weight: 1, arbitrary: fc.uniqueArray(fc.tuple(fc.constantFrom(...ATTRS), sub), { maxLength: 3, selector: ([k]) => k }).map((kv) => `{${kv.map(([k, v]) => `${k}: ${v}`).join(', ')}}`) },
        {
          weight: 3,
          arbitrary: fc
            .tuple(sub, fc.constantFrom('contains', 'containsAll', 'containsAny', 'getTag', 'hasTag', 'lessThan', 'greaterThanOrEqual', 'isInRange', 'offset', 'durationSince'), sub)
            .map(([a, m, b]) => `${p(a)}.${m}(${b})`),
        },
        {
          weight: 2,
          arbitrary: fc
            .tuple(sub, fc.constantFrom('isEmpty', 'isIpv4', 'isIpv6', 'isLoopback', 'isMulticast', 'toDate', 'toTime', 'toMilliseconds', 'toSeconds', 'toMinutes', 'toHours', 'toDays'))
            .map(([a, m]) => `${p(a)}.${m}()`),
        },
      ),
    };
  });
  return expr;
}

/** A Cedar value in JSON form (entity attributes, context, tags). */
export function jsonValueArb(maxDepth: number): fc.Arbitrary<unknown> {
  const leaf = fc.oneof(
    fc.boolean(),
    fc.integer({ min: -3, max: 9 }),
    fc.constantFrom(9007199254740991, -9007199254740991, 3037000500),
    fc.constantFrom(...STRINGS),
    uidArb.map((u) => ({ __entity: u })),
    fc.constantFrom(...IP_STRINGS.slice(0, 9)).map((s) => ({ __extn: { fn: 'ip', arg: s } })),
    fc.constantFrom(...DECIMAL_STRINGS.slice(0, 5)).map((s) => ({ __extn: { fn: 'decimal', arg: s } })),
    fc.constantFrom(...DATETIME_STRINGS.slice(0, 3)).map((s) => ({ __extn: { fn: 'datetime', arg: s } })),
    fc.constantFrom(...DURATION_STRINGS.slice(0, 4)).map((s) => ({ __extn: { fn: 'duration', arg: s } })),
  );
  if (maxDepth <= 0) return leaf;
  const sub = jsonValueArb(maxDepth - 1);
  return fc.oneof(
    { weight: 5, arbitrary: leaf },
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

const ALL_UIDS: Uid[] = TYPES.flatMap((t) => IDS.map((id) => ({ type: t, id })));
const parentsArb = (pool: Uid[]) => fc.subarray(pool, { maxLength: Math.min(3, pool.length) });

/** Entities drawn from the pools, parents only to "higher" entities so there is no cycle (usually). */
export const entitiesArb: fc.Arbitrary<EntityJson[]> = fc
  .tuple(
    fc.subarray(ALL_UIDS),
    fc.subarray(ACTIONS.map((id) => ({ type: 'Action', id }))),
  )
  .chain(([uids, actions]) =>
    fc.tuple(
      ...uids.map((uid) =>
        fc.record(
          {
            uid: fc.constant(uid),
            attrs: fc.dictionary(fc.constantFrom(...ATTRS), jsonValueArb(1), { maxKeys: 3 }),
            parents: fc.oneof(
              { weight: 9, arbitrary: parentsArb(ALL_UIDS.filter((p) => p.type > uid.type || (p.type === uid.type && p.id > uid.id))) },
              // sometimes any parent at all: cycles must be refused by both engines
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

const scopeArb = (variable: 'principal' | 'resource', slot: boolean): fc.Arbitrary<string> =>
  fc.oneof(
    fc.constant(variable),
    uidArb.map((u) => `${variable} == ${uidText(u)}`),
    uidArb.map((u) => `${variable} in ${uidText(u)}`),
    fc.constantFrom(...TYPES).map((t) => `${variable} is ${t}`),
    fc.tuple(fc.constantFrom(...TYPES), uidArb).map(([t, u]) => `${variable} is ${t} in ${uidText(u)}`),
    ...(slot ? [fc.constantFrom(`${variable} == ?${variable}`, `${variable} in ?${variable}`), fc.constantFrom(...TYPES).map((t) => `${variable} is ${t} in ?${variable}`)] : []),
  );

const actionScopeArb: fc.Arbitrary<string> = fc.oneof(
  fc.constant('action'),
  actionArb.map((a) => `action == ${uidText(a)}`),
  actionArb.map((a) => `action in ${uidText(a)}`),
  fc.uniqueArray(actionArb, { minLength: 1, maxLength: 3, selector: (a) => a.id }).map((as) => `action in [${as.map(uidText).join(', ')}]`),
);

/** A policy (or template) as text. */
export function policyArb(template: boolean, maxDepth: number): fc.Arbitrary<string> {
  return fc
    .tuple(
      fc.constantFrom('permit', 'forbid'),
      scopeArb('principal', template),
      actionScopeArb,
      scopeArb('resource', template),
      fc.array(fc.tuple(fc.constantFrom('when', 'unless'), exprArb(maxDepth)), { maxLength: 2 }),
    )
    .filter(([, p, , r]) => !template || p.includes('?') || r.includes('?'))
    .map(([effect, p, a, r, conds]) => `${effect} (${p}, ${a}, ${r})${conds.map(([k, e]) => ` ${k} { ${e} }`).join('')};`);
}

/** One differential case: policies, templates and links, entities and a request. */
export interface DifferentialCase {
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
              const tid = templateIds[n % templateIds.length]!;
              const text = templates[n % templates.length]!;
              const values: Record<string, Uid> = {};
              if (text.includes('?principal')) values['?principal'] = pu;
              if (text.includes('?resource')) values['?resource'] = ru;
              return { templateId: tid, newId: `link${i}`, values };
            });
      return {
        policies: Object.fromEntries(policies.map((p, i) => [`p${i}`, p])),
        templates: Object.fromEntries(templates.map((t, i) => [templateIds[i]!, t])),
        links,
        ...rest,
      };
    });
}
