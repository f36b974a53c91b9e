import { createHash } from 'node:crypto';
import type { BlobInfo, BlobStore } from '../../store/index.js';

/** What the blob phase copied or checked. */
export interface BlobTally {
  count: number;
  bytes: number;
}

/** One blob that is not the same on both sides. */
export interface BlobMismatch {
  key: string;
  reason: string;
}

const CONCURRENCY = 4;

/** Runs `work` over `items` with at most CONCURRENCY at once; the first failure rejects. */
async function eachLimited<T>(items: AsyncIterable<T>, work: (item: T) => Promise<void>): Promise<void> {
  const running = new Set<Promise<void>>();
  let failure: Error | null = null;
  for await (const item of items) {
    if (failure !== null) break;
    const p: Promise<void> = work(item).then(
      () => void running.delete(p),
      (err: unknown) => {
        running.delete(p);
        failure ??= err instanceof Error ? err : new Error(String(err));
      },
    );
    running.add(p);
    if (running.size >= CONCURRENCY) await Promise.race(running);
  }
  await Promise.all(running);
  // the callbacks above assign it: read it through its declared type, not the narrowed `null`
  const first = failure as Error | null;
  if (first !== null) throw first;
}

/**
 * Copies every object of `source` that `target` lacks, byte for byte (ciphertext as it
 * is: nothing is decrypted). An object already in the target (from an interrupted run)
 * is left for verifyBlobs to compare. `progress` is told of each object.
 */
export async function copyBlobs(source: BlobStore, target: BlobStore, progress: (copied: BlobTally) => void): Promise<BlobTally> {
  const tally: BlobTally = { count: 0, bytes: 0 };
  await eachLimited(source.listEntries(), async (entry: BlobInfo) => {
    if ((await target.stat(entry.key)) === null) await target.put(entry.key, await source.get(entry.key));
    tally.count++;
    tally.bytes += entry.size;
    progress(tally);
  });
  return tally;
}

async function sha256Of(store: BlobStore, key: string): Promise<{ digest: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of await store.get(key)) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { digest: hash.digest('hex'), size };
}

/**
 * Reads every object back from both stores and compares SHA-256 and size; also reports
 * objects of the target the source does not have. Returns the mismatches (none = equal).
 */
export async function verifyBlobs(source: BlobStore, target: BlobStore): Promise<{ tally: BlobTally; mismatches: BlobMismatch[] }> {
  const tally: BlobTally = { count: 0, bytes: 0 };
  const mismatches: BlobMismatch[] = [];
  const seen = new Set<string>();
  await eachLimited(source.listEntries(), async (entry: BlobInfo) => {
    seen.add(entry.key);
    const want = await sha256Of(source, entry.key);
    if ((await target.stat(entry.key)) === null) {
      mismatches.push({ key: entry.key, reason: 'missing in the target' });
      return;
    }
    const got = await sha256Of(target, entry.key);
    if (got.digest !== want.digest || got.size !== want.size) mismatches.push({ key: entry.key, reason: `differs: source sha256 ${want.digest} (${want.size} B), target ${got.digest} (${got.size} B)` });
    tally.count++;
    tally.bytes += want.size;
  });
  for await (const key of target.list()) if (!seen.has(key)) mismatches.push({ key, reason: 'in the target only' });
  return { tally, mismatches };
}

/** Whether the store holds any object. */
export async function hasBlobs(store: BlobStore): Promise<boolean> {
  for await (const _ of store.list()) return true;
  return false;
}
