import { randomBytes } from 'node:crypto';
import { link, mkdir, open, readdir, rm, rmdir, stat, unlink, type FileHandle } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import {
  AlreadyExistsError,
  NotFoundError,
  RangeNotSatisfiableError,
  RequestAbortedError,
  UploadAbortedError,
  isCofferError,
} from '../../domain/errors.js';
import { assertBlobKey, assertBlobPrefix, isBlobKey } from '../blob-key.js';
import { destroySafely } from '../../streams/index.js';
import { pipeBlobRead } from '../read-stream.js';
import { SourceReader } from '../upload-source.js';
import type { BlobInfo, BlobStat, BlobStore, ByteRange } from '../blob-store.js';
import { errnoCode, isMissing, mapFsError } from './fs-errors.js';

/** Object files carry this suffix; keys never contain `.`, so a file never collides with a directory. */
const OBJECT_SUFFIX = '.blob';
/** Temp files live here, on the same filesystem as the objects so a rename/link is atomic. */
const TMP_DIR = '.tmp';
// large reads: with 64 KiB chunks the read path alone capped encrypted downloads near 0.65 GiB/s
const READ_CHUNK = 1024 * 1024;
/** A concurrent delete may remove a parent directory between mkdir and link: retry that many times. */
const PUBLISH_ATTEMPTS = 5;

/**
 * BlobStore on a local directory. An object `a/b/c` is the file `<root>/a/b/c.blob`.
 *
 * Writes go to `<root>/.tmp/<random>`, are fsynced, then hard-linked into place (which
 * refuses to overwrite) and the directory is fsynced: a crash never leaves a partial
 * object visible, only a temp file that {@link FsBlobStore.sweepTemp} removes at boot.
 *
 * TRUST: the directory is untrusted storage of ciphertext (see BlobStore); this adapter
 * only guarantees that keys cannot escape `rootDir`.
 */
export class FsBlobStore implements BlobStore {
  readonly #root: string;
  readonly #tmp: string;

  /** `rootDir` is created on first write if missing. */
  constructor(rootDir: string) {
    this.#root = resolve(rootDir);
    this.#tmp = join(this.#root, TMP_DIR);
  }

