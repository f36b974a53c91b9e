import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Keyring, type KeyringStore } from '../crypto/index.js';
import { RequestAbortedError } from '../domain/errors.js';
import type { ArtifactVersion } from '../domain/types.js';
import type { BlobStore } from '../store/blob-store.js';
import type { S3UploadPart } from '../store/s3-store.js';
import { EncryptingVault } from './encrypting-vault.js';
import { rewrapStaleKeys, rewrapStalePartKeys, type StaleKeyStore, type StalePartKeyStore } from './rewrap-stale-keys.js';

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

/** Versions in memory, with the two store methods behaving as the MetadataStore contract says. */
class MemoryVersions implements StaleKeyStore {
  rows = new Map<string, ArtifactVersion>();
  listCalls = 0;
  /** Ids whose next update loses a race with another writer. */
  interfere = new Set<string>();
  listVersionsNotUnderTerm(term: number, limit: number) {
    this.listCalls++;
    return Promise.resolve([...this.rows.values()].filter((v) => v.keyTerm !== term).slice(0, limit));
  }
  rewrapVersionKey(id: string, expectedTerm: number, wrappedKey: Uint8Array, term: number) {
    const row = this.rows.get(id);
    if (row === undefined || row.keyTerm !== expectedTerm || this.interfere.has(id)) return Promise.resolve(false);
    this.rows.set(id, { ...row, wrappedKey, keyTerm: term });
    return Promise.resolve(true);
  }
}

const noBlobs = {} as BlobStore;

function version(id: string, wrappedKey: Uint8Array | null, keyTerm: number): ArtifactVersion {
  return { id, artifactId: 'art_x', number: 1, sha256: '', size: 0, mediaType: 'application/octet-stream', createdBy: 'prn_x', createdAt: 0, blobKey: `objects/00/${id}`, wrappedKey, keyTerm };
}

async function setup() {
  const keyring = await Keyring.open({ rootKey: randomBytes(32), store: new MemoryKeyringStore() });
  const vault = new EncryptingVault({ blobStore: noBlobs, keyring });
  const versions = new MemoryVersions();
  const dataKeys = new Map<string, Buffer>();
  const add = (id: string) => {
    const dataKey = randomBytes(32);
    dataKeys.set(id, dataKey);
    const { wrappedKey, keyTerm } = keyring.wrapDataKey(id, dataKey);
    versions.rows.set(id, version(id, wrappedKey, keyTerm));
  };
  return { keyring, vault, versions, dataKeys, add };
}

void test('every stale data key is rewrapped in batches and still unwraps to the same key', async () => {
  const t = await setup();
  for (let i = 0; i < 23; i++) t.add(`ver_a${i}`);
  await t.vault.addKeyTerm();
  for (let i = 0; i < 7; i++) t.add(`ver_b${i}`);
  await t.vault.addKeyTerm();
  const progress: number[] = [];
  const report = await rewrapStaleKeys(t.vault, t.versions, { batchSize: 5, onProgress: (r) => progress.push(r.rewrapped) });
  assert.deepEqual(report, { rewrapped: 30, shredded: 0, contended: 0, failed: [] });
  assert.deepEqual(progress, [5, 10, 15, 20, 25, 30]);
  for (const row of t.versions.rows.values()) {
    assert.equal(row.keyTerm, 3);
    assert.deepEqual(t.keyring.unwrapDataKey(row.id, row.wrappedKey!, row.keyTerm), t.dataKeys.get(row.id));
  }
  // the old terms can now go, and the data stays readable
  await t.vault.retireKeyTerm(1);
  await t.vault.retireKeyTerm(2);
  for (const row of t.versions.rows.values()) assert.deepEqual(t.keyring.unwrapDataKey(row.id, row.wrappedKey!, row.keyTerm), t.dataKeys.get(row.id));
  // a second pass has nothing to do
  assert.deepEqual(await rewrapStaleKeys(t.vault, t.versions), { rewrapped: 0, shredded: 0, contended: 0, failed: [] });
});

void test('shredded, foreign, undecryptable and contended versions are reported and the pass still ends', async () => {
  const t = await setup();
  for (let i = 0; i < 12; i++) t.add(`ver_${i}`);
  t.versions.rows.set('ver_shredded1', version('ver_shredded1', null, 1));
  t.versions.rows.set('ver_shredded2', version('ver_shredded2', null, 1));
  // a wrapped key that belongs to another version
  t.versions.rows.set('ver_foreign', version('ver_foreign', t.versions.rows.get('ver_0')!.wrappedKey, 1));
  // a corrupt wrapped key
  const corrupt = Buffer.from(t.versions.rows.get('ver_1')!.wrappedKey!);
  corrupt[corrupt.length - 1]! ^= 1;
  t.versions.rows.set('ver_1', { ...t.versions.rows.get('ver_1')!, wrappedKey: corrupt });
  t.versions.interfere.add('ver_2');
  await t.vault.addKeyTerm();
  const report = await rewrapStaleKeys(t.vault, t.versions, { batchSize: 2 });
  assert.equal(report.rewrapped, 10);
  assert.equal(report.shredded, 2);
  assert.equal(report.contended, 1);
  assert.deepEqual(report.failed.sort(), ['ver_1', 'ver_foreign']);
  assert.ok(t.versions.listCalls < 20);
});

