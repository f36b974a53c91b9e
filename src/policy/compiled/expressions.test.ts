/**
 * Tricky Cedar semantics, each checked against cedar-wasm: the expression is the
 * condition of a permit and both engines must agree on allow, deny or error. Cases
 * found by the differential run are kept here as regressions.
 */
import { it } from 'node:test';
import assert from 'node:assert/strict';
import * as cedar from '@cedar-policy/cedar-wasm/nodejs';
import { compilePolicyTexts } from './policy-text.js';
import { authorizeJsonRequest } from './json-request.js';

const ENTITIES = [
  { uid: { type: 'U', id: 'a' }, attrs: { n: 5, s: 'abc', e: { __entity: { type: 'U', id: 'b' } }, r: { k: 1 } }, parents: [{ type: 'G', id: 'g' }], tags: { t: 1 } },
  { uid: { type: 'G', id: 'g' }, attrs: {}, parents: [{ type: 'G', id: 'h' }] },
  { uid: { type: 'Action', id: 'view' }, attrs: {}, parents: [{ type: 'Action', id: 'read' }] },
];
const REQUEST = { principal: { type: 'U', id: 'a' }, action: { type: 'Action', id: 'view' }, resource: { type: 'R', id: 'r' }, context: { ip: { __extn: { fn: 'ip', arg: '10.1.2.3' } }, big: 9007199254740991 } };

const EXPRESSIONS = [
  // literals, equality, arithmetic bounds
  '9223372036854775807 + 1 > 0', '-9223372036854775808 < 0', '-9223372036854775807 - 1 == -9223372036854775808',
  '9223372036854775807 == 9223372036854775807 && -9223372036854775808 != 9223372036854775807',
  '-(-9223372036854775807) == 9223372036854775807', '-(-9223372036854775807 - 1) > 0', '3037000500 * 3037000500 > 0',
  'context.big + context.big == 18014398509481982', 'context.big * 1024 > 0', '1 == "1"', '[1, "a"] == ["a", 1, 1]', '{a: 1} == {a: 1}',
  'decimal("1.0") == decimal("1.00")', 'decimal("1.0") == 1', 'ip("10.0.0.1") == ip("10.0.0.1/32")', 'ip("10.0.0.1/24") == ip("10.0.0.0/24")',
  // type errors and short-circuit
  'if 1 then true else false', 'true || 1', 'false || 1', 'false && 1', 'true && 1', '1 < true', '"a" < "b"',
  // entities, attributes, in, is, has, tags
  'principal.n == 5', 'principal.missing == 1', 'resource.x == 1', 'principal has n', 'resource has x', 'principal has r.k', 'principal has e.n',
  'principal.e has n', 'principal.e.n == 1', 'principal in G::"h"', 'principal in [G::"x", G::"h"]', 'principal in [principal, 1]', 'principal in [1, principal]',
  '1 in principal', 'principal is U', 'principal is U in G::"g"', 'principal is G in G::"g"', 'action in Action::"read"', 'action in [action]',
  'principal.hasTag("t")', 'principal.getTag("t") == 1', 'principal.getTag("u") == 1', 'resource.getTag("t") == 1', 'resource.hasTag("t")',
  // sets and records
  '[1, 2].contains(1)', '[[1], [2]].contains([2])', '[1, 2].containsAll([])', '[].containsAny([])', '[1].containsAny([2, 1])', '[].isEmpty()', '1.isEmpty()',
  '{a: 1, b: 2}.a == 1', '{a: 1}.b == 1', '{a: 1} has b',
  // like
  '"" like ""', '"abc" like "a*c*"', '"a*b" like "a\\*b"', '"axb" like "a\\*b"', '"aaa" like "*a*a*a*"', '"😀x" like "*x"', 'principal.s like "a*"',
  // extensions
  'decimal("-0.5").lessThan(decimal("0.0"))', 'decimal("922337203685477.5808") == decimal("1.0")', 'decimal("1.12345") == decimal("1.1234")', 'decimal("1.0") < decimal("2.0")',
  'ip("010.0.0.1").isIpv4()', 'ip("10.0.0.1/08").isIpv4()', 'ip("::ffff:1.2.3.4").isIpv6()', 'ip("1::2:3:4:5:6:7:8").isIpv6()', 'ip("1:2:3:4:5:6:7::").isIpv6()',
  'ip("127.0.0.0/7").isLoopback()', 'ip("127.0.0.2/8").isLoopback()', 'ip("::1").isLoopback()', 'ip("ff00::/8").isMulticast()', 'context.ip.isInRange(ip("10.0.0.0/8"))',
  'datetime("2024-01-01T00:00:00+2400") == datetime("2024-01-01")', 'datetime("2024-02-29") < datetime("2024-03-01")', 'datetime("2023-02-29") < datetime("2024-03-01")',
  'datetime("0000-01-01") < datetime("2024-01-01")', 'datetime("2020-01-01T00:00:00+0100").toTime() == duration("23h")', 'datetime("1969-12-31T23:00:00Z").toTime() == duration("23h")',
  'datetime("1970-01-01").offset(duration("-1ms")).toDate() == datetime("1969-12-31")', 'datetime("2024-01-01T00:00:00.5Z") == datetime("2024-01-01")',
  'duration("1d2h3m4s5ms").toMilliseconds() == 93784005', 'duration("-1d").toDays() == -1', 'duration("-1ms").toSeconds() == 0', 'duration("1h1d") == duration("1h")',
  'duration("9223372036854775807ms").toMilliseconds() > 0', 'duration("9223372036854775808ms").toMilliseconds() > 0', 'duration("106751991167d") > duration("1d")',
  'duration("1ms") < datetime("2024-01-01")', 'datetime("9999-12-31T23:59:59.999Z").offset(duration("9223372036854775807ms")) > datetime("2024-01-01")',
  'datetime("2024-01-01").durationSince(datetime("2023-01-01")) == duration("365d")',
];

