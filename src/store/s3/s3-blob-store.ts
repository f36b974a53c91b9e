import {
  AbortMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  type S3Client,
} from '@aws-sdk/client-s3';
import { Readable, Transform } from 'node:stream';
import { RangeNotSatisfiableError, RequestAbortedError, StorageError, UploadAbortedError, ValidationError } from '../../domain/errors.js';
import { assertBlobKey, assertBlobPrefix, isBlobKey } from '../blob-key.js';
import type { BlobInfo, BlobStat, BlobStore, ByteRange } from '../blob-store.js';
import { pipeBlobRead } from '../read-stream.js';
import { isMissingObject, mapS3Error, s3Failure } from './s3-errors.js';
import { MAX_PART_SIZE, MIN_PART_SIZE, uploadStream, type ConditionalCreate } from './s3-upload.js';

/** Read buffer of a download, as the filesystem adapter's. */
const READ_CHUNK = 1024 * 1024;
/** Object-store prefixes: empty, or segments of `[A-Za-z0-9._-]` (not `.` or `..`) each ending in `/`. */
const STORE_PREFIX = /^(?:(?!\.\.?\/)[A-Za-z0-9._-]+\/)*$/;

/** Options of {@link S3BlobStore}. */
export interface S3BlobStoreOptions {
  /** A configured client (endpoint, region, credentials, path style): see openS3BlobStore. */
  client: S3Client;
  bucket: string;
  /** Prepended to every key (`coffer/`), so one bucket can hold other things too. Default none. */
  prefix?: string;
  /** First part size of multipart uploads, and the largest object sent in one PutObject (5 MiB - 5 GiB; default 16 MiB). */
  partSize?: number;
  /** Parts in flight per upload (1-16; default 4). Memory per upload is about (concurrency + 1) x part size. */
  concurrency?: number;
  /** Which creates the server makes conditional (see openS3BlobStore's probe). */
  conditional: ConditionalCreate;
}

/** A multipart upload the server still holds (never completed nor aborted). */
export interface IncompleteUpload {
  key: string;
  uploadId: string;
  /** Milliseconds since the epoch. */
  initiatedAt: number;
}

/**
 * BlobStore on an S3-compatible bucket (AWS S3, Ceph RGW, SeaweedFS, Garage...). The
 * object `a/b/c` is the S3 key `<prefix>a/b/c`.
 *
 * Objects are immutable: creates carry `If-None-Match: *` where the server honours it,
 * so a second writer of a key is refused by the server itself; where it does not, a HEAD
 * check refuses a reused key and immutability rests on vault naming every blob after a
 * fresh object id. An upload becomes visible only when its last request succeeds; a
 * failed or aborted one leaves no object and no incomplete multipart upload (and
 * {@link S3BlobStore.sweepIncomplete} removes those a crash left).
 *
 * TRUST: the bucket is untrusted storage of ciphertext (see BlobStore), and so is
 * everything the server answers: sizes and bodies are checked by vault. This adapter
 * guarantees that keys cannot escape its prefix and that no credential reaches an error.
 */
export class S3BlobStore implements BlobStore {
  readonly #client: S3Client;
  readonly #bucket: string;
  readonly #prefix: string;
  readonly #partSize: number;
  readonly #concurrency: number;
  readonly #conditional: ConditionalCreate;

  constructor(options: S3BlobStoreOptions) {
    const prefix = options.prefix ?? '';
    if (!STORE_PREFIX.test(prefix) || prefix.length > 256) throw new ValidationError('blob store prefix must be empty or end with `/`, with segments of A-Z a-z 0-9 . _ -');
    const partSize = options.partSize ?? 16 * 1024 * 1024;
    if (!Number.isSafeInteger(partSize) || partSize < MIN_PART_SIZE || partSize > MAX_PART_SIZE) throw new ValidationError(`blob store part size must be ${MIN_PART_SIZE}-${MAX_PART_SIZE} bytes`);
    const concurrency = options.concurrency ?? 4;
    if (!Number.isSafeInteger(concurrency) || concurrency < 1 || concurrency > 16) throw new ValidationError('blob store concurrency must be 1-16');
    this.#client = options.client;
    this.#bucket = options.bucket;
    this.#prefix = prefix;
    this.#partSize = partSize;
    this.#concurrency = concurrency;
    this.#conditional = Object.freeze({ ...options.conditional });
  }

