import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ValidationError } from '../domain/errors.js';
import { canonicalJson } from './canonical-json.js';

void test('RFC 8785 section 3.2.2 example: numbers, strings and literals', () => {
  const input = JSON.parse(
    '{"numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001], ' +
      '"string": "\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/", "literals": [null, true, false]}',
  ) as unknown;
  assert.equal(
    canonicalJson(input),
    '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}',
  );
});

void test('RFC 8785 section 3.2.3 example: keys sorted by UTF-16 code units', () => {
  const input = {
    '\u20ac': 'Euro Sign',
    '\r': 'Carriage Return',
    '\ufb33': 'Hebrew Letter Dalet With Dagesh',
    '1': 'One',
    '\ud83d\ude00': 'Emoji: Grinning Face',
    '\u0080': 'Control',
    '\u00f6': 'Latin Small Letter O With Diaeresis',
  };
  // (JSON.parse would reorder the integer-like key `1`: compare the text)
  const order = [...canonicalJson(input).matchAll(/"([^"]+)":"[^"]*"/g)].map((m) => JSON.parse(`"${m[1]!}"`) as string);
  assert.deepEqual(order, ['\r', '1', '\u0080', '\u00f6', '\u20ac', '\ud83d\ude00', '\ufb33']);
  assert.ok(canonicalJson(input).startsWith('{"\\r":"Carriage Return","1":"One","\u0080":"Control"'));
});

void test('nested objects are sorted at every level, with no whitespace', () => {
  assert.equal(canonicalJson({ b: [3, { z: 1, a: null }], a: { y: 'x', c: true } }), '{"a":{"c":true,"y":"x"},"b":[3,{"a":null,"z":1}]}');
  assert.equal(canonicalJson(-0), '0');
  assert.equal(canonicalJson({ a: undefined, b: 1 }), '{"b":1}');
  assert.equal(canonicalJson(Object.create(null) as object), '{}');
});

void test('values JSON cannot carry exactly are refused, not rewritten', () => {
  const cyclic: Record<string, unknown> = {};
  cyclic.self = cyclic;
  let deep: unknown = 1;
  for (let i = 0; i < 40; i++) deep = [deep];
  for (const bad of [NaN, Infinity, -Infinity, 10n, () => 1, Symbol('s'), undefined, [undefined], new Date(0), new Map(), cyclic, deep]) {
    assert.throws(() => canonicalJson(bad), ValidationError);
  }
});

void test('property: canonical text parses back to the same value and is a fixed point', () => {
  fc.assert(
    fc.property(fc.jsonValue(), (v) => {
      const text = canonicalJson(v);
      assert.deepEqual(JSON.parse(text), JSON.parse(JSON.stringify(v)));
      assert.equal(canonicalJson(JSON.parse(text)), text);
      assert.doesNotMatch(text, /^\s|\s$/);
    }),
    { numRuns: 300 },
  );
});

void test('property: key order of the input does not matter', () => {
  fc.assert(
    fc.property(fc.dictionary(fc.string(), fc.jsonValue({ maxDepth: 2 })), (o) => {
      const reversed = Object.fromEntries(Object.entries(o).reverse());
      assert.equal(canonicalJson(reversed), canonicalJson(o));
    }),
    { numRuns: 200 },
  );
});

void test('lone surrogates stay escaped, so the text round-trips', () => {
  const text = canonicalJson({ s: 'a\ud800b' });
  assert.equal(text, '{"s":"a\\ud800b"}');
  assert.equal(canonicalJson(JSON.parse(text)), text);
});