void test('a pass stops when its signal aborts', async () => {
  const t = await setup();
  for (let i = 0; i < 5; i++) t.add(`ver_${i}`);
  await t.vault.addKeyTerm();
  const controller = new AbortController();
  controller.abort();
  await assert.rejects(rewrapStaleKeys(t.vault, t.versions, { signal: controller.signal }), RequestAbortedError);
});

/** Parts of multipart uploads in memory, with the two store methods behaving as the S3Store contract says. */
class MemoryParts implements StalePartKeyStore {
  rows = new Map<string, S3UploadPart>();
  /** Runs before the next update of a part (`uploadId/partNumber`), once: another writer's change. */
  beforeUpdate = new Map<string, () => void>();
  listPartsNotUnderTerm(term: number, limit: number) {
    const sorted = [...this.rows.values()].sort((a, b) => (a.uploadId === b.uploadId ? a.partNumber - b.partNumber : a.uploadId < b.uploadId ? -1 : 1));
    return Promise.resolve(sorted.filter((p) => p.keyTerm !== term).slice(0, limit));
  }
  rewrapPartKey(part: Pick<S3UploadPart, 'uploadId' | 'partNumber' | 'objectId'>, expectedTerm: number, wrappedKey: Uint8Array, term: number) {
    const key = `${part.uploadId}/${part.partNumber}`;
    this.beforeUpdate.get(key)?.();
    this.beforeUpdate.delete(key);
    const row = this.rows.get(key);
    if (row === undefined || row.objectId !== part.objectId || row.keyTerm !== expectedTerm) return Promise.resolve(false);
    this.rows.set(key, { ...row, wrappedKey, keyTerm: term });
    return Promise.resolve(true);
  }
}

void test('the data keys of multipart upload parts are rewrapped the same way, bound to their part object', async () => {
  const t = await setup();
  const parts = new MemoryParts();
  const dataKeys = new Map<string, Buffer>();
  const sealPart = (uploadId: string, partNumber: number, objectId = `s3p_${uploadId}_${partNumber}`): S3UploadPart => {
    const dataKey = randomBytes(32);
    dataKeys.set(objectId, dataKey);
    const { wrappedKey, keyTerm } = t.keyring.wrapDataKey(objectId, dataKey);
    return { uploadId, partNumber, objectId, blobKey: `objects/00/${objectId}`, wrappedKey, keyTerm, size: 1, md5: '0'.repeat(32), checksums: {}, createdAt: 0 };
  };
  const addPart = (uploadId: string, partNumber: number) => parts.rows.set(`${uploadId}/${partNumber}`, sealPart(uploadId, partNumber));
  for (let n = 1; n <= 7; n++) addPart('mpu_a', n);
  for (let n = 1; n <= 4; n++) addPart('mpu_b', n);
  // a part whose wrapped key is another part's, and a corrupt one
  parts.rows.set('mpu_b/2', { ...parts.rows.get('mpu_b/2')!, wrappedKey: parts.rows.get('mpu_b/1')!.wrappedKey });
  const corrupt = Buffer.from(parts.rows.get('mpu_a/3')!.wrappedKey);
  corrupt[corrupt.length - 1]! ^= 1;
  parts.rows.set('mpu_a/3', { ...parts.rows.get('mpu_a/3')!, wrappedKey: corrupt });
  // part 4 of mpu_b is uploaded again between the listing and the update, sealed under the old
  // term (by a node that has not seen the new one yet): the listed part's key must not land on it
  const again = sealPart('mpu_b', 4, 's3p_again');
  parts.beforeUpdate.set('mpu_b/4', () => parts.rows.set('mpu_b/4', again));
  await t.vault.addKeyTerm();

  const report = await rewrapStalePartKeys(t.vault, parts, { batchSize: 3 });
  assert.deepEqual(report.failed.sort(), ['mpu_a/3', 'mpu_b/2'], 'failed parts are named upload/part');
  assert.equal(report.shredded, 0);
  assert.equal(report.contended, 0);
  assert.equal(report.rewrapped, 9, 'the 11 parts but the 2 failed (the re-uploaded one once, its new object)');
  await t.vault.retireKeyTerm(1);
  for (const [id, row] of parts.rows) {
    if (id === 'mpu_a/3' || id === 'mpu_b/2') {
      assert.equal(row.keyTerm, 1);
      continue;
    }
    assert.equal(row.keyTerm, 2, id);
    assert.deepEqual(t.keyring.unwrapDataKey(row.objectId, row.wrappedKey, row.keyTerm), dataKeys.get(row.objectId), id);
  }
  assert.equal(parts.rows.get('mpu_b/4')!.objectId, 's3p_again');
  assert.deepEqual(await rewrapStalePartKeys(t.vault, parts), { rewrapped: 0, shredded: 0, contended: 0, failed: ['mpu_a/3', 'mpu_b/2'] });
});
