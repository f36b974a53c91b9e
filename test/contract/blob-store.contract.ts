import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { DigestMismatchError, isCofferError } from '../../src/domain/errors.js';
import type { BlobStore } from '../../src/store/blob-store.js';

/** A stat without its time, for exact comparisons. */
function withoutTime(info: { key: string; size: number; modifiedAt: number } | null): { key: string; size: number } | null {
  return info === null ? null : { key: info.key, size: info.size };
}

/** What a BlobStore adapter test hands to the contract suite. */
export interface BlobStoreHarness {
  store: BlobStore;
  /** Temporary data the adapter holds right now (temp files, incomplete uploads). */
  residue(): Promise<string[]>;
  /** Removes everything the harness created. */
  cleanup(): Promise<void>;
  /**
   * A size that takes the adapter's path for large objects (several parts of a multipart
   * upload); default 12 MiB + 123 bytes.
   */
  largeObjectSize?: number;
}

/**
 * The behaviour every BlobStore adapter must have. Each test uses its own key
 * prefix, so one store instance serves the whole suite.
 */
export function runBlobStoreContract(adapterName: string, open: () => Promise<BlobStoreHarness>, options: { skip?: string | false } = {}): void {
  describe(`BlobStore contract: ${adapterName}`, { skip: options.skip ?? false }, () => {
    let h: BlobStoreHarness;
    let store: BlobStore;
    before(async () => {
      h = await open();
      store = h.store;
    });
    after(async () => {
      await h?.cleanup();
    });

    test('put then get returns the same bytes and stat reports the size', async () => {
      const data = randomBytes(300 * 1024 + 7);
      const stat = await store.put('rt/object-1', chunked(data, 10_000));
      assert.deepEqual(stat, { key: 'rt/object-1', size: data.length });
      assert.ok(sha(await readAll(await store.get('rt/object-1'))) === sha(data));
      assert.deepEqual(withoutTime(await store.stat('rt/object-1')), { key: 'rt/object-1', size: data.length });
      assert.deepEqual(await h.residue(), []);
    });

    test('an empty object round-trips', async () => {
      assert.deepEqual(await store.put('empty/e', Readable.from([])), { key: 'empty/e', size: 0 });
      assert.equal((await readAll(await store.get('empty/e'))).length, 0);
      assert.deepEqual(withoutTime(await store.stat('empty/e')), { key: 'empty/e', size: 0 });
    });

    test('stat reports when the object was stored (the orphaned-blob sweep ages blobs by it)', async () => {
      // stores keep whole seconds at worst (S3's Last-Modified): allow that much either side
      const slack = 2000;
      const started = Date.now();
      const body = new Readable({ read() {} });
      const put = store.put('age/slow', body);
      body.push(randomBytes(1000));
      await new Promise((r) => setTimeout(r, 300));
      body.push(randomBytes(1000));
      body.push(null);
      await put;
      const visible = Date.now();
      const info = await store.stat('age/slow');
      assert.ok(info !== null);
      assert.equal(typeof info.modifiedAt, 'number');
      assert.ok(Number.isSafeInteger(info.modifiedAt), `modifiedAt ${info.modifiedAt} is epoch milliseconds`);
      assert.ok(info.modifiedAt >= started - slack && info.modifiedAt <= visible + slack, `modifiedAt ${info.modifiedAt} within the upload [${started}, ${visible}]`);
      // an older object reports an older time than a newer one written well after it
      await new Promise((r) => setTimeout(r, slack + 200));
      await store.put('age/newer', Readable.from([Buffer.from('x')]));
      assert.ok((await store.stat('age/newer'))!.modifiedAt > info.modifiedAt);
    });

    test('string chunks are stored as utf-8', async () => {
      await store.put('str/s', Readable.from(['héllo ', 'world']));
      assert.equal((await readAll(await store.get('str/s'))).toString('utf8'), 'héllo world');
    });

    test('missing objects: get rejects with NotFoundError, stat is null, delete is a no-op', async () => {
      await assert.rejects(store.get('missing/nope'), code('COFFER_NOT_FOUND'));
      await assert.rejects(store.get('missing/nope', { range: { start: 0, end: 0 } }), code('COFFER_NOT_FOUND'));
      assert.equal(await store.stat('missing/nope'), null);
      await store.delete('missing/nope');
    });

    test('overwriting is refused and keeps the original object', async () => {
      const first = randomBytes(1000);
      await store.put('ow/x', chunked(first, 100));
      await assert.rejects(store.put('ow/x', chunked(randomBytes(2000), 100)), code('COFFER_ALREADY_EXISTS'));
      assert.ok((await readAll(await store.get('ow/x'))).equals(first));
      assert.deepEqual(await h.residue(), []);
    });

    test('keys outside the key alphabet or with empty segments are rejected everywhere', async () => {
      const bad = ['', '../etc/passwd', '/abs', 'a//b', 'a/', 'A', 'a.b', 'a/../b', '.tmp/x', 'a\u0000b', '-a', '_a', 'a b', 'a\\b', 'x'.repeat(2000)];
      for (const key of bad) {
        await assert.rejects(store.put(key, Readable.from([Buffer.from('x')])), code('COFFER_VALIDATION_FAILED'), `put ${JSON.stringify(key)}`);
        await assert.rejects(store.get(key), code('COFFER_VALIDATION_FAILED'), `get ${JSON.stringify(key)}`);
        await assert.rejects(store.stat(key), code('COFFER_VALIDATION_FAILED'), `stat ${JSON.stringify(key)}`);
        await assert.rejects(store.delete(key), code('COFFER_VALIDATION_FAILED'), `delete ${JSON.stringify(key)}`);
      }
      await assert.rejects(collect(store.list('../')), code('COFFER_VALIDATION_FAILED'));
      await assert.rejects(collect(store.list('a//')), code('COFFER_VALIDATION_FAILED'));
      assert.deepEqual(await h.residue(), []);
    });

    test('ranged get returns exactly the inclusive range and clamps the end to the size', async () => {
      const data = randomBytes(200_000);
      await store.put('range/r', chunked(data, 65_536));
      const read = async (start: number, end: number) => readAll(await store.get('range/r', { range: { start, end } }));
      assert.ok((await read(0, 0)).equals(data.subarray(0, 1)));
      assert.ok((await read(1000, 70_000)).equals(data.subarray(1000, 70_001)));
      assert.ok((await read(199_999, 199_999)).equals(data.subarray(199_999)));
      assert.ok((await read(150_000, 10_000_000)).equals(data.subarray(150_000)));
      assert.ok((await read(0, 199_999)).equals(data));
      await assert.rejects(store.get('range/r', { range: { start: 200_000, end: 200_010 } }), code('COFFER_RANGE_NOT_SATISFIABLE'));
      await assert.rejects(store.get('range/r', { range: { start: 10, end: 9 } }), code('COFFER_RANGE_NOT_SATISFIABLE'));
      await assert.rejects(store.get('range/r', { range: { start: -1, end: 9 } }), code('COFFER_RANGE_NOT_SATISFIABLE'));
    });

    test('list yields keys with the prefix in lexical order', async () => {
      const keys = ['ls/a', 'ls/a-b', 'ls/a/c', 'ls/a/b/d', 'ls/ab', 'ls/b/x', 'ls/m/res/1', 'ls/m/resnet/2', 'ls/m/r', 'ls/z_'];
      for (const key of [...keys].reverse()) await store.put(key, Readable.from([Buffer.from(key)]));
      const sorted = [...keys].sort();
      assert.deepEqual(await collect(store.list('ls/')), sorted);
      assert.deepEqual(await collect(store.list('ls')), sorted);
      assert.deepEqual(await collect(store.list('ls/a')), sorted.filter((k) => k.startsWith('ls/a')));
      assert.deepEqual(await collect(store.list('ls/a/')), ['ls/a/b/d', 'ls/a/c']);
      assert.deepEqual(await collect(store.list('ls/m/res')), ['ls/m/res/1', 'ls/m/resnet/2']);
      assert.deepEqual(await collect(store.list('ls/m/res/')), ['ls/m/res/1']);
      assert.deepEqual(await collect(store.list('ls/a/b/d')), ['ls/a/b/d']);
      assert.deepEqual(await collect(store.list('ls/nothing')), []);
      assert.deepEqual(await collect(store.list('nothing-here/')), []);
      const all = await collect(store.list());
      assert.deepEqual(all, [...all].sort(), 'list() is sorted');
      for (const k of keys) assert.ok(all.includes(k));
    });

    test('delete removes the object and the key can be written again', async () => {
      await store.put('del/a/b', Readable.from([Buffer.from('one')]));
      await store.put('del/a/c', Readable.from([Buffer.from('two')]));
      await store.delete('del/a/b');
      assert.equal(await store.stat('del/a/b'), null);
      await assert.rejects(store.get('del/a/b'), code('COFFER_NOT_FOUND'));
      assert.deepEqual(await collect(store.list('del/')), ['del/a/c']);
      await store.delete('del/a/c');
      assert.deepEqual(await collect(store.list('del/')), []);
      await store.put('del/a/b', Readable.from([Buffer.from('three')]));
      assert.equal((await readAll(await store.get('del/a/b'))).toString(), 'three');
    });

    test('an abort mid-stream rejects and leaves no object and no temporary data', async () => {
      const controller = new AbortController();
      const gate = deferred();
      const reached = deferred();
      const source = Readable.from(
        (async function* () {
          yield randomBytes(64 * 1024);
          yield randomBytes(64 * 1024);
          reached.resolve();
          await gate.promise;
          yield randomBytes(64 * 1024);
        })(),
      );
      const put = store.put('abort/a', source, { signal: controller.signal });
      await reached.promise;
      controller.abort();
      await assert.rejects(put, code('COFFER_UPLOAD_ABORTED'));
      gate.resolve();
      assert.equal(await store.stat('abort/a'), null);
      assert.deepEqual(await collect(store.list('abort/')), []);
      assert.deepEqual(await h.residue(), []);
    });

    test('an already aborted signal rejects before anything is written', async () => {
      const controller = new AbortController();
      controller.abort();
      await assert.rejects(store.put('abort/b', Readable.from([Buffer.from('x')]), { signal: controller.signal }), code('COFFER_UPLOAD_ABORTED'));
      assert.equal(await store.stat('abort/b'), null);
      assert.deepEqual(await h.residue(), []);
    });

    test('a failing source stream rejects and leaves nothing behind', async () => {
      const source = Readable.from(
        (async function* () {
          yield randomBytes(100_000);
          throw new Error('connection reset');
        })(),
      );
      await assert.rejects(store.put('fail/a', source), code('COFFER_UPLOAD_ABORTED'));
      assert.equal(await store.stat('fail/a'), null);
      assert.deepEqual(await h.residue(), []);
    });

    test('a catalog error raised by the source passes through unchanged', async () => {
      const source = Readable.from(
        (async function* () {
          yield randomBytes(1000);
          throw new DigestMismatchError();
        })(),
      );
      await assert.rejects(store.put('fail/b', source), (err: unknown) => err instanceof DigestMismatchError);
      assert.equal(await store.stat('fail/b'), null);
      assert.deepEqual(await h.residue(), []);
    });

    test('concurrent puts of different keys all land intact', async () => {
      const bodies = Array.from({ length: 8 }, () => randomBytes(50_000 + Math.floor(Math.random() * 50_000)));
      await Promise.all(bodies.map((b, i) => store.put(`conc/k${i}`, chunked(b, 4096))));
      for (const [i, b] of bodies.entries()) assert.ok((await readAll(await store.get(`conc/k${i}`))).equals(b));
      assert.deepEqual(await h.residue(), []);
    });

    test('concurrent puts of the same key: exactly one wins, whole', async () => {
      const bodies = Array.from({ length: 6 }, () => randomBytes(40_000));
      const results = await Promise.allSettled(bodies.map((b) => store.put('conc/same', chunked(b, 1000))));
      const won = results.filter((r) => r.status === 'fulfilled');
      assert.equal(won.length, 1);
      for (const r of results) if (r.status === 'rejected') assert.equal(errCode(r.reason), 'COFFER_ALREADY_EXISTS');
      const stored = await readAll(await store.get('conc/same'));
      assert.ok(bodies.some((b) => b.equals(stored)), 'stored object is one of the bodies, not a mix');
      assert.deepEqual(await h.residue(), []);
    });

    test('listEntries gives each object with its size and last-modified time, in lexical order', async () => {
      const before = Date.now();
      const sizes = new Map([['entries/b', 10], ['entries/a', 0], ['entries/a/c', 4097], ['entries/z', 1]]);
      for (const [key, size] of sizes) await store.put(key, Readable.from([randomBytes(size)]));
      const after = Date.now();
      const entries = await collectAll(store.listEntries('entries/'));
      assert.deepEqual(entries.map((e) => e.key), [...sizes.keys()].sort());
      assert.deepEqual(await collect(store.list('entries/')), entries.map((e) => e.key), 'list and listEntries agree');
      for (const e of entries) {
        assert.equal(e.size, sizes.get(e.key), e.key);
        // S3 keeps whole seconds: allow the truncation, and a little clock skew
        assert.ok(e.modifiedAt >= before - 2000 && e.modifiedAt <= after + 2000, `${e.key} modified at ${e.modifiedAt}, put between ${before} and ${after}`);
      }
      assert.deepEqual(await collectAll(store.listEntries('entries/a/')), [entries.find((e) => e.key === 'entries/a/c')]);
      await assert.rejects(collectAll(store.listEntries('../')), code('COFFER_VALIDATION_FAILED'));
    });

    test('a large object round-trips through the large-object path, ranges across its parts included', async () => {
      const size = h.largeObjectSize ?? 12 * 1024 * 1024 + 123;
      const data = randomBytes(size);
      assert.deepEqual(await store.put('large/a', chunked(data, 256 * 1024 + 3)), { key: 'large/a', size });
      assert.deepEqual(withoutTime(await store.stat('large/a')), { key: 'large/a', size });
      assert.equal(sha(await readAll(await store.get('large/a'))), sha(data));
      const third = Math.floor(size / 3);
      for (const [start, end] of [[0, 0], [third - 5, third + 5], [size - 10, size + 100], [1, size - 2]] as const) {
        assert.ok((await readAll(await store.get('large/a', { range: { start, end } }))).equals(data.subarray(start, Math.min(end, size - 1) + 1)), `${start}-${end}`);
      }
      assert.deepEqual(await h.residue(), []);
    });

    test('overwriting a large object is refused and keeps the original', async () => {
      const size = h.largeObjectSize ?? 12 * 1024 * 1024 + 123;
      const first = randomBytes(size);
      await store.put('large/ow', chunked(first, 1024 * 1024));
      await assert.rejects(store.put('large/ow', chunked(randomBytes(size), 1024 * 1024)), code('COFFER_ALREADY_EXISTS'));
      assert.equal(sha(await readAll(await store.get('large/ow'))), sha(first));
      assert.deepEqual(await h.residue(), []);
    });

    test('an abort after several parts were sent leaves no object and no incomplete upload', async () => {
      const size = h.largeObjectSize ?? 12 * 1024 * 1024 + 123;
      const controller = new AbortController();
      const gate = deferred();
      const reached = deferred();
      const source = Readable.from(
        (async function* () {
          for (let sent = 0; sent < size; sent += 1024 * 1024) yield randomBytes(1024 * 1024);
          reached.resolve();
          await gate.promise;
          yield randomBytes(1024);
        })(),
      );
      const put = store.put('large/abort', source, { signal: controller.signal });
      await reached.promise;
      controller.abort();
      await assert.rejects(put, code('COFFER_UPLOAD_ABORTED'));
      gate.resolve();
      assert.equal(await store.stat('large/abort'), null);
      assert.deepEqual(await collect(store.list('large/abort')), []);
      assert.deepEqual(await h.residue(), []);
    });

    test('a source failing after several parts rejects and leaves nothing behind', async () => {
      const size = h.largeObjectSize ?? 12 * 1024 * 1024 + 123;
      const source = Readable.from(
        (async function* () {
          for (let sent = 0; sent < size; sent += 1024 * 1024) yield randomBytes(1024 * 1024);
          throw new Error('connection reset');
        })(),
      );
      await assert.rejects(store.put('large/fail', source), code('COFFER_UPLOAD_ABORTED'));
      assert.equal(await store.stat('large/fail'), null);
      assert.deepEqual(await h.residue(), []);
    });

    test('get honours its abort signal mid-read', async () => {
      await store.put('abort/read', chunked(randomBytes(512 * 1024), 65_536));
      const controller = new AbortController();
      const stream = await store.get('abort/read', { signal: controller.signal });
      const failed = (async () => {
        for await (const _chunk of stream) controller.abort();
      })();
      await assert.rejects(failed, code('COFFER_REQUEST_ABORTED'));
    });

    test('a reader that stops early does not block later operations', async () => {
      await store.put('early/x', chunked(randomBytes(512 * 1024), 65_536));
      for (let i = 0; i < 20; i++) {
        const stream = await store.get('early/x');
        for await (const _chunk of stream) break;
      }
      await store.delete('early/x');
      assert.equal(await store.stat('early/x'), null);
    });
  });
}

function chunked(data: Buffer, size: number): Readable {
  const parts: Buffer[] = [];
  for (let i = 0; i < data.length; i += size) parts.push(data.subarray(i, i + size));
  return Readable.from(parts);
}

async function readAll(stream: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of stream) parts.push(chunk as Buffer);
  return Buffer.concat(parts);
}

async function collect(it: AsyncIterable<string>): Promise<string[]> {
  return collectAll(it);
}

async function collectAll<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const k of it) out.push(k);
  return out;
}

function sha(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex');
}

function errCode(err: unknown): string | undefined {
  return isCofferError(err) ? err.code : undefined;
}

function code(expected: string) {
  return (err: unknown) => {
    assert.equal(errCode(err), expected, `expected ${expected}, got ${String(err)}`);
    return true;
  };
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}
