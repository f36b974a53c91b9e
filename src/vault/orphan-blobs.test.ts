import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { base32, newId } from '../domain/ids.js';
import { FsBlobStore } from '../store/fs/fs-blob-store.js';
import { blobKeyFor } from './blob-key.js';
import { orphanGraceMs, orphanSweepIntervalMs, startOrphanSweeps, sweepOrphanBlobs } from './orphan-blobs.js';

const HOUR = 3600_000;

/** An id as newId makes it, but born at `ms`. */
function idBornAt(prefix: string, ms: number): string {
  const bytes = randomBytes(16);
  bytes.writeUIntBE(ms, 0, 6);
  return `${prefix}_${base32(bytes, '0123456789abcdefghjkmnpqrstvwxyz')}`;
}

async function setup() {
  const root = await mkdtemp(join(tmpdir(), 'coffer-orphans-'));
  const store = new FsBlobStore(root);
  const now = Date.now();
  /** Writes a blob and sets its stored time (the file's mtime) to `storedAt`. */
  const blob = async (key: string, storedAt: number) => {
    await store.put(key, Readable.from([Buffer.from('ciphertext')]));
    const path = join(root, ...key.split('/')) + '.blob';
    await utimes(path, storedAt / 1000, storedAt / 1000);
    return key;
  };
  return { root, store, now, blob, cleanup: () => rm(root, { recursive: true, force: true }) };
}

void test('the grace period is the longest upload plus a commit margin; the interval a quarter of it, within bounds', () => {
  assert.equal(orphanGraceMs(24 * HOUR), 25 * HOUR);
  assert.equal(orphanGraceMs(1000), 2000);
  assert.equal(orphanSweepIntervalMs(25 * HOUR), HOUR);
  assert.equal(orphanSweepIntervalMs(2000), 1000);
  assert.equal(orphanSweepIntervalMs(40_000), 10_000);
});

void test('only old, unreferenced vault blobs go; references, youth by either clock, other prefixes and temp files stay', async () => {
  const t = await setup();
  try {
    const graceMs = 2 * HOUR;
    const old = t.now - 3 * HOUR;
    const orphan = await t.blob(blobKeyFor(idBornAt('ver', old)), old);
    const orphanPart = await t.blob(blobKeyFor(idBornAt('s3p', old)), old);
    const version = await t.blob(blobKeyFor(idBornAt('ver', old)), old);
    const openPart = await t.blob(blobKeyFor(idBornAt('s3p', old)), old);
    // stored recently (a long upload just published, not yet committed)
    const freshByStore = await t.blob(blobKeyFor(idBornAt('ver', old)), t.now - 60_000);
    // the store's clock says old, the writer's id says young (clock skew between them)
    const freshById = await t.blob(blobKeyFor(newId('ver')), old);
    // not the vault's: another prefix, or a name the vault did not make
    const foreign = await t.blob('other/thing', old);
    const unnamed = await t.blob('objects/zz/not-an-id', old);
    // an upload in progress: a temp file, invisible to list
    await mkdir(join(t.root, '.tmp'), { recursive: true });
    await writeFile(join(t.root, '.tmp', 'inflight'), 'partial');
    // a commit landing between the first look and the delete
    const committing = await t.blob(blobKeyFor(idBornAt('ver', old)), old);
    let looks = 0;

    const referenced = new Set([version, openPart]);
    const report = await sweepOrphanBlobs({
      blobStore: t.store,
      clock: () => t.now,
      graceMs,
      isReferenced: async (key) => {
        if (key === committing) return looks++ > 0;
        return referenced.has(key);
      },
    });
    assert.deepEqual(report.removed.sort(), [orphan, orphanPart].sort());
    assert.equal(report.scanned, 8);
    for (const key of [version, openPart, freshByStore, freshById, foreign, unnamed, committing]) assert.notEqual(await t.store.stat(key), null, `${key} is kept`);
    for (const key of [orphan, orphanPart]) assert.equal(await t.store.stat(key), null, `${key} is gone`);
    assert.deepEqual(await readdir(join(t.root, '.tmp')), ['inflight'], 'uploads in progress are never touched');
  } finally {
    await t.cleanup();
  }
});

void test('the background sweeps run at start and on their interval, report what they removed, and stop on close', async () => {
  const t = await setup();
  try {
    const reports: string[][] = [];
    const errors: unknown[] = [];
    const first = await t.blob(blobKeyFor(idBornAt('ver', t.now - HOUR)), t.now - HOUR);
    const sweeps = startOrphanSweeps(
      { blobStore: t.store, clock: () => Date.now(), graceMs: 1000, isReferenced: async () => false },
      { intervalMs: 50, onReport: async (r) => void reports.push(r.removed), onError: (e) => void errors.push(e) },
    );
    const deadline = Date.now() + 5000;
    while (reports.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(reports[0], [first], 'the run at start removed the orphan');
    const second = await t.blob(blobKeyFor(idBornAt('ver', t.now - HOUR)), t.now - HOUR);
    while (reports.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(reports[1], [second], 'a later run removed the next one');
    await sweeps.close();
    const third = await t.blob(blobKeyFor(idBornAt('ver', t.now - HOUR)), t.now - HOUR);
    await new Promise((r) => setTimeout(r, 200));
    assert.notEqual(await t.store.stat(third), null, 'no sweep after close');
    assert.deepEqual(errors, []);
  } finally {
    await t.cleanup();
  }
});
