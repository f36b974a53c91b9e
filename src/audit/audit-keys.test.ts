import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import { KeyringError } from '../domain/errors.js';
import {
  exportAuditPublicKey, generateAuditKeys, hmacSensitive, parseAuditKeys, parseAuditPublicKey, serializeAuditKeys,
} from './audit-keys.js';
import { auditBodyOf, serializeAuditBody } from './audit-record.js';
import { checkpointSignatureValid, signCheckpoint } from './checkpoint.js';
import { sampleEvent } from './test-support.js';

const HASH = 'ab'.repeat(32);

void test('serialized keys parse back to keys that sign and verify the same', () => {
  const keys = generateAuditKeys();
  const bytes = serializeAuditKeys(keys);
  assert.equal(bytes.length, 65);
  const back = parseAuditKeys(bytes);
  assert.deepEqual(Buffer.from(back.hmacKey), Buffer.from(keys.hmacKey));
  assert.equal(exportAuditPublicKey(back), exportAuditPublicKey(keys));
  assert.ok(checkpointSignatureValid(keys.publicKey, signCheckpoint(back.signingKey, 5, HASH)));
  assert.ok(checkpointSignatureValid(back.publicKey, signCheckpoint(keys.signingKey, 5, HASH)));
});

void test('fresh keys differ and a signature does not verify under other keys', () => {
  const a = generateAuditKeys();
  const b = generateAuditKeys();
  assert.notDeepEqual(Buffer.from(a.hmacKey), Buffer.from(b.hmacKey));
  assert.ok(!checkpointSignatureValid(b.publicKey, signCheckpoint(a.signingKey, 1, HASH)));
});

void test('bytes that are not serialized keys are refused with KeyringError', () => {
  const good = serializeAuditKeys(generateAuditKeys());
  const wrongVersion = Uint8Array.from(good);
  wrongVersion[0] = 2;
  for (const bad of [new Uint8Array(0), good.subarray(0, 64), wrongVersion, new Uint8Array(66)]) {
    assert.throws(() => parseAuditKeys(bad), KeyringError);
  }
});

void test('public key text round-trips and bad text is refused', () => {
  const keys = generateAuditKeys();
  const text = exportAuditPublicKey(keys);
  assert.match(text, /^[A-Za-z0-9_-]{43}$/);
  const pub = parseAuditPublicKey(text);
  assert.ok(checkpointSignatureValid(pub, signCheckpoint(keys.signingKey, 9, HASH)));
  for (const bad of ['', 'x'.repeat(42), `${text}=`, 'not a key!'.padEnd(43, '.')]) assert.throws(() => parseAuditPublicKey(bad), KeyringError);
});

void test('sensitive values: HMAC-SHA256 under the audit key, stable for one key, different under another', () => {
  const keys = generateAuditKeys();
  const other = generateAuditKeys();
  fc.assert(
    fc.property(fc.string({ minLength: 1 }), (value) => {
      const h = hmacSensitive(keys, value);
      assert.match(h, /^hmac-sha256:[0-9a-f]{64}$/);
      assert.equal(hmacSensitive(keys, value), h);
      assert.equal(h, `hmac-sha256:${createHmac('sha256', keys.hmacKey).update(value, 'utf8').digest('hex')}`);
      assert.notEqual(hmacSensitive(other, value), h);
    }),
    { numRuns: 100 },
  );
});

void test('a stored body never holds a sensitive value in clear', () => {
  const keys = generateAuditKeys();
  const secretish = 'alice.secret-mail@example.com';
  const body = serializeAuditBody(auditBodyOf(sampleEvent(1, { sensitive: { email: secretish } }), keys), 1);
  assert.ok(!body.includes(secretish));
  assert.ok(!body.includes('alice.secret-mail'));
  assert.ok(body.includes(hmacSensitive(keys, secretish)));
  // matching works for the key holder: equal values, equal HMACs
  const again = serializeAuditBody(auditBodyOf(sampleEvent(2, { sensitive: { owner: secretish } }), keys), 2);
  assert.ok(again.includes(hmacSensitive(keys, secretish)));
});
