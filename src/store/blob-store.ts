import type { Readable } from 'node:stream';

/** Inclusive byte range, as in HTTP: `end` is the last byte wanted. */
export interface ByteRange {
  start: number;
  end: number;
}

export interface BlobStat {
  key: string;
  size: number;
}

/** One listed object: its key, size and when it was last written. */
export interface BlobEntry {
  key: string;
  size: number;
  /**
   * When the object became visible, in milliseconds since the epoch (the store's clock:
   * the file's mtime, the S3 `LastModified`, with its one-second precision). A sweep of
   * unreferenced blobs uses it to spare objects younger than an upload in flight.
   */
  modifiedAt: number;
}

/**
 * BlobStore is where ciphertext lives.
 *
 * TRUST: the blob store is completely untrusted. It only ever sees ciphertext
 * produced by vault/, and anything it returns is authenticated by vault/ before a
 * single plaintext byte is released. It may lose, corrupt, truncate or reorder data;
 * vault/ detects all of those.
 *
 * Keys are opaque strings chosen by vault/ (`[a-z0-9/_-]`); adapters must reject
 * anything else so a key can never escape the store's root.
 */
export interface BlobStore {
  /**
   * Streams `body` into the object `key`. The object becomes visible atomically when
   * the returned promise resolves; if the stream errors or `signal` aborts, nothing is
   * visible and no temporary data remains. Overwrites are refused (keys are unique).
   */
  put(key: string, body: Readable, options?: { signal?: AbortSignal }): Promise<BlobStat>;
  /** Streams the object, or the inclusive byte `range` of it. Rejects with NotFoundError if absent. */
  get(key: string, options?: { range?: ByteRange; signal?: AbortSignal }): Promise<Readable>;
  /** Size of the object, or null if absent. */
  stat(key: string): Promise<BlobStat | null>;
  /** Removes the object; absent objects are not an error. */
  delete(key: string): Promise<void>;
  /** Keys that start with `prefix`, in lexical order. */
  list(prefix?: string): AsyncIterable<string>;
  /** As {@link BlobStore.list}, with each object's size and last-modified time. */
  listEntries(prefix?: string): AsyncIterable<BlobEntry>;
}