  /** Which creates are conditional on this server (`If-None-Match: *`). */
  get conditional(): ConditionalCreate {
    return this.#conditional;
  }

  async put(key: string, body: Readable, options: { signal?: AbortSignal } = {}): Promise<BlobStat> {
    try {
      assertBlobKey(key);
    } catch (err) {
      body.destroy();
      throw err;
    }
    if (options.signal?.aborted) {
      body.destroy();
      throw new UploadAbortedError(undefined, { detail: 'signal aborted before the upload started' });
    }
    const size = await uploadStream(
      { client: this.#client, bucket: this.#bucket, objectKey: this.#prefix + key, key, partSize: this.#partSize, concurrency: this.#concurrency, conditional: this.#conditional },
      body,
      options.signal,
    );
    return { key, size };
  }

  async get(key: string, options: { range?: ByteRange; signal?: AbortSignal } = {}): Promise<Readable> {
    assertBlobKey(key);
    const { range, signal } = options;
    if (signal?.aborted) throw new RequestAbortedError();
    if (range !== undefined && (!Number.isSafeInteger(range.start) || !Number.isSafeInteger(range.end) || range.start < 0 || range.end < range.start)) {
      throw new RangeNotSatisfiableError(undefined, { detail: `range ${range.start}-${range.end}` });
    }
    // the caller's signal cancels the request until the answer starts; then it cuts the body
    const request = new AbortController();
    const onAbortRequest = () => request.abort();
    signal?.addEventListener('abort', onAbortRequest, { once: true });
    let answer;
    try {
      answer = await this.#client.send(
        new GetObjectCommand({ Bucket: this.#bucket, Key: this.#prefix + key, ...(range === undefined ? {} : { Range: `bytes=${range.start}-${range.end}` }) }),
        { abortSignal: request.signal },
      );
    } catch (err) {
      if (signal?.aborted) throw new RequestAbortedError();
      throw mapS3Error(err, 'get', key);
    } finally {
      signal?.removeEventListener('abort', onAbortRequest);
    }
    const body = answer.Body;
    if (!(body instanceof Readable)) throw new StorageError(undefined, { detail: 'blob store (s3): get: the answer has no body stream' });
    const expected = answer.ContentLength;
    let seen = 0;
    // a connection cut mid-body must fail the read, not end it early: count against Content-Length
    const out = new Transform({
      highWaterMark: READ_CHUNK,
      transform(chunk: Buffer, _encoding, done) {
        seen += chunk.length;
        done(null, chunk);
      },
      flush(done) {
        if (expected !== undefined && seen !== expected) done(new StorageError(undefined, { detail: `blob store (s3): get: body ended after ${seen} of ${expected} bytes` }));
        else done();
      },
    });
    return pipeBlobRead(body, out, signal, (err) => mapS3Error(err, 'read', key));
  }

  async stat(key: string): Promise<BlobInfo | null> {
    assertBlobKey(key);
    try {
      const head = await this.#client.send(new HeadObjectCommand({ Bucket: this.#bucket, Key: this.#prefix + key }));
      // INVARIANT: a missing time reads as "just now", so the orphan sweep never judges it old
      return { key, size: head.ContentLength ?? 0, modifiedAt: head.LastModified?.getTime() ?? Date.now() };
    } catch (err) {
      if (isMissingObject(err)) return null;
      throw mapS3Error(err, 'stat');
    }
  }

  async delete(key: string): Promise<void> {
    assertBlobKey(key);
    try {
      // S3 answers 204 whether or not the key existed
      await this.#client.send(new DeleteObjectCommand({ Bucket: this.#bucket, Key: this.#prefix + key }));
    } catch (err) {
      if (isMissingObject(err)) return;
      throw mapS3Error(err, 'delete');
    }
  }

  async *list(prefix = ''): AsyncIterable<string> {
    for await (const entry of this.listEntries(prefix)) yield entry.key;
  }

  async *listEntries(prefix = ''): AsyncIterable<BlobInfo> {
    assertBlobPrefix(prefix);
    let token: string | undefined;
    do {
      let page;
      try {
        page = await this.#client.send(new ListObjectsV2Command({ Bucket: this.#bucket, Prefix: this.#prefix + prefix, ...(token === undefined ? {} : { ContinuationToken: token }) }));
      } catch (err) {
        throw mapS3Error(err, 'list');
      }
      // INVARIANT: S3 lists in UTF-8 byte order, which is JavaScript's string order on the
      // ASCII key alphabet: keys come out in lexical order, as the port promises
      for (const item of page.Contents ?? []) {
        const objectKey = item.Key ?? '';
        const key = objectKey.slice(this.#prefix.length);
        // anything else under the prefix (a probe left by a crash, a foreign object) is not a blob
        if (!objectKey.startsWith(this.#prefix) || !isBlobKey(key)) continue;
        yield { key, size: item.Size ?? 0, modifiedAt: item.LastModified?.getTime() ?? 0 };
      }
      token = page.IsTruncated === true ? page.NextContinuationToken : undefined;
    } while (token !== undefined);
  }

  /** Multipart uploads under the prefix that were neither completed nor aborted. */
  async incompleteUploads(): Promise<IncompleteUpload[]> {
    const found: IncompleteUpload[] = [];
    let keyMarker: string | undefined;
    let uploadIdMarker: string | undefined;
    do {
      let page;
      try {
        page = await this.#client.send(
          new ListMultipartUploadsCommand({
            Bucket: this.#bucket,
            Prefix: this.#prefix,
            ...(keyMarker === undefined ? {} : { KeyMarker: keyMarker }),
            ...(uploadIdMarker === undefined ? {} : { UploadIdMarker: uploadIdMarker }),
          }),
        );
      } catch (err) {
        throw mapS3Error(err, 'list uploads');
      }
      for (const u of page.Uploads ?? []) {
        if (u.Key === undefined || u.UploadId === undefined) continue;
        found.push({ key: u.Key.slice(this.#prefix.length), uploadId: u.UploadId, initiatedAt: u.Initiated?.getTime() ?? 0 });
      }
      const more = page.IsTruncated === true;
      keyMarker = more ? page.NextKeyMarker : undefined;
      uploadIdMarker = more ? page.NextUploadIdMarker : undefined;
    } while (keyMarker !== undefined);
    return found;
  }

  /**
   * Aborts multipart uploads a crash (kill -9 mid-upload) left behind, and returns how many.
   * With several nodes on one bucket, give `olderThanMs` longer than any upload may take,
   * so another node's upload in flight is spared.
   */
  async sweepIncomplete(options: { olderThanMs?: number } = {}): Promise<number> {
    const cutoff = Date.now() - (options.olderThanMs ?? 0);
    let removed = 0;
    for (const u of await this.incompleteUploads()) {
      if (u.initiatedAt > cutoff) continue;
      try {
        await this.#client.send(new AbortMultipartUploadCommand({ Bucket: this.#bucket, Key: this.#prefix + u.key, UploadId: u.uploadId }));
        removed++;
      } catch (err) {
        // another node may have aborted or completed it meanwhile
        if (s3Failure(err).code !== 'NoSuchUpload') throw mapS3Error(err, 'sweep uploads');
      }
    }
    return removed;
  }

  /** Releases the client's connections. */
  close(): void {
    this.#client.destroy();
  }

  /** Resolves if the bucket answers with these credentials (a readiness probe). */
  async ping(): Promise<void> {
    try {
      await this.#client.send(new HeadBucketCommand({ Bucket: this.#bucket }), { abortSignal: AbortSignal.timeout(5000) });
    } catch (err) {
      throw mapS3Error(err, 'ping');
    }
  }
}
