/**
 * Fuzz: the encrypted-object header (src/crypto/object-header.ts) and the reader behind it
 * (src/crypto/decrypt-stream.ts). Its bytes come from the blob store, which is untrusted:
 * whoever can write there controls them. Random and mutated headers parse to exactly what
 * their bytes say, within the format's bounds, or fail as the one DecryptionFailedError;
 * a whole object whose bytes were edited never yields plaintext other than the original
 * (a prefix of it at most, before the stream fails), whatever the segment size it claims.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { DecryptionFailedError } from '../../../src/domain/errors.js';
import { createDecryptStream } from '../../../src/crypto/decrypt-stream.js';
import { encryptObject } from '../../../src/crypto/encrypt-stream.js';
import { HEADER_PREFIX_LENGTH, MAX_OBJECT_ID_BYTES, MAX_SEGMENT_SIZE, NONCE_PREFIX_LENGTH, encodeObjectHeader, neededHeaderLength, parseObjectHeader } from '../../../src/crypto/object-header.js';
import { fuzzParams } from './fuzz-runs.js';
import { mutatedBytes } from './mutations.js';
import { runThrough } from '../../support/transform-run.js';

const OBJECT_ID = 'ver_0123456789abcdefghjkmnpqrs';
const KEY = randomBytes(32);

function parsedOrRefused(bytes: Buffer, expectedId?: string): void {
  try {
    const needed = neededHeaderLength(bytes);
    const h = parseObjectHeader(bytes, expectedId);
    assert.ok(needed !== null && bytes.length >= needed);
    assert.ok(h.segmentSize >= 1 && h.segmentSize <= MAX_SEGMENT_SIZE);
    assert.ok(Buffer.byteLength(h.objectId) >= 1 && Buffer.byteLength(h.objectId) <= MAX_OBJECT_ID_BYTES);
    assert.equal(h.noncePrefix.length, NONCE_PREFIX_LENGTH);
    assert.ok(h.bytes.equals(bytes.subarray(0, needed)), 'the header authenticated is exactly the bytes read');
    // what parses re-encodes to the same bytes: no two encodings of one header
    assert.ok(encodeObjectHeader(h).bytes.equals(h.bytes));
    if (expectedId !== undefined) assert.equal(h.objectId, expectedId);
  } catch (err) {
    assert.ok(err instanceof DecryptionFailedError, `unexpected ${String(err)}`);
  }
}

function decrypt(ciphertext: Buffer, size: number, cuts: number[]): Promise<{ out: Buffer; error: unknown }> {
  return runThrough(createDecryptStream(KEY, { objectId: OBJECT_ID, plaintextSize: size }), ciphertext, cuts);
}

const headerArb = fc.record({
  keyTerm: fc.nat({ max: 0xffffffff }),
  objectId: fc.string({ minLength: 1, maxLength: 40 }),
  segmentSize: fc.integer({ min: 1, max: MAX_SEGMENT_SIZE }),
  noncePrefix: fc.uint8Array({ minLength: NONCE_PREFIX_LENGTH, maxLength: NONCE_PREFIX_LENGTH }),
});

void describe('fuzz: encrypted object header', () => {
  void it('random bytes, and headers with edited bytes, parse within bounds or fail as DecryptionFailedError', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 100 }).map((b) => Buffer.from(b)),
          fc.uint8Array({ maxLength: 60 }).map((b) => Buffer.concat([Buffer.from('CFR1\x01'), Buffer.from(b)])),
          headerArb.chain((f) => mutatedBytes(encodeObjectHeader(f).bytes, 3)),
        ),
        fc.boolean(),
        (bytes, expect) => {
          parsedOrRefused(bytes, expect ? OBJECT_ID : undefined);
          if (bytes.length >= HEADER_PREFIX_LENGTH) parsedOrRefused(bytes.subarray(0, HEADER_PREFIX_LENGTH));
        },
      ),
      fuzzParams(3000, 2101),
    );
  });

  void it('every header encodes and parses back', () => {
    fc.assert(
      fc.property(headerArb, (f) => {
        const h = parseObjectHeader(encodeObjectHeader(f).bytes);
        assert.deepEqual([h.keyTerm, h.objectId, h.segmentSize, [...h.noncePrefix]], [f.keyTerm, f.objectId, f.segmentSize, [...f.noncePrefix]]);
      }),
      fuzzParams(1000, 2102),
    );
  });

  void it('an edited object never decrypts to other plaintext: a prefix of the original at most, then the one error', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ maxLength: 700 }).chain((p) => fc.integer({ min: 1, max: 256 }).chain((segmentSize) => mutatedBytes(encryptObject(p, { dataKey: KEY, objectId: OBJECT_ID, keyTerm: 3, segmentSize }), 3).map((c) => ({ plaintext: Buffer.from(p), ciphertext: c })))),
        fc.array(fc.nat(), { maxLength: 6 }),
        async ({ plaintext, ciphertext }, cuts) => {
          const r = await decrypt(ciphertext, plaintext.length, cuts);
          assert.ok(r.error === undefined || r.error instanceof DecryptionFailedError, `unexpected ${String(r.error)}`);
          assert.ok(plaintext.subarray(0, r.out.length).equals(r.out), 'bytes that were never encrypted came out');
          if (r.error === undefined) assert.ok(r.out.equals(plaintext));
        },
      ),
      fuzzParams(600, 2103),
    );
  });
});
