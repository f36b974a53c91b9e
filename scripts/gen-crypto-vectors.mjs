#!/usr/bin/env node
// Generates the known-answer vectors of Coffer's encryption formats into
// test/fixtures/crypto/vectors.json. It implements the formats of
// docs/format-encrypted-object.md from scratch with node:crypto (it does not import
// src/), so the committed vectors check the implementation against the written spec.
// Run once: node scripts/gen-crypto-vectors.mjs. Never regenerate to make a test pass:
// a change of these bytes is a format change and needs a new format version.
import { createCipheriv, createHash, hkdfSync } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'test/fixtures/crypto/vectors.json');

const u8 = (n) => Buffer.of(n);
const u16 = (n) => { const b = Buffer.alloc(2); b.writeUInt16BE(n); return b; };
const u32 = (n) => { const b = Buffer.alloc(4); b.writeUInt32BE(n); return b; };
const u64 = (n) => { const b = Buffer.alloc(8); b.writeBigUInt64BE(BigInt(n)); return b; };
const seq = (n, from) => Buffer.from(Array.from({ length: n }, (_, i) => (from + i) & 0xff));
/** The deterministic plaintext pattern: byte i = (31 i + 7) mod 256. */
const pattern = (n) => Buffer.from(Array.from({ length: n }, (_, i) => (31 * i + 7) & 0xff));

function gcm(key, nonce, aad, plaintext) {
  const c = createCipheriv('aes-256-gcm', key, nonce);
  c.setAAD(aad);
  return Buffer.concat([c.update(plaintext), c.final(), c.getAuthTag()]);
}

function encryptObject({ key, noncePrefix, objectId, keyTerm, segmentSize, plaintext }) {
  const id = Buffer.from(objectId, 'utf8');
  const header = Buffer.concat([Buffer.from('CFR1', 'ascii'), u8(1), u32(keyTerm), u16(id.length), id, u32(segmentSize), noncePrefix]);
  const count = Math.floor(plaintext.length / segmentSize) + 1;
  const parts = [header];
  for (let i = 0; i < count; i++) {
    const last = i === count - 1;
    const nonce = Buffer.concat([noncePrefix, u32(i), u8(last ? 1 : 0)]);
    parts.push(gcm(key, nonce, header, plaintext.subarray(i * segmentSize, Math.min((i + 1) * segmentSize, plaintext.length))));
  }
  return Buffer.concat(parts);
}

function wrapKey({ kek, keyTerm, objectId, dataKey, nonce }) {
  const id = Buffer.from(objectId, 'utf8');
  const aad = Buffer.concat([u8(1), u32(keyTerm), u16(id.length), id]);
  return Buffer.concat([aad, nonce, gcm(kek, nonce, aad, dataKey)]);
}

function sealKeyring({ rootKey, current, terms, nonce }) {
  const key = Buffer.from(hkdfSync('sha256', rootKey, Buffer.alloc(0), Buffer.from('coffer/keyring/v1', 'ascii'), 32));
  const body = [u32(current), u32(terms.length)];
  for (const t of terms) body.push(u32(t.term), u64(t.createdAt), u8(t.kek === null ? 2 : 1), ...(t.kek === null ? [] : [t.kek]));
  const header = Buffer.concat([Buffer.from('CFKR', 'ascii'), u8(1), nonce]);
  return Buffer.concat([header, gcm(key, nonce, header, Buffer.concat(body))]);
}

const dataKey = seq(32, 0x00);
const noncePrefix = seq(7, 0xa0);
const objectId = 'ver_0123456789abcdefghjkmnpqrs';
const keyTerm = 7;
const segmentSize = 64;

const objects = [0, 1, segmentSize - 1, segmentSize, segmentSize + 1, Math.floor(3.5 * segmentSize)].map((size) => {
  const plaintext = pattern(size);
  return {
    name: `${size} bytes, ${segmentSize}-byte segments`,
    segmentSize,
    plaintextSize: size,
    plaintextSha256: createHash('sha256').update(plaintext).digest('hex'),
    ciphertextHex: encryptObject({ key: dataKey, noncePrefix, objectId, keyTerm, segmentSize, plaintext }).toString('hex'),
  };
});
{
  const size = 150_000;
  const plaintext = pattern(size);
  const ciphertext = encryptObject({ key: dataKey, noncePrefix, objectId, keyTerm, segmentSize: 65536, plaintext });
  objects.push({
    name: `${size} bytes, default 65536-byte segments`,
    segmentSize: 65536,
    plaintextSize: size,
    plaintextSha256: createHash('sha256').update(plaintext).digest('hex'),
    ciphertextSize: ciphertext.length,
    ciphertextSha256: createHash('sha256').update(ciphertext).digest('hex'),
  });
}

const kek = seq(32, 0x40);
const wrapNonce = seq(12, 0xc0);
const wrappedKey = { kekHex: kek.toString('hex'), keyTerm: 3, objectId, dataKeyHex: seq(32, 0x80).toString('hex'), nonceHex: wrapNonce.toString('hex') };
wrappedKey.wrappedHex = wrapKey({ kek, keyTerm: 3, objectId, dataKey: seq(32, 0x80), nonce: wrapNonce }).toString('hex');

const rootKey = seq(32, 0x20);
const terms = [
  { term: 1, createdAt: 1_700_000_000_000, kek: null },
  { term: 2, createdAt: 1_700_000_100_000, kek: seq(32, 0x60) },
  { term: 3, createdAt: 1_700_000_200_000, kek: seq(32, 0x40) },
];
const keyringNonce = seq(12, 0xe0);
const sealedKeyring = {
  rootKeyHex: rootKey.toString('hex'),
  current: 3,
  terms: terms.map((t) => ({ term: t.term, createdAt: t.createdAt, kekHex: t.kek === null ? null : t.kek.toString('hex') })),
  nonceHex: keyringNonce.toString('hex'),
  sealedHex: sealKeyring({ rootKey, current: 3, terms, nonce: keyringNonce }).toString('hex'),
};

const vectors = {
  description: 'Known-answer vectors of the Coffer encrypted-object (CFR1 v1), wrapped-key (v1) and sealed-keyring (CFKR v1) formats; see docs/format-encrypted-object.md',
  plaintextPattern: 'byte i = (31 * i + 7) mod 256',
  encryptedObject: { dataKeyHex: dataKey.toString('hex'), noncePrefixHex: noncePrefix.toString('hex'), objectId, keyTerm, vectors: objects },
  wrappedKey,
  sealedKeyring,
};
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, `${JSON.stringify(vectors, null, 2)}\n`);
console.log(`wrote ${out}`);
