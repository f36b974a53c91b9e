import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Keyring, type KeyringStore } from '../crypto/index.js';
import { RequestAbortedError } from '../domain/errors.js';
import type { ArtifactVersion } from '../domain/types.js';
import type { BlobStore } from '../store/blob-store.js';
import { EncryptingVault } from './encrypting-vault.js';
import { rewrapStaleKeys, type StaleKeyStore } from './rewrap-stale-keys.js';

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
