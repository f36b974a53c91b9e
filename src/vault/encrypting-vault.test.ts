import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import fc from 'fast-check';
import { Keyring, type KeyringStore } from '../crypto/index.js';
import {
  CofferError,
  ContentLengthMismatchError,
  DecryptionFailedError,
  DigestMismatchError,
  RangeNotSatisfiableError,
  RequestAbortedError,
  UploadAbortedError,
  UploadTimeoutError,
} from '../domain/errors.js';
import { newId } from '../domain/ids.js';
import type { BlobStat, BlobStore, ByteRange } from '../store/blob-store.js';
import { FsBlobStore } from '../store/fs/fs-blob-store.js';
import { EncryptingVault } from './encrypting-vault.js';
import type { SealedObject, SealedRef } from './vault.js';

class MemoryKeyringStore implements KeyringStore {
  value: Uint8Array | null = null;
  load() {
    return Promise.resolve(this.value);
  }
  save(sealed: Uint8Array, previous: Uint8Array | null) {
    const ok = previous === null ? this.value === null : this.value !== null && Buffer.from(this.value).equals(previous);
    if (ok) this.value = sealed;
    return Promise.resolve(ok);
  }
}

/** The real filesystem store, recording every read so tests can check what was fetched. */
class RecordingStore implements BlobStore {
  reads: { key: string; range: ByteRange | undefined }[] = [];
  constructor(readonly inner: FsBlobStore) {}
  put(key: string, body: Readable, options?: { signal?: AbortSignal }): Promise<BlobStat> {
    return this.inner.put(key, body, options);
  }
  get(key: string, options?: { range?: ByteRange; signal?: AbortSignal }): Promise<Readable> {
    this.reads.push({ key, range: options?.range });
    return this.inner.get(key, options);
  }
  stat(key: string) {
    return this.inner.stat(key);
  }
  delete(key: string) {
    return this.inner.delete(key);
  }
  list(prefix?: string) {
    return this.inner.list(prefix);
  }
  listEntries(prefix?: string) {
    return this.inner.listEntries(prefix);
  }
}

