import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Readable } from 'node:stream';
import { unwrapDataKey, wrapDataKey } from './data-key.js';
import { createDecryptStream, decryptObject } from './decrypt-stream.js';
import { encryptObject } from './encrypt-stream.js';
import { KEYRING_KEY_CONTEXT } from './key-provider.js';
import { deriveKeyringKey, readSealedHead, sealKeyring, sealKeyringV2, unsealKeyring, unsealKeyringV2 } from './keyring-codec.js';
import { decodeKmsWrapped, encodeKmsWrapped } from './kms-key-provider.js';
import { localKeyId, unwrapWithLocalKey, wrapWithLocalKey } from './local-root-key.js';

// Vectors were produced by scripts/gen-crypto-vectors.mjs and scripts/gen-keyring-v2-vectors.mjs,
// independent implementations of the written formats. They must never be regenerated to make
// this test pass. (The PKCS#11 vector is checked against SoftHSM2 in test/integration/keys-pkcs11.test.ts.)

interface Vectors {
  encryptedObject: {
    dataKeyHex: string;
    noncePrefixHex: string;
    objectId: string;
    keyTerm: number;
    vectors: { name: string; segmentSize: number; plaintextSize: number; plaintextSha256: string; ciphertextHex?: string; ciphertextSize?: number; ciphertextSha256?: string }[];
  };
  wrappedKey: { kekHex: string; keyTerm: number; objectId: string; dataKeyHex: string; nonceHex: string; wrappedHex: string };
  sealedKeyring: { rootKeyHex: string; current: number; terms: { term: number; createdAt: number; kekHex: string | null }[]; nonceHex: string; sealedHex: string };
}

interface KeyringV2Vectors {
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

const vectors = JSON.parse(readFileSync(join(repoRoot(), 'test/fixtures/crypto/vectors.json'), 'utf8')) as Vectors;
const v2 = JSON.parse(readFileSync(join(repoRoot(), 'test/fixtures/crypto/keyring-v2-vectors.json'), 'utf8')) as KeyringV2Vectors;
const hex = (s: string) => Buffer.from(s, 'hex');
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const pattern = (n: number) => Buffer.from(Array.from({ length: n }, (_, i) => (31 * i + 7) & 0xff));

void test('encrypted-object vectors: decrypt and re-encrypt byte for byte', async () => {
  const { dataKeyHex, noncePrefixHex, objectId, keyTerm } = vectors.encryptedObject;
  const dataKey = hex(dataKeyHex);
  assert.equal(vectors.encryptedObject.vectors.length, 7);
  for (const v of vectors.encryptedObject.vectors) {
    const plaintext = pattern(v.plaintextSize);
    assert.equal(sha256(plaintext), v.plaintextSha256, v.name);
    const ciphertext = encryptObject(plaintext, { dataKey, objectId, keyTerm, segmentSize: v.segmentSize, noncePrefix: hex(noncePrefixHex) });
    if (v.ciphertextHex !== undefined) assert.equal(ciphertext.toString('hex'), v.ciphertextHex, v.name);
    else assert.deepEqual({ size: ciphertext.length, sha256: sha256(ciphertext) }, { size: v.ciphertextSize, sha256: v.ciphertextSha256 }, v.name);

    assert.deepEqual(decryptObject(ciphertext, dataKey, { objectId, plaintextSize: v.plaintextSize }), plaintext, v.name);
    const chunks: Buffer[] = [];
    for await (const chunk of Readable.from([ciphertext]).pipe(createDecryptStream(dataKey, { objectId, plaintextSize: v.plaintextSize }))) chunks.push(chunk as Buffer);
    assert.deepEqual(Buffer.concat(chunks), plaintext, v.name);
  }
});

void test('wrapped-key vector: wrap deterministically and unwrap', () => {
  const v = vectors.wrappedKey;
  const wrapped = wrapDataKey(hex(v.kekHex), v.keyTerm, v.objectId, hex(v.dataKeyHex), hex(v.nonceHex));
  assert.equal(wrapped.toString('hex'), v.wrappedHex);
  assert.deepEqual(unwrapDataKey(hex(v.kekHex), v.keyTerm, v.objectId, hex(v.wrappedHex)), hex(v.dataKeyHex));
});

void test('sealed-keyring vector: seal deterministically and unseal', () => {
  const v = vectors.sealedKeyring;
  const key = deriveKeyringKey(hex(v.rootKeyHex));
  const state = { current: v.current, terms: v.terms.map((t) => ({ term: t.term, createdAt: t.createdAt, kek: t.kekHex === null ? null : hex(t.kekHex) })) };
  assert.equal(sealKeyring(state, key, hex(v.nonceHex)).toString('hex'), v.sealedHex);
  assert.deepEqual(unsealKeyring(hex(v.sealedHex), key), state);
});


void test('the keyring key context is the one of the vectors', () => {
  assert.equal(KEYRING_KEY_CONTEXT.toString('ascii'), v2.contextAscii);
});

void test('local wrap vector: key id, deterministic wrap and unwrap', () => {
  const rootKey = hex(v2.localWrap.rootKeyHex);
  assert.equal(localKeyId(rootKey), v2.localWrap.keyIdHex);
  assert.equal(wrapWithLocalKey(rootKey, hex(v2.keyringKeyHex), KEYRING_KEY_CONTEXT, hex(v2.localWrap.nonceHex)).toString('hex'), v2.localWrap.wrappedHex);
  assert.deepEqual(unwrapWithLocalKey([rootKey], hex(v2.localWrap.wrappedHex), KEYRING_KEY_CONTEXT), hex(v2.keyringKeyHex));
});

void test('sealed keyring format 2 vector: seal deterministically, read its head, unseal', () => {
  const s = v2.sealedKeyringV2;
  const state = { current: s.current, terms: s.terms.map((t) => ({ term: t.term, createdAt: t.createdAt, kek: t.kekHex === null ? null : hex(t.kekHex) })) };
  const sealed = sealKeyringV2(state, { scheme: s.scheme, wrappedKey: hex(v2.localWrap.wrappedHex), keyringKey: hex(v2.keyringKeyHex) }, hex(s.nonceHex));
  assert.equal(sealed.toString('hex'), s.sealedHex);
  assert.deepEqual(readSealedHead(hex(s.sealedHex)), { version: 2, scheme: s.scheme, wrappedKey: hex(v2.localWrap.wrappedHex) });
  assert.deepEqual(unsealKeyringV2(hex(s.sealedHex), hex(v2.keyringKeyHex)), state);
});

void test('KMS wrap vector: encode and decode', () => {
  assert.equal(encodeKmsWrapped(v2.kmsWrap.keyArn, hex(v2.kmsWrap.blobHex)).toString('hex'), v2.kmsWrap.wrappedHex);
  assert.deepEqual(decodeKmsWrapped(hex(v2.kmsWrap.wrappedHex)), { keyId: v2.kmsWrap.keyArn, blob: hex(v2.kmsWrap.blobHex) });
  assert.equal(decodeKmsWrapped(hex(v2.localWrap.wrappedHex)), null);
});
