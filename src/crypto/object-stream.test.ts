import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { Transform } from 'node:stream';
import fc from 'fast-check';
import { DecryptionFailedError } from '../domain/errors.js';
import { createDecryptStream, createRangeDecryptStream, decryptObject } from './decrypt-stream.js';
import { createEncryptStream, encryptObject } from './encrypt-stream.js';
import { TAG_LENGTH, objectHeaderLength, parseObjectHeader } from './object-header.js';
import { planRangeRead, segmentCount } from './segment-layout.js';
import { runThrough } from '../../test/support/transform-run.js';

const objectId = 'ver_test0object';
const dataKey = randomBytes(32);

/** Writes `input` into `stream` cut at `cuts` and collects what comes out (and the error, if any). */
const run = (stream: Transform, input: Buffer, cuts: number[] = []) => runThrough(stream, input, cuts);

/** Boundaries of every segment of an encrypted object: [start, end) in ciphertext. */
function segmentsOf(ciphertext: Buffer, segmentSize: number, plaintextSize: number): [number, number][] {
  const header = objectHeaderLength(objectId);
  const count = segmentCount(plaintextSize, segmentSize);
  return Array.from({ length: count }, (_, i) => {
    const start = header + i * (segmentSize + TAG_LENGTH);
    const length = i === count - 1 ? plaintextSize - i * segmentSize : segmentSize;
    return [start, start + length + TAG_LENGTH];
  });
}

function seal(plaintext: Buffer, segmentSize: number, id = objectId, key = dataKey): Buffer {
  return encryptObject(plaintext, { dataKey: key, objectId: id, keyTerm: 1, segmentSize });
}

const sizes = fc.record({
  plaintext: fc.integer({ min: 0, max: 2000 }).chain((n) => fc.uint8Array({ minLength: n, maxLength: n })),
  segmentSize: fc.integer({ min: 1, max: 300 }),
});

void test('round trip through the streams for any size, segment size and chunking', async () => {
  await fc.assert(
    fc.asyncProperty(sizes, fc.array(fc.nat(), { maxLength: 8 }), fc.array(fc.nat(), { maxLength: 8 }), async ({ plaintext, segmentSize }, cutsIn, cutsOut) => {
      const plain = Buffer.from(plaintext);
      const enc = await run(createEncryptStream({ dataKey, objectId, keyTerm: 9, segmentSize }), plain, cutsIn);
      assert.equal(enc.error, undefined);
      assert.equal(enc.out.length, objectHeaderLength(objectId) + plain.length + TAG_LENGTH * segmentCount(plain.length, segmentSize));
      const dec = await run(createDecryptStream(dataKey, { objectId, plaintextSize: plain.length }), enc.out, cutsOut);
      assert.equal(dec.error, undefined);
      assert.deepEqual(dec.out, plain);
      const unknownSize = await run(createDecryptStream(dataKey, { objectId }), enc.out, cutsOut);
      assert.deepEqual(unknownSize.out, plain);
      assert.equal(parseObjectHeader(enc.out, objectId).keyTerm, 9);
    }),
    { numRuns: 150 },
  );
});

void test('the stream and the in-memory encryption produce the same layout and both decrypt', () => {
  const plain = randomBytes(1000);
  const ciphertext = seal(plain, 100);
  assert.deepEqual(decryptObject(ciphertext, dataKey, { objectId }), plain);
  assert.equal(ciphertext.length, objectHeaderLength(objectId) + 1000 + 11 * TAG_LENGTH);
});

void test('any single bit flip is detected, and only authentic plaintext is ever emitted', async () => {
  await fc.assert(
    fc.asyncProperty(sizes, fc.nat(), async ({ plaintext, segmentSize }, bit) => {
      const plain = Buffer.from(plaintext);
      const tampered = Buffer.from(seal(plain, segmentSize));
      const at = bit % (tampered.length * 8);
      tampered[at >> 3]! ^= 1 << (at & 7);
      assert.throws(() => decryptObject(tampered, dataKey, { objectId }), DecryptionFailedError);
      const { out, error } = await run(createDecryptStream(dataKey, { objectId }), tampered);
      assert.ok(error instanceof DecryptionFailedError);
      // segments before the damaged one may have been released, but only verified bytes
      assert.deepEqual(out, plain.subarray(0, out.length));
      assert.equal(out.length % segmentSize, 0, 'only whole verified segments are released');
    }),
    { numRuns: 200 },
  );
});

