import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { DecryptionFailedError } from '../domain/errors.js';
import { generateDataKey, readWrappedKeyInfo, unwrapDataKey, wrapDataKey } from './data-key.js';

const kek = randomBytes(32);

void test('a wrapped key unwraps only for its object, term and KEK', () => {
  const dataKey = generateDataKey();
  const wrapped = wrapDataKey(kek, 4, 'ver_a', dataKey);
  assert.deepEqual(readWrappedKeyInfo(wrapped), { keyTerm: 4, objectId: 'ver_a' });
  assert.equal(wrapped.length, 67 + 'ver_a'.length);
  assert.deepEqual(unwrapDataKey(kek, 4, 'ver_a', wrapped), dataKey);
  assert.throws(() => unwrapDataKey(kek, 4, 'ver_b', wrapped), DecryptionFailedError);
  assert.throws(() => unwrapDataKey(kek, 5, 'ver_a', wrapped), DecryptionFailedError);
  assert.throws(() => unwrapDataKey(randomBytes(32), 4, 'ver_a', wrapped), DecryptionFailedError);
  // two wraps of one key differ (random nonce)
  assert.notDeepEqual(wrapDataKey(kek, 4, 'ver_a', dataKey), wrapped);
});

void test('relabelling the term or object inside a wrapped key is detected', () => {
  const wrapped = wrapDataKey(kek, 4, 'ver_a', generateDataKey());
  const relabelled = Buffer.from(wrapped);
  relabelled.writeUInt32BE(5, 1);
  assert.throws(() => unwrapDataKey(kek, 5, 'ver_a', relabelled), DecryptionFailedError);
  const renamed = Buffer.from(wrapped);
  renamed[7 + 4] = 'b'.charCodeAt(0);
  assert.throws(() => unwrapDataKey(kek, 4, 'ver_b', renamed), DecryptionFailedError);
});

void test('any bit flip or length change of a wrapped key is detected', () => {
  fc.assert(
    fc.property(fc.nat(), fc.integer({ min: -5, max: 5 }), (bit, delta) => {
      const wrapped = wrapDataKey(kek, 2, 'ver_flip', generateDataKey());
      const flipped = Buffer.from(wrapped);
      const at = bit % (flipped.length * 8);
      flipped[at >> 3]! ^= 1 << (at & 7);
      assert.throws(() => unwrapDataKey(kek, 2, 'ver_flip', flipped), DecryptionFailedError);
      if (delta !== 0) {
        const resized = delta > 0 ? Buffer.concat([wrapped, Buffer.alloc(delta)]) : wrapped.subarray(0, wrapped.length + delta);
        assert.throws(() => unwrapDataKey(kek, 2, 'ver_flip', resized), DecryptionFailedError);
      }
    }),
    { numRuns: 300 },
  );
});
