import assert from 'node:assert/strict';
import { test } from 'node:test';
import { signWebhook, verifyWebhookSignature } from './webhook-signature.js';

const SECRET = 'secret-0123456789abcdef';

void test('the signature is HMAC-SHA256 of `timestamp.body` (known answer, computed with openssl)', () => {
  assert.equal(signWebhook(SECRET, 1_700_000_000, '{"a":1}'), 'v1=8eae3d28cb521b6b37f86de366c0b3de07baa3505577e5d97c7b1625541e4a2c');
});

void test('verification checks the body, the secret and the time window', () => {
  const body = '{"alert":{"id":"alr_1"}}';
  const sig = signWebhook(SECRET, 1_700_000_000, body);
  assert.equal(verifyWebhookSignature(SECRET, '1700000000', body, sig, 1_700_000_100), true);
  assert.equal(verifyWebhookSignature(SECRET, '1700000000', `${body} `, sig, 1_700_000_100), false, 'body changed');
  assert.equal(verifyWebhookSignature('another-secret-000000', '1700000000', body, sig, 1_700_000_100), false, 'other secret');
  assert.equal(verifyWebhookSignature(SECRET, '1700000001', body, sig, 1_700_000_100), false, 'timestamp changed');
  assert.equal(verifyWebhookSignature(SECRET, '1700000000', body, sig, 1_700_000_301), false, 'replayed too late');
  assert.equal(verifyWebhookSignature(SECRET, 'x', body, sig, 1_700_000_100), false);
  assert.equal(verifyWebhookSignature(SECRET, '1700000000', body, sig.slice(0, -1), 1_700_000_100), false, 'truncated');
});
