/**
 * Fuzz: the HTTP Range header (src/service/byte-range.ts: the one parser of the REST API,
 * share links and the S3 endpoint) and its resolution against an object size
 * (resolveRange in src/service/metered-plaintext.ts). Any header gives a well-formed
 * single range or "serve the whole object"; any range and size give bytes inside the
 * object, exactly as RFC 9110 defines them, or RangeNotSatisfiable (416), never a
 * negative, fractional, reversed or out-of-object range.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseRange } from '../../../src/service/byte-range.js';
import { RangeNotSatisfiable, resolveRange } from '../../../src/service/metered-plaintext.js';
import { fuzzParams } from './fuzz-runs.js';
import { anyText, mutatedString } from './mutations.js';

const safeNat = (n: unknown) => typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;

/** RFC 9110 14.1.2, written out: the bytes a single range selects of `size`, or null. */
function model(r: { start?: number; end?: number; suffix?: number }, size: number): { start: number; end: number } | null {
  if (r.suffix !== undefined) return r.suffix === 0 || size === 0 ? null : { start: Math.max(0, size - r.suffix), end: size - 1 };
  const start = r.start!;
  if (start >= size) return null;
  return { start, end: r.end === undefined ? size - 1 : Math.min(r.end, size - 1) };
}

const headerArb = fc.oneof(
  anyText(40),
  fc.tuple(fc.option(fc.nat()), fc.option(fc.nat())).map(([a, b]) => `bytes=${a ?? ''}-${b ?? ''}`),
  mutatedString('bytes=0-499', 'bytes=-,0123456789 \t', 3),
  fc.constantFrom('bytes=0-1,2-3', 'bytes=1e3-', 'bytes=-0', 'bytes=00-01', 'bytes=0x10-', 'BYTES=0-1', 'bytes= 0-1', ' bytes=0-1 ', 'bytes=9999999999999999-', 'bytes=999999999999999-'),
);

void describe('fuzz: Range headers', () => {
  void it('any header parses to one well-formed range, or to nothing (the whole object)', () => {
    fc.assert(
      fc.property(headerArb, (header) => {
        const r = parseRange(header);
        if (r === undefined) return;
        const keys = Object.keys(r).sort().join(',');
        assert.ok(['end,start', 'start', 'suffix'].includes(keys), keys);
        for (const v of Object.values(r)) assert.ok(safeNat(v), `${header}: ${String(v)}`);
        if (r.start !== undefined && r.end !== undefined) assert.ok(r.start <= r.end);
      }),
      fuzzParams(1500, 1901),
    );
  });

  void it('first-last, first- and -suffix parse back exactly', () => {
    fc.assert(
      fc.property(fc.nat({ max: 999_999_999_999_999 }), fc.nat({ max: 999_999_999_999_999 }), (a, b) => {
        const [lo, hi] = a <= b ? [a, b] : [b, a];
        assert.deepEqual(parseRange(`bytes=${lo}-${hi}`), { start: lo, end: hi });
        assert.deepEqual(parseRange(`bytes=${lo}-`), { start: lo });
        assert.deepEqual(parseRange(`bytes=-${hi}`), { suffix: hi });
        if (lo < hi) assert.equal(parseRange(`bytes=${hi}-${lo}`), undefined);
      }),
      fuzzParams(1000, 1902),
    );
  });

  void it('a range and a size give the bytes RFC 9110 selects, inside the object, or 416', () => {
    fc.assert(
      fc.property(headerArb, fc.oneof(fc.nat({ max: 4096 }), fc.constantFrom(0, 1, Number.MAX_SAFE_INTEGER, 2 ** 40)), (header, size) => {
        const r = parseRange(header);
        if (r === undefined) return;
        const want = model(r, size);
        let got: { start: number; end: number } | null;
        try {
          got = resolveRange(r, size);
        } catch (err) {
          assert.ok(err instanceof RangeNotSatisfiable, String(err));
          assert.equal(err.objectSize, size);
          got = null;
        }
        assert.deepEqual(got, want, `${header} of ${size}`);
        if (got !== null) assert.ok(got.start >= 0 && got.start <= got.end && got.end < size);
      }),
      fuzzParams(1500, 1903),
    );
  });
});
