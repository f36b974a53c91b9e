import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { RangeNotSatisfiableError } from '../domain/errors.js';
import { TAG_LENGTH } from './object-header.js';
import { ciphertextSize, planRangeRead, segmentCount } from './segment-layout.js';

/** The layout spelled out segment by segment: [plaintext start, plaintext length, ciphertext start]. */
function model(headerLength: number, segmentSize: number, plaintextSize: number) {
  const segments: { plainStart: number; plainLength: number; cipherStart: number }[] = [];
  let plain = 0;
  let cipher = headerLength;
  for (;;) {
    const length = Math.min(segmentSize, plaintextSize - plain);
    const final = length < segmentSize;
    segments.push({ plainStart: plain, plainLength: length, cipherStart: cipher });
    plain += length;
    cipher += length + TAG_LENGTH;
    if (final) return { segments, total: cipher };
  }
}

void test('segment count: the final segment is always short, even for a multiple of the segment size', () => {
  assert.equal(segmentCount(0, 64), 1);
  assert.equal(segmentCount(1, 64), 1);
  assert.equal(segmentCount(63, 64), 1);
  assert.equal(segmentCount(64, 64), 2);
  assert.equal(segmentCount(65, 64), 2);
  assert.equal(segmentCount(224, 64), 4);
  assert.equal(ciphertextSize({ headerLength: 52, segmentSize: 64, plaintextSize: 64 }), 52 + 64 + 2 * TAG_LENGTH);
});

void test('a range plan matches the segment-by-segment model', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 300 }),
      fc.integer({ min: 1, max: 1500 }),
      fc.integer({ min: 11, max: 600 }),
      fc.nat(),
      fc.nat(),
      (segmentSize, plaintextSize, headerLength, a, b) => {
        const start = a % plaintextSize;
        const end = start + (b % (plaintextSize - start));
        const { segments, total } = model(headerLength, segmentSize, plaintextSize);
        assert.equal(ciphertextSize({ headerLength, segmentSize, plaintextSize }), total);
        assert.equal(segmentCount(plaintextSize, segmentSize), segments.length);
        const plan = planRangeRead({ headerLength, segmentSize, plaintextSize }, { start, end });
        const touched = segments
          .map((s, i) => ({ ...s, i }))
          .filter((s) => s.plainLength > 0 && s.plainStart <= end && s.plainStart + s.plainLength - 1 >= start);
        const first = touched[0]!;
        const last = touched[touched.length - 1]!;
        assert.equal(plan.firstSegment, first.i);
        assert.equal(plan.segmentCount, touched.length);
        assert.equal(plan.endsWithFinal, last.i === segments.length - 1);
        assert.equal(plan.cipherStart, first.cipherStart);
        assert.equal(plan.cipherEnd, last.cipherStart + last.plainLength + TAG_LENGTH - 1);
        assert.equal(plan.skip, start - first.plainStart);
        assert.equal(plan.length, end - start + 1);
        assert.ok(plan.cipherEnd < total);
      },
    ),
    { numRuns: 500 },
  );
});

void test('a range ending in the last data byte of a multiple-of-segment object does not read the empty final segment', () => {
  const plan = planRangeRead({ headerLength: 50, segmentSize: 64, plaintextSize: 128 }, { start: 100, end: 127 });
  assert.deepEqual(plan, { firstSegment: 1, segmentCount: 1, endsWithFinal: false, cipherStart: 50 + 80, cipherEnd: 50 + 160 - 1, skip: 36, length: 28 });
});

void test('unsatisfiable ranges are refused', () => {
  const layout = { headerLength: 50, segmentSize: 64, plaintextSize: 100 };
  for (const range of [
    { start: 0, end: 100 },
    { start: 100, end: 100 },
    { start: 5, end: 4 },
    { start: -1, end: 3 },
    { start: 0.5, end: 3 },
  ]) {
    assert.throws(() => planRangeRead(layout, range), RangeNotSatisfiableError);
  }
  assert.throws(() => planRangeRead({ ...layout, plaintextSize: 0 }, { start: 0, end: 0 }), RangeNotSatisfiableError);
});
