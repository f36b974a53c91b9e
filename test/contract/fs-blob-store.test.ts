import assert from 'node:assert/strict';
import { mkdtemp, mkdir, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { FsBlobStore } from '../../src/store/fs/fs-blob-store.js';
import { runBlobStoreContract } from './blob-store.contract.js';

async function tempFiles(root: string): Promise<string[]> {
  try {
    return await readdir(join(root, '.tmp'));
  } catch {
    return [];
  }
}

runBlobStoreContract('fs', async () => {
  const root = await mkdtemp(join(tmpdir(), 'coffer-blob-'));
  const store = new FsBlobStore(root);
  await store.sweepTemp();
  return {
    store,
    residue: () => tempFiles(root),
    cleanup: () => rm(root, { recursive: true, force: true }),
  };
});

describe('FsBlobStore specifics', () => {
  let root: string;
  let store: FsBlobStore;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'coffer-blob-fs-'));
    store = new FsBlobStore(root);
  });
  after(() => rm(root, { recursive: true, force: true }));

  test('sweepTemp removes leftovers of a crashed write and keeps objects', async () => {
    await store.put('keep/me', Readable.from([Buffer.from('data')]));
    await mkdir(join(root, '.tmp'), { recursive: true });
    await writeFile(join(root, '.tmp', 'deadbeef'), 'partial');
    await writeFile(join(root, '.tmp', 'cafebabe'), 'partial');
    assert.equal(await store.sweepTemp(), 2);
    assert.deepEqual(await tempFiles(root), []);
    assert.equal((await store.stat('keep/me'))?.size, 4);
    assert.equal(await store.sweepTemp(), 0);
  });

  test('sweepTemp with olderThanMs spares fresh temp files', async () => {
    await writeFile(join(root, '.tmp', 'fresh'), 'in flight');
    assert.equal(await store.sweepTemp({ olderThanMs: 60_000 }), 0);
    assert.deepEqual(await tempFiles(root), ['fresh']);
    assert.equal(await store.sweepTemp(), 1);
  });

  test('a temp file exists while a put streams, and is gone once it resolves', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let reached!: () => void;
    const atGate = new Promise<void>((r) => (reached = r));
    const put = store.put(
      'inflight/x',
      Readable.from(
        (async function* () {
          yield Buffer.alloc(1024, 1);
          reached();
          await gate;
          yield Buffer.alloc(1024, 2);
        })(),
      ),
    );
    await atGate;
    assert.equal((await tempFiles(root)).length, 1, 'the write goes to .tmp first');
    assert.equal(await store.stat('inflight/x'), null, 'nothing is visible before the put resolves');
    release();
    assert.deepEqual(await put, { key: 'inflight/x', size: 2048 });
    assert.deepEqual(await tempFiles(root), []);
  });

  test('objects are files under the root with owner-only permissions', async () => {
    await store.put('layout/a/b', Readable.from([Buffer.from('x')]));
    const info = await stat(join(root, 'layout', 'a', 'b.blob'));
    assert.ok(info.isFile());
    assert.equal(info.mode & 0o777, 0o600);
  });

  test('a key and a longer key under it coexist', async () => {
    await store.put('nest/a', Readable.from([Buffer.from('1')]));
    await store.put('nest/a/b', Readable.from([Buffer.from('2')]));
    assert.deepEqual([(await store.stat('nest/a'))?.key, (await store.stat('nest/a'))?.size], ['nest/a', 1]);
    assert.deepEqual([(await store.stat('nest/a/b'))?.key, (await store.stat('nest/a/b'))?.size], ['nest/a/b', 1]);
  });

  test('delete prunes directories it leaves empty', async () => {
    await store.put('prune/deep/er/x', Readable.from([Buffer.from('x')]));
    await store.delete('prune/deep/er/x');
    await assert.rejects(stat(join(root, 'prune')), { code: 'ENOENT' });
  });

  test('stray files in the root are not listed as objects', async () => {
    await writeFile(join(root, 'README.txt'), 'not an object');
    await writeFile(join(root, 'stray'), 'no suffix');
    const keys: string[] = [];
    for await (const k of store.list()) keys.push(k);
    assert.ok(!keys.some((k) => k.includes('README') || k === 'stray'));
  });
});