void test('truncation at any point is detected', async () => {
  await fc.assert(
    fc.asyncProperty(sizes, fc.nat(), async ({ plaintext, segmentSize }, cut) => {
      const ciphertext = seal(Buffer.from(plaintext), segmentSize);
      const truncated = ciphertext.subarray(0, cut % ciphertext.length);
      assert.throws(() => decryptObject(truncated, dataKey, { objectId }), DecryptionFailedError);
      const { error } = await run(createDecryptStream(dataKey, { objectId }), truncated);
      assert.ok(error instanceof DecryptionFailedError);
    }),
    { numRuns: 200 },
  );
});

void test('truncation at every segment boundary is detected (dropping whole final segments)', () => {
  const plain = randomBytes(64 * 4);
  const ciphertext = seal(plain, 64);
  for (const [start] of segmentsOf(ciphertext, 64, plain.length)) {
    assert.throws(() => decryptObject(ciphertext.subarray(0, start), dataKey, { objectId }), DecryptionFailedError);
  }
});

void test('trailing bytes are detected', async () => {
  await fc.assert(
    fc.asyncProperty(sizes, fc.uint8Array({ minLength: 1, maxLength: 400 }), async ({ plaintext, segmentSize }, extra) => {
      const extended = Buffer.concat([seal(Buffer.from(plaintext), segmentSize), extra]);
      assert.throws(() => decryptObject(extended, dataKey, { objectId }), DecryptionFailedError);
      const { error } = await run(createDecryptStream(dataKey, { objectId }), extended);
      assert.ok(error instanceof DecryptionFailedError);
    }),
    { numRuns: 150 },
  );
});

void test('swapping or reordering segments is detected', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 64 }),
      fc.integer({ min: 2, max: 12 }),
      fc.nat(),
      fc.nat(),
      fc.nat(64),
      (segmentSize, segmentsWanted, i, j, tail) => {
        const plain = randomBytes(segmentSize * (segmentsWanted - 1) + (tail % segmentSize));
        const ciphertext = seal(plain, segmentSize);
        const segments = segmentsOf(ciphertext, segmentSize, plain.length);
        const a = i % segments.length;
        let b = j % segments.length;
        if (a === b) b = (b + 1) % segments.length;
        const order = segments.map((_, k) => (k === a ? b : k === b ? a : k));
        const header = ciphertext.subarray(0, segments[0]![0]);
        const swapped = Buffer.concat([header, ...order.map((k) => ciphertext.subarray(...segments[k]!))]);
        assert.throws(() => decryptObject(swapped, dataKey, { objectId }), DecryptionFailedError);
        // dropping a middle segment is a reordering too
        const dropped = Buffer.concat([header, ...segments.filter((_, k) => k !== a).map((s) => ciphertext.subarray(...s))]);
        assert.throws(() => decryptObject(dropped, dataKey, { objectId }), DecryptionFailedError);
      },
    ),
    { numRuns: 200 },
  );
});

void test('a segment moved between two objects is detected, even under the same data key', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 64 }), fc.integer({ min: 1, max: 8 }), fc.nat(), fc.boolean(), (segmentSize, count, i, sameId) => {
      const size = segmentSize * count;
      const plainA = randomBytes(size);
      const plainB = randomBytes(size);
      // same id and key but a fresh nonce prefix, or another id: both must fail
      const a = seal(plainA, segmentSize);
      const b = seal(plainB, segmentSize, sameId ? objectId : 'ver_other0object');
      const segA = segmentsOf(a, segmentSize, size);
      const k = i % segA.length;
      const header = a.subarray(0, segA[0]![0]);
      const headerB = objectHeaderLength(sameId ? objectId : 'ver_other0object');
      const stride = segmentSize + TAG_LENGTH;
      const [bStart, bEnd] = [headerB + k * stride, headerB + k * stride + (segA[k]![1] - segA[k]![0])];
      const mixed = Buffer.concat([header, ...segA.map((s, n) => (n === k ? b.subarray(bStart, bEnd) : a.subarray(...s)))]);
      assert.throws(() => decryptObject(mixed, dataKey, { objectId }), DecryptionFailedError);
    }),
    { numRuns: 150 },
  );
});

