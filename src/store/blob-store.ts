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

/** What `stat` knows of a stored object. */
export interface BlobInfo extends BlobStat {
  /**
   * When the object was stored (epoch ms, the store's clock): at the earliest when its
   * upload began, at the latest when it became visible. (A filesystem reports the last
   * write; S3 reports the start of a multipart upload.) The orphaned-blob sweep ages
   * blobs by it, with a margin for the longest upload.
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
  /** Size and storage time of the object, or null if absent. */
  stat(key: string): Promise<BlobInfo | null>;
  /** Removes the object; absent objects are not an error. */
  delete(key: string): Promise<void>;
  /** Keys that start with `prefix`, in lexical order. */
  list(prefix?: string): AsyncIterable<string>;
  /** As {@link BlobStore.list}, with each object's size and last-modified time. */
  listEntries(prefix?: string): AsyncIterable<BlobInfo>;
}
