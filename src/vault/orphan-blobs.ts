import { idTime } from '../domain/ids.js';
import type { BlobStore } from '../store/blob-store.js';

/** Every blob the vault makes lives under this prefix (blob-key.ts); nothing else is ever swept. */
export const VAULT_BLOB_PREFIX = 'objects/';
/** Longest commit margin: a blob is committed within this of its seal ending. */
const MAX_COMMIT_MARGIN_MS = 3600_000;
/** The sweep runs at most this often... */
const MAX_INTERVAL_MS = 3600_000;
/** ...and at least this far apart. */
const MIN_INTERVAL_MS = 1000;

/**
 * How old an unreferenced blob must be before it is surely orphaned: the longest
 * possible upload (a seal is cut after `maxUploadMs`, so no blob becomes visible later
 * than that after its upload began), plus as long again, at most an hour, for the
 * version or part row that would point at it to be committed.
 */
export function orphanGraceMs(maxUploadMs: number): number {
  return maxUploadMs + Math.min(maxUploadMs, MAX_COMMIT_MARGIN_MS);
}

/** How often the sweep runs for a grace period: a quarter of it, between a second and an hour. */
export function orphanSweepIntervalMs(graceMs: number): number {
  return Math.min(MAX_INTERVAL_MS, Math.max(MIN_INTERVAL_MS, Math.floor(graceMs / 4)));
}

/** What the orphaned-blob sweep works with: the BlobStore port only, and the metadata's word on references. */
export interface OrphanSweepDeps {
  blobStore: Pick<BlobStore, 'listEntries' | 'delete'>;
  /** True if a version or a part of an open multipart upload has its bytes in `blobKey`. */
  isReferenced: (blobKey: string) => Promise<boolean>;
  clock: () => number;
  /** See {@link orphanGraceMs}. */
  graceMs: number;
  /** Checked between blobs: a sweep stops early once it returns true (shutdown). */
  stopped?: () => boolean;
}

/** What one sweep did. */
export interface OrphanSweepReport {
  /** Vault blobs looked at. */
  scanned: number;
  /** Keys removed. */
  removed: string[];
}

/**
 * Removes the vault's blobs that nothing points to and that are older than the grace
 * period: complete ciphertext left by a crash (kill -9) between the blob becoming
 * visible and its version (or part) row being committed, or between a row's removal and
 * its blob's. Such a blob can never be read (its data key was only ever in that row).
 *
 * A blob is kept if a version or an open upload's part references it, or if it is young
 * by EITHER clock: the store's (when it was stored) and the writer node's (the time in
 * its object id). Uploads in progress are invisible (temp files, unfinished multipart
 * uploads) and, once visible, are younger than the grace period until their row is
 * committed. The reference is checked again right before the delete.
 * Uses only the BlobStore port (`listEntries`, `delete`), so every adapter supports it; the
 * listing carries each object's storage time, so an S3 store needs no HEAD per object.
 */
export async function sweepOrphanBlobs(deps: OrphanSweepDeps): Promise<OrphanSweepReport> {
  // ages are measured from the start: a long sweep is more careful, never less
  const cutoff = deps.clock() - deps.graceMs;
  const report: OrphanSweepReport = { scanned: 0, removed: [] };
  for await (const { key, modifiedAt } of deps.blobStore.listEntries(VAULT_BLOB_PREFIX)) {
    if (deps.stopped?.() === true) break;
    report.scanned++;
    const objectId = key.slice(key.lastIndexOf('/') + 1);
    const made = idTime(objectId);
    // INVARIANT: what the vault did not name (no id time) is not the sweep's to judge
    if (made === null || made > cutoff) continue;
    if (modifiedAt > cutoff) continue;
    if (await deps.isReferenced(key)) continue;
    // INVARIANT: re-checked right before the delete (a commit may have landed meanwhile)
    if (await deps.isReferenced(key)) continue;
    await deps.blobStore.delete(key);
    report.removed.push(key);
  }
  return report;
}

/**
 * Runs {@link sweepOrphanBlobs} at start and then every `intervalMs`, one run at a time,
 * in the background (never on a request path). `onReport` hears of runs that removed
 * something, `onError` of runs that failed (the next run tries again).
 */
export function startOrphanSweeps(
  deps: Omit<OrphanSweepDeps, 'stopped'>,
  options: { intervalMs: number; onReport: (report: OrphanSweepReport) => Promise<void>; onError: (err: unknown) => void },
): { close(): Promise<void> } {
  let closed = false;
  let running: Promise<void> | null = null;
  const run = () => {
    if (closed || running !== null) return;
    running = (async () => {
      try {
        const report = await sweepOrphanBlobs({ ...deps, stopped: () => closed });
        if (report.removed.length > 0) await options.onReport(report);
      } catch (err) {
        options.onError(err);
      } finally {
        running = null;
      }
    })();
  };
  const timer = setInterval(run, options.intervalMs);
  timer.unref();
  // at start too: a crash leaves its orphans for the restarted node to find
  setImmediate(run);
  return {
    async close() {
      closed = true;
      clearInterval(timer);
      await running;
    },
  };
}