  /**
   * Removes leftover temp files (from a crash or kill -9) and returns how many were
   * removed. Call at boot before serving; with `olderThanMs`, only files last modified
   * that long ago are removed (when several processes share the directory).
   */
  async sweepTemp(options: { olderThanMs?: number } = {}): Promise<number> {
    const olderThanMs = options.olderThanMs ?? 0;
    try {
      await mkdir(this.#tmp, { recursive: true });
      const cutoff = Date.now() - olderThanMs;
      let removed = 0;
      for (const name of await readdir(this.#tmp)) {
        const path = join(this.#tmp, name);
        if (olderThanMs > 0) {
          const info = await stat(path).catch(() => null);
          if (info === null || info.mtimeMs > cutoff) continue;
        }
        await rm(path, { force: true, recursive: true });
        removed++;
      }
      return removed;
    } catch (err) {
      throw mapFsError(err, 'sweep temp');
    }
  }

  async put(key: string, body: Readable, options: { signal?: AbortSignal } = {}): Promise<BlobStat> {
    const { signal } = options;
    try {
      assertBlobKey(key);
      if (signal?.aborted) throw new UploadAbortedError(undefined, { detail: 'signal aborted before the upload started' });
      const final = this.#pathOf(key);
      if (await exists(final)) throw alreadyExists(key);
    } catch (err) {
      body.destroy();
      throw isCofferError(err) ? err : mapFsError(err, 'put');
    }

    const tmp = join(this.#tmp, randomBytes(16).toString('hex'));
    let handle: FileHandle | undefined;
    let tmpCreated = false;
    try {
      await mkdir(this.#tmp, { recursive: true });
      // 0600: ciphertext only, but nobody else on the host needs to read it
      handle = await open(tmp, 'wx', 0o600);
      tmpCreated = true;
      const reader = new SourceReader(body);
      // a stuck source cannot hold the put open once the signal fires: the abort rejects the pending read
      const onAbortSignal = () => {
        const err = new UploadAbortedError(undefined, { detail: 'signal aborted during the upload' });
        reader.cancel(err);
        destroySafely(body, err);
      };
      signal?.addEventListener('abort', onAbortSignal, { once: true });
      let size = 0;
      try {
        for (let chunk = await reader.next(signal); chunk !== null; chunk = await reader.next(signal)) {
          await writeAll(handle, chunk);
          size += chunk.byteLength;
        }
      } finally {
        signal?.removeEventListener('abort', onAbortSignal);
      }
      await handle.sync();
      await handle.close();
      handle = undefined;
      if (signal?.aborted) throw new UploadAbortedError(undefined, { detail: 'signal aborted before the object was published' });
      await this.#publish(tmp, key);
      tmpCreated = false;
      return { key, size };
    } catch (err) {
      body.destroy();
      throw isCofferError(err) ? err : mapFsError(err, 'put');
    } finally {
      await handle?.close().catch(() => undefined);
      if (tmpCreated) await unlink(tmp).catch(() => undefined);
    }
  }

  async get(key: string, options: { range?: ByteRange; signal?: AbortSignal } = {}): Promise<Readable> {
    assertBlobKey(key);
    const { range, signal } = options;
    if (signal?.aborted) throw new RequestAbortedError();
    let handle: FileHandle;
    try {
      handle = await open(this.#pathOf(key), 'r');
    } catch (err) {
      if (isMissing(err)) throw new NotFoundError(`blob \`${key}\` not found`);
      throw mapFsError(err, 'get');
    }
    let start = 0;
    let end: number | undefined;
    try {
      const { size } = await handle.stat();
      if (range !== undefined) {
        if (
          !Number.isSafeInteger(range.start) ||
          !Number.isSafeInteger(range.end) ||
          range.start < 0 ||
          range.end < range.start ||
          range.start >= size
        ) {
          throw new RangeNotSatisfiableError(undefined, { detail: `range ${range.start}-${range.end} of blob of ${size} bytes` });
        }
        start = range.start;
        end = Math.min(range.end, size - 1);
      } else if (size > 0) {
        // a known end bounds each read buffer by what is left (else every read, even of a
        // 4 KiB object, allocates a whole READ_CHUNK), and spares the read that finds EOF
        end = size - 1;
      }
    } catch (err) {
      await handle.close().catch(() => undefined);
      throw isCofferError(err) ? err : mapFsError(err, 'get');
    }

    const file = handle.createReadStream({ start, end, highWaterMark: READ_CHUNK, autoClose: true });
    return pipeBlobRead(file, new PassThrough({ highWaterMark: READ_CHUNK }), signal, (err) => mapFsError(err, 'read'));
  }

  async stat(key: string): Promise<BlobInfo | null> {
    assertBlobKey(key);
    try {
      const info = await stat(this.#pathOf(key));
      // the link keeps the temp file's times: its last write, just before it became visible
      return info.isFile() ? { key, size: info.size, modifiedAt: Math.floor(info.mtimeMs) } : null;
    } catch (err) {
      if (isMissing(err)) return null;
      throw mapFsError(err, 'stat');
    }
  }

  async delete(key: string): Promise<void> {
    assertBlobKey(key);
    const path = this.#pathOf(key);
    try {
      await unlink(path);
    } catch (err) {
      if (isMissing(err)) return;
      throw mapFsError(err, 'delete');
    }
    try {
      await fsyncDir(dirname(path));
    } catch (err) {
      throw mapFsError(err, 'delete');
    }
    await this.#pruneEmptyDirs(dirname(path));
  }

  async *list(prefix = ''): AsyncIterable<string> {
    for await (const found of this.#found(prefix)) yield found.key;
  }

  async *listEntries(prefix = ''): AsyncIterable<BlobInfo> {
    for await (const { key, path } of this.#found(prefix)) {
      let info;
      try {
        info = await stat(path);
      } catch (err) {
        if (isMissing(err)) continue; // deleted since the directory was read
        throw mapFsError(err, 'list');
      }
      if (info.isFile()) yield { key, size: info.size, modifiedAt: Math.floor(info.mtimeMs) };
    }
  }

  /** Objects whose keys start with `prefix`, in lexical order, with their file paths. */
  async *#found(prefix: string): AsyncGenerator<{ key: string; path: string }> {
    assertBlobPrefix(prefix);
    const slash = prefix.lastIndexOf('/');
    const dirKey = slash >= 0 ? prefix.slice(0, slash + 1) : '';
    const dir = dirKey === '' ? this.#root : join(this.#root, ...dirKey.split('/').filter((s) => s !== ''));
    yield* this.#walk(dir, dirKey, prefix);
  }

  /** Yields objects under `dir` (whose keys start with `dirKey`) that start with `prefix`, in lexical order. */
  async *#walk(dir: string, dirKey: string, prefix: string): AsyncGenerator<{ key: string; path: string }> {
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (err) {
      if (isMissing(err)) return;
      throw mapFsError(err, 'list');
    }
    const items: { sortKey: string; name: string; isDir: boolean }[] = [];
    for (const entry of entries) {
      // temp files, stray files and anything that is not a valid key segment are not objects
      if (entry.isDirectory()) {
        if (isBlobKey(`${dirKey}${entry.name}`)) items.push({ sortKey: `${dirKey}${entry.name}/`, name: entry.name, isDir: true });
      } else if (entry.isFile() && entry.name.endsWith(OBJECT_SUFFIX)) {
        const key = dirKey + entry.name.slice(0, -OBJECT_SUFFIX.length);
        if (isBlobKey(key)) items.push({ sortKey: key, name: entry.name, isDir: false });
      }
    }
    // INVARIANT: sorting siblings by key (directories as `name/`) yields the keys of the
    // whole tree in lexical order, since every key below a directory starts with `name/`.
    items.sort((a, b) => (a.sortKey < b.sortKey ? -1 : a.sortKey > b.sortKey ? 1 : 0));
    for (const item of items) {
      if (item.isDir) {
        if (item.sortKey.startsWith(prefix) || prefix.startsWith(item.sortKey)) {
          yield* this.#walk(join(dir, item.name), item.sortKey, prefix);
        }
      } else if (item.sortKey.startsWith(prefix)) {
        yield { key: item.sortKey, path: join(dir, item.name) };
      }
    }
  }

  /** Links the synced temp file to the object path (refusing to overwrite) and syncs directories. */
  async #publish(tmp: string, key: string): Promise<void> {
    const final = this.#pathOf(key);
    const parent = dirname(final);
    for (let attempt = 1; ; attempt++) {
      const created = await mkdir(parent, { recursive: true });
      try {
        // link(2) fails with EEXIST instead of replacing: overwrites are refused atomically
        await link(tmp, final);
      } catch (err) {
        if (errnoCode(err) === 'EEXIST') throw alreadyExists(key);
        if (errnoCode(err) === 'ENOENT' && attempt < PUBLISH_ATTEMPTS) continue;
        throw err;
      }
      try {
        await unlink(tmp);
        const toSync = [parent];
        if (created !== undefined) {
          const top = dirname(created);
          for (let dir = parent; dir !== top && dir !== this.#root; ) {
            dir = dirname(dir);
            toSync.push(dir);
          }
        }
        for (const dir of toSync) await fsyncDir(dir);
      } catch (err) {
        // the put is failing: do not leave behind an object whose durability is unknown
        await unlink(final).catch(() => undefined);
        throw err;
      }
      return;
    }
  }

  /** Removes now-empty directories from `dir` up to (not including) the root. */
  async #pruneEmptyDirs(dir: string): Promise<void> {
    for (let d = dir; d !== this.#root && d.startsWith(this.#root); d = dirname(d)) {
      try {
        await rmdir(d);
      } catch {
        return; // not empty (or already gone): a concurrent put may be filling it
      }
    }
  }

  #pathOf(key: string): string {
    // INVARIANT: key was validated by assertBlobKey: segments of [a-z0-9_-], none empty
    return join(this.#root, ...key.split('/')) + OBJECT_SUFFIX;
  }
}

function alreadyExists(key: string): AlreadyExistsError {
  return new AlreadyExistsError(`blob \`${key}\` already exists`);
}

async function writeAll(handle: FileHandle, chunk: Uint8Array): Promise<void> {
  let offset = 0;
  while (offset < chunk.byteLength) {
    const { bytesWritten } = await handle.write(chunk, offset, chunk.byteLength - offset);
    offset += bytesWritten;
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (err) {
    if (isMissing(err)) return false;
    throw err;
  }
}

async function fsyncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } catch (err) {
    // some filesystems cannot fsync a directory; there is nothing stronger to do there
    if (errnoCode(err) !== 'EINVAL') throw err;
  } finally {
    await handle.close();
  }
}