async function setup(segmentSize = 1024, maxSealMs?: number) {
  const dir = await mkdtemp(join(tmpdir(), 'coffer-vault-'));
  const store = new RecordingStore(new FsBlobStore(dir));
  const keyringStore = new MemoryKeyringStore();
  const rootKey = randomBytes(32);
  const keyring = await Keyring.open({ rootKey, store: keyringStore });
  const vault = new EncryptingVault({ blobStore: store, keyring, segmentSize, ...(maxSealMs === undefined ? {} : { maxSealMs }) });
  return { dir, store, vault, keyring, keyringStore, rootKey, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** A body that yields `data` in odd-sized chunks. */
function body(data: Buffer, chunk = 777): Readable {
  return Readable.from(
    (function* () {
      for (let at = 0; at < data.length; at += chunk) yield data.subarray(at, at + chunk);
    })(),
  );
}

const refOf = (objectId: string, s: SealedObject): SealedRef => ({ objectId, blobKey: s.blobKey, size: s.size, wrappedKey: s.wrappedKey, keyTerm: s.keyTerm });
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

async function blobCount(store: RecordingStore): Promise<number> {
  let n = 0;
  for await (const _ of store.list('objects/')) n++;
  return n;
}

void test('seal then open returns the plaintext; the store holds only ciphertext', async () => {
  const t = await setup();
  try {
    const plain = Buffer.concat([Buffer.from('model weights: secret '.repeat(50)), randomBytes(5000)]);
    const id = newId('ver');
    const sealed = await t.vault.seal(id, body(plain), { expectedSize: plain.length, expectedSha256: sha256(plain).toUpperCase() });
    assert.equal(sealed.size, plain.length);
    assert.equal(sealed.sha256, sha256(plain));
    assert.equal(sealed.keyTerm, 1);
    assert.match(sealed.blobKey, /^objects\/[0-9a-f]{2}\/ver_/);
    assert.deepEqual(await readAll(await t.vault.open(refOf(id, sealed))), plain);
    const stored = await readFile(join(t.dir, `${sealed.blobKey}.blob`));
    assert.equal(stored.indexOf('model weights'), -1);
    assert.equal(stored.subarray(0, 4).toString(), 'CFR1');
  } finally {
    await t.cleanup();
  }
});

void test('empty and segment-multiple objects round trip', async () => {
  const t = await setup(64);
  try {
    for (const size of [0, 64, 128, 1]) {
      const plain = randomBytes(size);
      const id = newId('ver');
      const sealed = await t.vault.seal(id, body(plain, 10));
      assert.deepEqual(await readAll(await t.vault.open(refOf(id, sealed))), plain);
    }
  } finally {
    await t.cleanup();
  }
});

void test('a declared size or digest that does not match is refused and leaves nothing behind', async () => {
  const t = await setup();
  try {
    const plain = randomBytes(3000);
    await assert.rejects(t.vault.seal(newId('ver'), body(plain), { expectedSize: 2999 }), ContentLengthMismatchError);
    await assert.rejects(t.vault.seal(newId('ver'), body(plain), { expectedSize: 3001 }), ContentLengthMismatchError);
    await assert.rejects(t.vault.seal(newId('ver'), body(plain), { expectedSha256: sha256(randomBytes(1)) }), DigestMismatchError);
    assert.equal(await blobCount(t.store), 0);
  } finally {
    await t.cleanup();
  }
});

void test('an aborted or failing upload leaves nothing behind', async () => {
  const t = await setup();
  try {
    const before = new AbortController();
    before.abort();
    await assert.rejects(t.vault.seal(newId('ver'), body(randomBytes(10)), { signal: before.signal }), UploadAbortedError);

    const during = new AbortController();
    const slow = new Readable({ read() {} });
    slow.push(randomBytes(5000));
    const pending = t.vault.seal(newId('ver'), slow, { signal: during.signal });
    setTimeout(() => during.abort(), 20);
    await assert.rejects(pending, UploadAbortedError);

    const broken = new Readable({ read() {} });
    broken.push(randomBytes(5000));
    setTimeout(() => broken.destroy(new Error('client went away')), 20);
    await assert.rejects(t.vault.seal(newId('ver'), broken), (err) => err instanceof CofferError);
    assert.equal(await blobCount(t.store), 0);
  } finally {
    await t.cleanup();
  }
});

void test('a seal still running after maxSealMs is cut with UploadTimeoutError and leaves nothing behind', async () => {
  const t = await setup(1024, 150);
  try {
    const stalled = new Readable({ read() {} });
    stalled.push(randomBytes(5000));
    const started = Date.now();
    await assert.rejects(t.vault.seal(newId('ver'), stalled), UploadTimeoutError);
    assert.ok(Date.now() - started < 5000);
    assert.equal(await blobCount(t.store), 0);
    assert.deepEqual(await readdir(join(t.dir, '.tmp')).catch(() => []), []);
    // a seal within the bound is untouched by the deadline
    const data = randomBytes(4000);
    const sealed = await t.vault.seal(newId('ver'), body(data));
    assert.equal(sealed.size, data.length);
  } finally {
    await t.cleanup();
  }
});

void test('ranges decrypt to exactly the slice, reading only the header and the touched segments', async () => {
  const t = await setup(100);
  try {
    const plain = randomBytes(2345);
    const id = newId('ver');
    const sealed = await t.vault.seal(id, body(plain));
    const ref = refOf(id, sealed);
    const headerLength = 22 + id.length;
    await fc.assert(
      fc.asyncProperty(fc.nat(plain.length - 1), fc.nat(plain.length - 1), async (a, b) => {
        const [start, end] = a <= b ? [a, b] : [b, a];
        t.store.reads = [];
        assert.deepEqual(await readAll(await t.vault.open(ref, { range: { start, end } })), plain.subarray(start, end + 1));
        const first = Math.floor(start / 100);
        const last = Math.floor(end / 100);
        const lastLength = last === Math.floor(plain.length / 100) ? plain.length % 100 : 100;
        assert.deepEqual(t.store.reads, [
          { key: sealed.blobKey, range: { start: 0, end: headerLength - 1 } },
          { key: sealed.blobKey, range: { start: headerLength + first * 116, end: headerLength + last * 116 + lastLength + 16 - 1 } },
        ]);
      }),
      { numRuns: 60 },
    );
    await assert.rejects(t.vault.open(ref, { range: { start: 0, end: plain.length } }), RangeNotSatisfiableError);
    await assert.rejects(t.vault.open(ref, { range: { start: 10, end: 9 } }), RangeNotSatisfiableError);
  } finally {
    await t.cleanup();
  }
});

void test('tampered, swapped, missing or shredded objects fail with one DecryptionFailedError', async () => {
  const t = await setup(256);
  try {
    const a = newId('ver');
    const b = newId('ver');
    const plain = randomBytes(2000);
    const sa = await t.vault.seal(a, body(plain));
    const sb = await t.vault.seal(b, body(plain));
    const open = async (ref: SealedRef, range?: ByteRange) => readAll(await t.vault.open(ref, range === undefined ? {} : { range }));
    const fails = (p: Promise<unknown>) => assert.rejects(p, DecryptionFailedError);

    // swapped metadata: b's blob under a's key and id
    await fails(open({ ...refOf(a, sa), blobKey: sb.blobKey }));
    await fails(open({ ...refOf(a, sa), blobKey: sb.blobKey }, { start: 700, end: 900 }));
    // b's wrapped key on a
    await fails(open({ ...refOf(a, sa), wrappedKey: sb.wrappedKey }));
    // a size other than the recorded one
    await fails(open({ ...refOf(a, sa), size: 1999 }));
    await fails(open({ ...refOf(a, sa), size: 2001 }));
    // crypto-shredded
    await fails(open({ ...refOf(a, sa), wrappedKey: null }));
    // an unknown term
    await fails(open({ ...refOf(a, sa), keyTerm: 2 }));

    // a bit flipped on disk, in the body and in the header
    const file = join(t.dir, `${sa.blobKey}.blob`);
    const original = await readFile(file);
    for (const at of [original.length - 1, 600, 6]) {
      const tampered = Buffer.from(original);
      tampered[at]! ^= 0x01;
      await writeFile(file, tampered);
      await fails(open(refOf(a, sa)));
      await fails(open(refOf(a, sa), { start: 0, end: 1999 }));
    }
    // truncated on disk
    await writeFile(file, original.subarray(0, original.length - 10));
    await fails(open(refOf(a, sa)));
    await fails(open(refOf(a, sa), { start: 1990, end: 1999 }));
    // missing
    await t.vault.remove(sa.blobKey);
    await fails(open(refOf(a, sa)));
    await fails(open(refOf(a, sa), { start: 0, end: 10 }));
  } finally {
    await t.cleanup();
  }
});

void test('an aborted download ends with RequestAbortedError', async () => {
  const t = await setup();
  try {
    const id = newId('ver');
    const sealed = await t.vault.seal(id, body(randomBytes(500_000)));
    const controller = new AbortController();
    const stream = await t.vault.open(refOf(id, sealed), { signal: controller.signal });
    const reading = (async () => {
      for await (const _ of stream) controller.abort();
    })();
    await assert.rejects(reading, RequestAbortedError);
    const aborted = new AbortController();
    aborted.abort();
    await assert.rejects(t.vault.open(refOf(id, sealed), { signal: aborted.signal }), RequestAbortedError);
  } finally {
    await t.cleanup();
  }
});

void test('rotation: a new term wraps new keys, rewrapping keeps data readable, retiring shreds what was not rewrapped', async () => {
  const t = await setup();
  try {
    const plain = randomBytes(4000);
    const a = newId('ver');
    const b = newId('ver');
    const sa = await t.vault.seal(a, body(plain));
    const sb = await t.vault.seal(b, body(plain));
    assert.equal(await t.vault.addKeyTerm(), 2);
    assert.equal(t.vault.currentKeyTerm(), 2);
    const sc = await t.vault.seal(newId('ver'), body(plain));
    assert.equal(sc.keyTerm, 2);
    // old term still unwraps until retired
    assert.deepEqual(await readAll(await t.vault.open(refOf(a, sa))), plain);
    const rewrapped = await t.vault.rewrapKey(sa.wrappedKey, sa.keyTerm);
    assert.equal(rewrapped.keyTerm, 2);
    const refA = { ...refOf(a, sa), ...rewrapped };
    assert.deepEqual(await readAll(await t.vault.open(refA, { range: { start: 1000, end: 3000 } })), plain.subarray(1000, 3001));
    await t.vault.retireKeyTerm(1);
    assert.deepEqual(await readAll(await t.vault.open(refA)), plain);
    await assert.rejects(async () => readAll(await t.vault.open(refOf(b, sb))), DecryptionFailedError);
    await assert.rejects(t.vault.rewrapKey(sb.wrappedKey, 1), DecryptionFailedError);
  } finally {
    await t.cleanup();
  }
});

void test('a node that missed a rotation reloads the keyring on an unknown term', async () => {
  const t = await setup();
  try {
    const other = new EncryptingVault({ blobStore: t.store, keyring: await Keyring.open({ rootKey: t.rootKey, store: t.keyringStore }) });
    assert.equal(await other.addKeyTerm(), 2);
    const id = newId('ver');
    const plain = randomBytes(100);
    const sealed = await other.seal(id, body(plain));
    assert.equal(sealed.keyTerm, 2);
    assert.equal(t.vault.currentKeyTerm(), 1);
    assert.deepEqual(await readAll(await t.vault.open(refOf(id, sealed))), plain);
    assert.equal(t.vault.currentKeyTerm(), 2);
  } finally {
    await t.cleanup();
  }
});

void test('invalid object ids are refused before anything is stored', async () => {
  const t = await setup();
  try {
    await assert.rejects(t.vault.seal('../escape', body(randomBytes(10))));
    assert.equal(await blobCount(t.store), 0);
  } finally {
    await t.cleanup();
  }
});
