import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Keyring, type KeyringStore } from '../crypto/index.js';
import { RequestAbortedError } from '../domain/errors.js';
import type { ArtifactVersion } from '../domain/types.js';
import type { BlobStore } from '../store/blob-store.js';
import type { S3UploadPart } from '../store/s3-store.js';
import { EncryptingVault } from './encrypting-vault.js';
import { rewrapStaleKeys, rewrapStalePartKeys, type RewrapReport, type StaleKeyStore, type StalePartKeyStore } from './rewrap-stale-keys.js';

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

/**
 * Versions in memory, with the store methods behaving as the MetadataStore contract says:
 * listed by id, strictly after the cursor, at most `limit` and at most `cap` (the adapters cap at 1000).
 */
class MemoryVersions implements StaleKeyStore {
  rows = new Map<string, ArtifactVersion>();
  listCalls = 0;
  cap = 1000;
  /** Ids whose updates all lose a race with another writer. */
  interfere = new Set<string>();
  /** Runs before the next update of a version, once: another writer's change. */
  beforeUpdate = new Map<string, () => void>();
  listVersionsNotUnderTerm(term: number, limit: number, after?: string | null) {
    this.listCalls++;
    const sorted = [...this.rows.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    return Promise.resolve(sorted.filter((v) => v.keyTerm !== term && (after == null || v.id > after)).slice(0, Math.min(limit, this.cap)));
  }
  getVersion(id: string) {
    return Promise.resolve(this.rows.get(id) ?? null);
  }
  rewrapVersionKey(id: string, expectedTerm: number, wrappedKey: Uint8Array, term: number) {
    this.beforeUpdate.get(id)?.();
    this.beforeUpdate.delete(id);
    const row = this.rows.get(id);
    if (row === undefined || row.keyTerm !== expectedTerm || row.wrappedKey === null || this.interfere.has(id)) return Promise.resolve(false);
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

/** Parts of multipart uploads in memory, with the store methods behaving as the S3Store contract says (and a listing cap). */
class MemoryParts implements StalePartKeyStore {
  rows = new Map<string, S3UploadPart>();
  cap = 1000;
  listCalls = 0;
  /** Runs before the next update of a part (`uploadId/partNumber`), once: another writer's change. */
  beforeUpdate = new Map<string, () => void>();
  #sorted() {
    return [...this.rows.values()].sort((a, b) => (a.uploadId === b.uploadId ? a.partNumber - b.partNumber : a.uploadId < b.uploadId ? -1 : 1));
  }
  listPartsNotUnderTerm(term: number, limit: number, after?: Pick<S3UploadPart, 'uploadId' | 'partNumber'> | null) {
    this.listCalls++;
    const isAfter = (p: S3UploadPart) => after == null || p.uploadId > after.uploadId || (p.uploadId === after.uploadId && p.partNumber > after.partNumber);
    return Promise.resolve(this.#sorted().filter((p) => p.keyTerm !== term && isAfter(p)).slice(0, Math.min(limit, this.cap)));
  }
  listParts(uploadId: string, options: { afterPart?: number; limit?: number } = {}) {
    const parts = this.#sorted().filter((p) => p.uploadId === uploadId && p.partNumber > (options.afterPart ?? 0));
    return Promise.resolve(options.limit === undefined ? parts : parts.slice(0, options.limit));
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

/** Parts in memory sealed under the keyring of `t`, with their data keys by object id. */
function partsSetup(t: Awaited<ReturnType<typeof setup>>) {
  const parts = new MemoryParts();
  const dataKeys = new Map<string, Buffer>();
  const sealPart = (uploadId: string, partNumber: number, objectId = `s3p_${uploadId}_${partNumber}`): S3UploadPart => {
    const dataKey = randomBytes(32);
    dataKeys.set(objectId, dataKey);
    const { wrappedKey, keyTerm } = t.keyring.wrapDataKey(objectId, dataKey);
    return { uploadId, partNumber, objectId, blobKey: `objects/00/${objectId}`, wrappedKey, keyTerm, size: 1, md5: '0'.repeat(32), checksums: {}, createdAt: 0 };
  };
  const addPart = (uploadId: string, partNumber: number) => parts.rows.set(`${uploadId}/${partNumber}`, sealPart(uploadId, partNumber));
  return { parts, dataKeys, sealPart, addPart };
}

void test('the data keys of multipart upload parts are rewrapped the same way, bound to their part object', async () => {
  const t = await setup();
  const { parts, dataKeys, sealPart, addPart } = partsSetup(t);
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

/** A copy of `key` with its last byte (in the GCM tag) flipped: it no longer unwraps. */
function corrupted(key: Uint8Array): Buffer {
  const c = Buffer.from(key);
  c[c.length - 1]! ^= 1;
  return c;
}

void test('more failing versions than one listing returns do not hide the stale keys sorted after them', async () => {
  const t = await setup();
  // the adapters cap a listing at 1000 rows: the same shape, smaller
  t.versions.cap = 5;
  const bad = Array.from({ length: 12 }, (_, i) => `ver_a${String(i).padStart(2, '0')}`);
  for (const id of bad) {
    t.add(id);
    t.versions.rows.set(id, { ...t.versions.rows.get(id)!, wrappedKey: corrupted(t.versions.rows.get(id)!.wrappedKey!) });
  }
  for (let i = 0; i < 3; i++) t.add(`ver_b${i}`);
  await t.vault.addKeyTerm();
  const report = await rewrapStaleKeys(t.vault, t.versions);
  assert.deepEqual(report, { rewrapped: 3, shredded: 0, contended: 0, failed: bad });
  for (let i = 0; i < 3; i++) assert.deepEqual(t.keyring.unwrapDataKey(`ver_b${i}`, t.versions.rows.get(`ver_b${i}`)!.wrappedKey!, 2), t.dataKeys.get(`ver_b${i}`));
  assert.equal(t.versions.listCalls, 4, 'one walk: 15 holders in listings of 5, then an empty listing');
});

void test('shredded, failed and contended versions beyond the listing cap are each reported once, and every good one rewrapped', async () => {
  const t = await setup();
  t.versions.cap = 5;
  for (let i = 0; i < 4; i++) t.versions.rows.set(`ver_a${i}`, version(`ver_a${i}`, null, 1));
  for (let i = 0; i < 4; i++) {
    t.add(`ver_b${i}`);
    t.versions.rows.set(`ver_b${i}`, { ...t.versions.rows.get(`ver_b${i}`)!, wrappedKey: corrupted(t.versions.rows.get(`ver_b${i}`)!.wrappedKey!) });
  }
  for (let i = 0; i < 4; i++) {
    t.add(`ver_c${i}`);
    t.versions.interfere.add(`ver_c${i}`);
  }
  for (let i = 0; i < 3; i++) t.add(`ver_d${i}`);
  await t.vault.addKeyTerm();
  const failed = ['ver_b0', 'ver_b1', 'ver_b2', 'ver_b3'];
  const progress: RewrapReport[] = [];
  assert.deepEqual(await rewrapStaleKeys(t.vault, t.versions, { batchSize: 3, onProgress: (r) => progress.push(r) }), { rewrapped: 3, shredded: 4, contended: 4, failed });
  assert.deepEqual(progress.at(-1), { rewrapped: 3, shredded: 4, contended: 4, failed });
  for (let i = 0; i < 3; i++) assert.equal(t.versions.rows.get(`ver_d${i}`)!.keyTerm, 2);
  // a second pass meets the same ones again, and still ends
  assert.deepEqual(await rewrapStaleKeys(t.vault, t.versions), { rewrapped: 0, shredded: 4, contended: 4, failed });
});

void test('a version changed between listing and update is re-read and retried once, right away', async () => {
  const t = await setup();
  for (let i = 1; i <= 4; i++) t.add(`ver_${i}`);
  await t.vault.addKeyTerm();
  // a node that has not seen term 3 yet rewraps ver_2 under term 2 while the pass runs
  const lagging = t.keyring.rewrapDataKey(t.versions.rows.get('ver_2')!.wrappedKey!, 1);
  await t.vault.addKeyTerm();
  // another pass rewraps ver_1 under the current term first: nothing left to do, not counted
  t.versions.beforeUpdate.set('ver_1', () => {
    const row = t.versions.rows.get('ver_1')!;
    t.versions.rows.set('ver_1', { ...row, ...t.keyring.rewrapDataKey(row.wrappedKey!, row.keyTerm) });
  });
  t.versions.beforeUpdate.set('ver_2', () => t.versions.rows.set('ver_2', { ...t.versions.rows.get('ver_2')!, ...lagging }));
  // ver_3 loses every race: contended
  t.versions.interfere.add('ver_3');
  const report = await rewrapStaleKeys(t.vault, t.versions);
  assert.deepEqual(report, { rewrapped: 2, shredded: 0, contended: 1, failed: [] });
  assert.equal(t.versions.listCalls, 2, 'retried without listing again: one listing, then the empty one');
  for (const id of ['ver_1', 'ver_2', 'ver_4']) {
    const row = t.versions.rows.get(id)!;
    assert.equal(row.keyTerm, 3, id);
    assert.deepEqual(t.keyring.unwrapDataKey(id, row.wrappedKey!, 3), t.dataKeys.get(id), id);
  }
  assert.equal(t.versions.rows.get('ver_3')!.keyTerm, 1);
});

void test('a version put back under an old term behind the cursor during a pass is left for the next pass', async () => {
  const t = await setup();
  for (let i = 0; i < 4; i++) t.add(`ver_${i}`);
  const original = t.versions.rows.get('ver_0')!;
  await t.vault.addKeyTerm();
  // while the pass updates ver_3, a writer under the old term rewrites ver_0, which the pass has passed
  t.versions.beforeUpdate.set('ver_3', () => t.versions.rows.set('ver_0', original));
  assert.deepEqual(await rewrapStaleKeys(t.vault, t.versions, { batchSize: 2 }), { rewrapped: 4, shredded: 0, contended: 0, failed: [] });
  assert.equal(t.versions.rows.get('ver_0')!.keyTerm, 1, 'behind the cursor: not seen by this pass');
  assert.deepEqual(await rewrapStaleKeys(t.vault, t.versions, { batchSize: 2 }), { rewrapped: 1, shredded: 0, contended: 0, failed: [] });
  assert.equal(t.versions.rows.get('ver_0')!.keyTerm, 2);
});

void test('a pass aborted between listings rejects, and what it did stays done', async () => {
  const t = await setup();
  t.versions.cap = 5;
  for (let i = 0; i < 12; i++) t.add(`ver_${String(i).padStart(2, '0')}`);
  await t.vault.addKeyTerm();
  const controller = new AbortController();
  const progress: number[] = [];
  const onProgress = (r: RewrapReport) => {
    progress.push(r.rewrapped);
    controller.abort();
  };
  await assert.rejects(rewrapStaleKeys(t.vault, t.versions, { signal: controller.signal, onProgress }), RequestAbortedError);
  assert.deepEqual(progress, [5]);
  assert.equal([...t.versions.rows.values()].filter((v) => v.keyTerm === 2).length, 5);
});

void test('more failing parts than one listing returns do not hide the stale parts sorted after them', async () => {
  const t = await setup();
  const { parts, dataKeys, addPart } = partsSetup(t);
  parts.cap = 5;
  // parts 1..12 of mpu_a (numeric order: 10 after 9) fail, the 3 of mpu_b come after them
  for (let n = 1; n <= 12; n++) {
    addPart('mpu_a', n);
    parts.rows.set(`mpu_a/${n}`, { ...parts.rows.get(`mpu_a/${n}`)!, wrappedKey: corrupted(parts.rows.get(`mpu_a/${n}`)!.wrappedKey) });
  }
  for (let n = 1; n <= 3; n++) addPart('mpu_b', n);
  await t.vault.addKeyTerm();
  const report = await rewrapStalePartKeys(t.vault, parts);
  assert.deepEqual(report, { rewrapped: 3, shredded: 0, contended: 0, failed: Array.from({ length: 12 }, (_, i) => `mpu_a/${i + 1}`) });
  for (let n = 1; n <= 3; n++) {
    const row = parts.rows.get(`mpu_b/${n}`)!;
    assert.equal(row.keyTerm, 2);
    assert.deepEqual(t.keyring.unwrapDataKey(row.objectId, row.wrappedKey, 2), dataKeys.get(row.objectId));
  }
  assert.equal(parts.listCalls, 4, 'one walk: 15 parts in listings of 5, then an empty listing');
});

void test('a source that ignores the cursor makes the pass reject rather than loop', async () => {
  const t = await setup();
  t.versions.cap = 2;
  for (let i = 0; i < 3; i++) {
    t.add(`ver_${i}`);
    t.versions.interfere.add(`ver_${i}`);
  }
  await t.vault.addKeyTerm();
  const list = t.versions.listVersionsNotUnderTerm.bind(t.versions);
  t.versions.listVersionsNotUnderTerm = (term: number, limit: number) => list(term, limit);
  await assert.rejects(rewrapStaleKeys(t.vault, t.versions), { code: 'COFFER_STORAGE_FAILED' });
  assert.equal(t.versions.listCalls, 2);
});