void test('a wrong key, another expected object id or a foreign header is detected', () => {
  const plain = randomBytes(300);
  const ciphertext = seal(plain, 64);
  assert.throws(() => decryptObject(ciphertext, randomBytes(32), { objectId }), DecryptionFailedError);
  assert.throws(() => decryptObject(ciphertext, dataKey, { objectId: 'ver_someone0else' }), DecryptionFailedError);
  assert.throws(() => decryptObject(ciphertext, dataKey, { objectId, plaintextSize: 299 }), DecryptionFailedError);
  assert.throws(() => decryptObject(ciphertext, dataKey, { objectId, plaintextSize: 301 }), DecryptionFailedError);
  assert.throws(() => decryptObject(Buffer.from('not an object at all'), dataKey, { objectId }), DecryptionFailedError);
  assert.throws(() => decryptObject(Buffer.alloc(0), dataKey, { objectId }), DecryptionFailedError);
});

void test('the recorded size is enforced by the stream, before releasing excess bytes', async () => {
  const plain = randomBytes(200);
  const ciphertext = seal(plain, 64);
  const longer = await run(createDecryptStream(dataKey, { objectId, plaintextSize: 100 }), ciphertext);
  assert.ok(longer.error instanceof DecryptionFailedError);
  assert.ok(longer.out.length <= 100);
  const shorter = await run(createDecryptStream(dataKey, { objectId, plaintextSize: 300 }), ciphertext);
  assert.ok(shorter.error instanceof DecryptionFailedError);
});

void test('every range decrypts to exactly its plaintext slice from only the planned ciphertext bytes', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 1, max: 1500 }),
      fc.integer({ min: 1, max: 200 }),
      fc.nat(),
      fc.nat(),
      fc.array(fc.nat(), { maxLength: 5 }),
      async (size, segmentSize, a, b, cuts) => {
        const plain = randomBytes(size);
        const ciphertext = seal(plain, segmentSize);
        const start = a % size;
        const end = start + (b % (size - start));
        const headerLength = objectHeaderLength(objectId);
        const header = parseObjectHeader(ciphertext.subarray(0, headerLength), objectId);
        const plan = planRangeRead({ headerLength, segmentSize: header.segmentSize, plaintextSize: size }, { start, end });
        // only these bytes are given to the decryptor: anything else it needed would fail
        const slice = ciphertext.subarray(plan.cipherStart, plan.cipherEnd + 1);
        const { out, error } = await run(createRangeDecryptStream(dataKey, header, plan), slice, cuts);
        assert.equal(error, undefined);
        assert.deepEqual(out, plain.subarray(start, end + 1));
        // one byte short, or a tampered byte, fails
        const short = await run(createRangeDecryptStream(dataKey, header, plan), slice.subarray(0, slice.length - 1));
        assert.ok(short.error instanceof DecryptionFailedError);
        const flipped = Buffer.from(slice);
        flipped[(a + b) % flipped.length]! ^= 0x80;
        const bad = await run(createRangeDecryptStream(dataKey, header, plan), flipped);
        assert.ok(bad.error instanceof DecryptionFailedError);
        const extra = await run(createRangeDecryptStream(dataKey, header, plan), Buffer.concat([slice, Buffer.alloc(TAG_LENGTH + segmentSize)]));
        assert.ok(extra.error instanceof DecryptionFailedError);
      },
    ),
    { numRuns: 150 },
  );
});

void test('a range plan fed with the segments of another offset fails', async () => {
  const plain = randomBytes(640);
  const ciphertext = seal(plain, 64);
  const headerLength = objectHeaderLength(objectId);
  const header = parseObjectHeader(ciphertext, objectId);
  const plan = planRangeRead({ headerLength, segmentSize: 64, plaintextSize: 640 }, { start: 130, end: 200 });
  const shifted = ciphertext.subarray(plan.cipherStart + 80, plan.cipherEnd + 81);
  const { error } = await run(createRangeDecryptStream(dataKey, header, plan), shifted);
  assert.ok(error instanceof DecryptionFailedError);
});