void it('agrees with cedar-wasm on tricky expressions', () => {
  for (const expr of EXPRESSIONS) {
    const text = `permit (principal, action, resource) when { ${expr} };`;
    const official = cedar.isAuthorized({ ...REQUEST, policies: { staticPolicies: { p: text } }, entities: ENTITIES as cedar.Entities });
    assert.equal(official.type, 'success', expr);
    if (official.type !== 'success') continue;
    const want = { decision: official.response.decision, errors: official.response.diagnostics.errors.map((e) => e.policyId) };
    const ours = authorizeJsonRequest(compilePolicyTexts({ p: text }), { ...REQUEST, entities: ENTITIES });
    assert.equal(ours.type, 'success', expr);
    if (ours.type !== 'success') continue;
    assert.deepEqual({ decision: ours.result.decision, errors: ours.result.errors.map((e) => e.policyId) }, want, expr);
  }
});

void it('refuses what cedar-wasm refuses in entities and requests', () => {
  const cases: unknown[][] = [
    [{ uid: { type: 'G', id: 'a' }, attrs: {}, parents: [{ type: 'G', id: 'b' }] }, { uid: { type: 'G', id: 'b' }, attrs: {}, parents: [{ type: 'G', id: 'a' }] }],
    [{ uid: { type: 'G', id: 'a' }, attrs: {}, parents: [{ type: 'G', id: 'a' }] }],
    [{ uid: { type: 'G', id: 'a' }, attrs: { x: 1 }, parents: [] }, { uid: { type: 'G', id: 'a' }, attrs: { x: 2 }, parents: [] }],
    [{ uid: { type: 'G', id: 'a' }, attrs: { x: 1 }, parents: [] }, { uid: { type: 'G', id: 'a' }, attrs: { x: 1 }, parents: [] }],
    [{ uid: { type: 'G', id: 'a' }, attrs: { x: { __extn: { fn: 'ip', arg: 'bad' } } }, parents: [] }],
    [{ uid: { type: 'G', id: 'a' }, attrs: { x: 1.5 }, parents: [] }],
    [{ uid: { type: 'G', id: 'a' }, attrs: { x: null }, parents: [] }],
    [{ uid: { type: 'G', id: 'a' }, attrs: { x: { __entity: { type: 'G', id: 'b' }, y: 1 } }, parents: [] }],
    [{ uid: { type: 'G', id: 'a' }, attrs: { x: { __extn: { fn: 'nope', arg: '1' } } }, parents: [] }],
  ];
  const text = 'permit (principal, action, resource);';
  for (const entities of cases) {
    const official = cedar.isAuthorized({ ...REQUEST, policies: { staticPolicies: { p: text } }, entities: entities as cedar.Entities });
    const ours = authorizeJsonRequest(compilePolicyTexts({ p: text }), { ...REQUEST, entities });
    assert.equal(ours.type, official.type, JSON.stringify(entities));
  }
});
