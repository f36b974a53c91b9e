#!/usr/bin/env node
// Generates the known-answer vectors of the sealed keyring format 2 and of the wrapped
// keyring keys of each key provider (local, PKCS#11, KMS) into
// test/fixtures/crypto/keyring-v2-vectors.json. Like gen-crypto-vectors.mjs it implements
// the written formats (docs/format-encrypted-object.md) from scratch with node:crypto and
// imports nothing from src/. Run once; never regenerate to make a test pass: a change of
// these bytes is a format change and needs a new version byte.
import { createCipheriv, createHmac, hkdfSync } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'test/fixtures/crypto/keyring-v2-vectors.json');

const u8 = (n) => Buffer.of(n);
const u16 = (n) => { const b = Buffer.alloc(2); b.writeUInt16BE(n); return b; };
const u32 = (n) => { const b = Buffer.alloc(4); b.writeUInt32BE(n); return b; };
const u64 = (n) => { const b = Buffer.alloc(8); b.writeBigUInt64BE(BigInt(n)); return b; };
const seq = (n, from) => Buffer.from(Array.from({ length: n }, (_, i) => (from + i) & 0xff));

function gcm(key, nonce, aad, plaintext) {
  const c = createCipheriv('aes-256-gcm', key, nonce);
  c.setAAD(aad);
  return Buffer.concat([c.update(plaintext), c.final(), c.getAuthTag()]);
}

const context = Buffer.from('coffer/keyring-key/v2', 'ascii');
const keyringKey = seq(32, 0x80);

// local wrap (file and env providers): version 1 | key id (8) | nonce | GCM(keyring key)
const rootKey = seq(32, 0x40);
const keyId = createHmac('sha256', rootKey).update('coffer/root-key-id/v1').digest().subarray(0, 8);
const wrappingKey = Buffer.from(hkdfSync('sha256', rootKey, Buffer.alloc(0), Buffer.from('coffer/root-wrap/v1'), 32));
const localNonce = seq(12, 0xc0);
const localPrefix = Buffer.concat([u8(1), keyId]);
const localWrapped = Buffer.concat([localPrefix, localNonce, gcm(wrappingKey, localNonce, Buffer.concat([localPrefix, context]), keyringKey)]);

// sealed keyring, format 2: CFKR | 2 | scheme | wrapped length u16 | wrapped | nonce | GCM(body)
const terms = [
  { term: 1, createdAt: 1_700_000_000_000, kek: null },
  { term: 2, createdAt: 1_700_000_100_000, kek: seq(32, 0x11) },
  { term: 3, createdAt: 1_700_000_200_000, kek: seq(32, 0x55) },
];
const current = 3;
const body = [u32(current), u32(terms.length)];
for (const t of terms) body.push(u32(t.term), u64(t.createdAt), u8(t.kek === null ? 2 : 1), ...(t.kek === null ? [] : [t.kek]));
const sealNonce = seq(12, 0x10);
const sealHeader = Buffer.concat([Buffer.from('CFKR', 'ascii'), u8(2), u8(1), u16(localWrapped.length), localWrapped, sealNonce]);
const sealed = Buffer.concat([sealHeader, gcm(keyringKey, sealNonce, sealHeader, Buffer.concat(body))]);

// PKCS#11 wrap: version 1 | id length u8 | CKA_ID | nonce | GCM in the HSM (same AES-GCM)
const hsmKey = seq(32, 0x20);
const ckaId = seq(16, 0xe0);
const hsmNonce = seq(12, 0x70);
const hsmPrefix = Buffer.concat([u8(1), u8(ckaId.length), ckaId]);
const hsmWrapped = Buffer.concat([hsmPrefix, hsmNonce, gcm(hsmKey, hsmNonce, Buffer.concat([hsmPrefix, context]), keyringKey)]);

// KMS wrap: version 1 | ARN length u16 | ARN | ciphertext blob (opaque, as KMS returned it)
const arn = 'arn:aws:kms:eu-west-1:111122223333:key/0b7c8f1e-52d4-4c8e-9a8f-1d2e3f4a5b6c';
const kmsBlob = seq(40, 0x33);
const kmsWrapped = Buffer.concat([u8(1), u16(Buffer.byteLength(arn)), Buffer.from(arn, 'utf8'), kmsBlob]);

const hex = (b) => b.toString('hex');
writeFileSync(
  out,
  JSON.stringify(
    {
      contextAscii: context.toString('ascii'),
      keyringKeyHex: hex(keyringKey),
      localWrap: { rootKeyHex: hex(rootKey), keyIdHex: hex(keyId), nonceHex: hex(localNonce), wrappedHex: hex(localWrapped) },
      sealedKeyringV2: { scheme: 1, current, terms: terms.map((t) => ({ term: t.term, createdAt: t.createdAt, kekHex: t.kek === null ? null : hex(t.kek) })), nonceHex: hex(sealNonce), sealedHex: hex(sealed) },
      pkcs11Wrap: { aesKeyHex: hex(hsmKey), ckaIdHex: hex(ckaId), nonceHex: hex(hsmNonce), wrappedHex: hex(hsmWrapped) },
      kmsWrap: { keyArn: arn, blobHex: hex(kmsBlob), wrappedHex: hex(kmsWrapped) },
    },
    null,
    2,
  ) + '\n',
);
console.log(`wrote ${out}`);
