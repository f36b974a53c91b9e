import { join } from 'node:path';
import type { Config } from '../config/index.js';
import { FsBlobStore, type BlobStore } from '../store/index.js';

/** An open blob store, with what the composition root needs besides the port. */
export interface OpenedBlobStore {
  store: BlobStore;
  /** Rejects when the store cannot serve (the S3 bucket does not answer); part of `/v1/ready`. */
  ready(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Multipart uploads older than this are a crash's leftovers: removed at start. (A node
 * never aborts a younger one: it may be another node's upload in flight.)
 */
const STALE_UPLOAD_MS = 24 * 3600_000;

/**
 * Opens the configured blob store: `dataDir/blobs` (embedded default; temp files of a
 * crash are swept) or an S3-compatible bucket (the bucket must answer with the configured
 * credentials, else the node does not start; stale multipart uploads are aborted).
 */
export async function openBlobStore(config: Config, warn: (message: string, detail: Record<string, unknown>) => void): Promise<OpenedBlobStore> {
  const settings = config.blobStore;
  if (settings.kind === 'fs') {
    const store = new FsBlobStore(join(config.dataDir, 'blobs'));
    // a crash (kill -9) mid-upload leaves only temp files: remove them before serving
    await store.sweepTemp();
    return { store, ready: () => Promise.resolve(), close: () => Promise.resolve() };
  }
  // loaded only here: the AWS SDK costs seconds of start-up to nodes that do not use it
  const { openS3BlobStore } = await import('../store/s3/index.js');
  const store = await openS3BlobStore(settings);
  try {
    const swept = await store.sweepIncomplete({ olderThanMs: STALE_UPLOAD_MS });
    if (swept > 0) warn('blob store: aborted multipart uploads a crash left', { count: swept });
  } catch (err) {
    // leftovers only cost space: a failed sweep must not keep the node from serving
    warn('blob store: the sweep of stale multipart uploads failed', { error: err instanceof Error ? err.message : String(err) });
  }
  return { store, ready: () => store.ping(), close: async () => store.close() };
}
