import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { KEYRING_KEY_CONTEXT } from './key-provider.js';
import { readSealedHead, sealKeyringV2, unsealKeyringV2 } from './keyring-codec.js';
import { decodeKmsWrapped, encodeKmsWrapped } from './kms-key-provider.js';
import { localKeyId, unwrapWithLocalKey, wrapWithLocalKey } from './local-root-key.js';

// Vectors were produced by scripts/gen-keyring-v2-vectors.mjs, an independent
// implementation of the written formats. They must never be regenerated to make this pass.
// (The PKCS#11 vector is checked against SoftHSM2 in test/integration/keys-pkcs11.test.ts.)

export interface KeyringV2Vectors {
  contextAscii: string;
  keyringKeyHex: string;
  localWrap: { rootKeyHex: string; keyIdHex: string; nonceHex: string; wrappedHex: string };
  sealedKeyringV2: { scheme: number; current: number; terms: { term: number; createdAt: number; kekHex: string | null }[]; nonceHex: string; sealedHex: string };
  pkcs11Wrap: { aesKeyHex: string; ckaIdHex: string; nonceHex: string; wrappedHex: string };
  kmsWrap: { keyArn: string; blobHex: string; wrappedHex: string };
}

function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('package.json not found above the test file');
    dir = up;
  }
  return dir;
}

const v = JSON.parse(readFileSync(join(repoRoot(), 'test/fixtures/crypto/keyring-v2-vectors.json'), 'utf8')) as KeyringV2Vectors;
const hex = (s: string) => Buffer.from(s, 'hex');

void test('the keyring key context is the one of the vectors', () => {
  assert.equal(KEYRING_KEY_CONTEXT.toString('ascii'), v.contextAscii);
});

void test('local wrap vector: key id, deterministic wrap and unwrap', () => {
  const rootKey = hex(v.localWrap.rootKeyHex);
  assert.equal(localKeyId(rootKey), v.localWrap.keyIdHex);
  assert.equal(wrapWithLocalKey(rootKey, hex(v.keyringKeyHex), KEYRING_KEY_CONTEXT, hex(v.localWrap.nonceHex)).toString('hex'), v.localWrap.wrappedHex);
  assert.deepEqual(unwrapWithLocalKey([rootKey], hex(v.localWrap.wrappedHex), KEYRING_KEY_CONTEXT), hex(v.keyringKeyHex));
});

void test('sealed keyring format 2 vector: seal deterministically, read its head, unseal', () => {
  const s = v.sealedKeyringV2;
  const state = { current: s.current, terms: s.terms.map((t) => ({ term: t.term, createdAt: t.createdAt, kek: t.kekHex === null ? null : hex(t.kekHex) })) };
  const sealed = sealKeyringV2(state, { scheme: s.scheme, wrappedKey: hex(v.localWrap.wrappedHex), keyringKey: hex(v.keyringKeyHex) }, hex(s.nonceHex));
  assert.equal(sealed.toString('hex'), s.sealedHex);
  assert.deepEqual(readSealedHead(hex(s.sealedHex)), { version: 2, scheme: s.scheme, wrappedKey: hex(v.localWrap.wrappedHex) });
  assert.deepEqual(unsealKeyringV2(hex(s.sealedHex), hex(v.keyringKeyHex)), state);
});

void test('KMS wrap vector: encode and decode', () => {
  assert.equal(encodeKmsWrapped(v.kmsWrap.keyArn, hex(v.kmsWrap.blobHex)).toString('hex'), v.kmsWrap.wrappedHex);
  assert.deepEqual(decodeKmsWrapped(hex(v.kmsWrap.wrappedHex)), { keyId: v.kmsWrap.keyArn, blob: hex(v.kmsWrap.blobHex) });
  assert.equal(decodeKmsWrapped(hex(v.localWrap.wrappedHex)), null);
});
