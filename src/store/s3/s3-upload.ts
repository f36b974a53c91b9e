import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  UploadPartCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import type { Readable } from 'node:stream';
import { AlreadyExistsError, StorageError, UploadAbortedError, isCofferError, type CofferError } from '../../domain/errors.js';
import { SourceReader } from '../upload-source.js';
import { isMissingObject, mapS3Error } from './s3-errors.js';

/** S3 takes at most this many parts in one multipart upload. */
export const MAX_PARTS = 10_000;
/** Smallest part S3 accepts (all but the last). */
export const MIN_PART_SIZE = 5 * 1024 * 1024;
/** Largest part S3 accepts. */
export const MAX_PART_SIZE = 5 * 1024 * 1024 * 1024;
/** The part size doubles after every this many parts, so 10,000 parts hold 1023 x 1000 x the first part size. */
const PARTS_PER_SIZE = 1000;
/** How long cleaning up a failed upload (AbortMultipartUpload) may take. */
const CLEANUP_TIMEOUT_MS = 30_000;

/**
 * Which writes the server makes conditional on `If-None-Match: *` (refused with 412 when
 * the key exists). AWS S3 honours it on PutObject and CompleteMultipartUpload; Ceph RGW
 * Pacific on PutObject only; some S3 services on neither.
 */
export interface ConditionalCreate {
  put: boolean;
  complete: boolean;
}

/** Where and how one object is uploaded. */
export interface UploadTarget {
  client: S3Client;
  bucket: string;
  /** The object's S3 key (the store prefix included). */
  objectKey: string;
  /** The blob key, for error messages. */
  key: string;
  /** Size of the first parts; objects up to this size go in one PutObject. */
  partSize: number;
  /** Parts in flight at once. */
  concurrency: number;
  conditional: ConditionalCreate;
}

/** The size of part `n` (1-based): the first part size, doubled every 1000 parts, at most 5 GiB. */
export function partSizeFor(partSize: number, n: number): number {
  return Math.min(MAX_PART_SIZE, partSize * 2 ** Math.floor((n - 1) / PARTS_PER_SIZE));
}

/**
 * Streams `body` into one S3 object, returning its size. Objects up to one part size go
 * in a single PutObject; larger ones in a multipart upload whose parts are sent while
 * the next is read.
 *
 * Memory: at most `concurrency` parts in flight plus the one being filled, each a buffer
 * of the current part size, reused from part to part; nothing else is held, whatever the
 * object's size. (This is written here rather than with @aws-sdk/lib-storage's Upload:
 * that one rejects on abort before it aborts the multipart upload, lets the parts in
 * flight run on, and cannot check the key before completing on servers without
 * conditional completes.)
 *
 * Failure (the source errors, `signal` aborts, a part is refused): the requests in flight
 * are cancelled, the multipart upload is aborted, and the promise rejects only then, so
 * nothing stays visible. The last request (PutObject or CompleteMultipartUpload) is never
 * cancelled half-way: if the signal fires while it runs, the object it made is deleted.
 */
export async function uploadStream(target: UploadTarget, body: Readable, signal: AbortSignal | undefined): Promise<number> {
  return new S3Upload(target, body, signal).run();
}

class S3Upload {
  readonly #controller = new AbortController();
  readonly #reader: SourceReader;
  readonly #inflight = new Set<Promise<void>>();
  readonly #parts: { PartNumber: number; ETag: string }[] = [];
  /** Buffers of finished parts, ready for reuse. */
  readonly #free: Buffer[] = [];
  #failure: CofferError | null = null;
  #uploadId: string | undefined;
  #nextPart = 1;

  constructor(
    private readonly t: UploadTarget,
    private readonly body: Readable,
    private readonly signal: AbortSignal | undefined,
  ) {
    this.#reader = new SourceReader(body);
  }

  async run(): Promise<number> {
    if (this.signal?.aborted) {
      this.body.destroy();
      throw new UploadAbortedError(undefined, { detail: 'signal aborted before the upload started' });
    }
    const onAbort = () => this.#fail(new UploadAbortedError(undefined, { detail: 'signal aborted during the upload' }));
    this.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      return await this.#pump();
    } catch (err) {
      const failure = this.#failure ?? (isCofferError(err) ? err : mapS3Error(err, 'put', this.t.key));
      this.#fail(failure);
      await this.#cleanup();
      throw failure;
    } finally {
      this.signal?.removeEventListener('abort', onAbort);
    }
  }

  async #pump(): Promise<number> {
    let buffer = this.#take();
    let filled = 0;
    let size = 0;
    for (let chunk = await this.#reader.next(this.signal); chunk !== null; chunk = await this.#reader.next(this.signal)) {
      this.#throwIfFailed();
      size += chunk.byteLength;
      for (let at = 0; at < chunk.byteLength; ) {
        // a full buffer is sent only once more bytes come: an object of exactly one part is one PutObject
        if (filled === buffer.length) {
          await this.#sendPart(buffer, filled);
          buffer = this.#take();
          filled = 0;
        }
        const n = Math.min(chunk.byteLength - at, buffer.length - filled);
        buffer.set(chunk.subarray(at, at + n), filled);
        filled += n;
        at += n;
      }
    }
    this.#throwIfFailed();
    if (this.#uploadId === undefined) {
      await this.#publish(() => this.#putSingle(buffer.subarray(0, filled)));
      return size;
    }
    if (filled > 0) await this.#sendPart(buffer, filled);
    while (this.#inflight.size > 0) await Promise.race(this.#inflight);
    this.#throwIfFailed();
    await this.#publish(() => this.#complete());
    return size;
  }

  /** A part buffer of the size the next part will have. */
  #take(): Buffer {
    const size = partSizeFor(this.t.partSize, this.#nextPart);
    const reused = this.#free.pop();
    if (reused !== undefined && reused.length === size) return reused;
    this.#free.length = 0;
    // never sent beyond `filled`, so stale bytes of an unsafe allocation never leave
    return Buffer.allocUnsafeSlow(size);
  }

  async #sendPart(buffer: Buffer, filled: number): Promise<void> {
    if (this.#uploadId === undefined) await this.#create();
    const partNumber = this.#nextPart++;
    if (partNumber > MAX_PARTS) throw new StorageError('object is too large for the blob store', { detail: `more than ${MAX_PARTS} parts of ${this.t.partSize} bytes and up` });
    while (this.#inflight.size >= this.t.concurrency) await Promise.race(this.#inflight);
    this.#throwIfFailed();
    const sent = this.t.client
      .send(
        new UploadPartCommand({ Bucket: this.t.bucket, Key: this.t.objectKey, UploadId: this.#uploadId, PartNumber: partNumber, Body: buffer.subarray(0, filled), ContentLength: filled }),
        { abortSignal: this.#controller.signal },
      )
      .then((r) => {
        if (r.ETag === undefined || r.ETag === '') throw new StorageError(undefined, { detail: `blob store (s3): upload part ${partNumber}: no ETag in the answer` });
        this.#parts.push({ PartNumber: partNumber, ETag: r.ETag });
        this.#free.push(buffer);
      })
      .catch((err: unknown) => this.#fail(isCofferError(err) ? err : mapS3Error(err, `upload part ${partNumber}`, this.t.key)))
      .finally(() => this.#inflight.delete(sent));
    this.#inflight.add(sent);
  }

  async #create(): Promise<void> {
    // INVARIANT: without conditional completes, immutability rests on unique keys (vault names
    // each blob after a fresh object id); this check refuses a reused key, not a concurrent race
    if (!this.t.conditional.complete) await this.#refuseIfExists();
    const r = await this.t.client.send(new CreateMultipartUploadCommand({ Bucket: this.t.bucket, Key: this.t.objectKey, ContentType: 'application/octet-stream' }), {
      abortSignal: this.#controller.signal,
    });
    if (r.UploadId === undefined || r.UploadId === '') throw new StorageError(undefined, { detail: 'blob store (s3): create multipart upload: no upload id in the answer' });
    this.#uploadId = r.UploadId;
  }

  async #putSingle(data: Buffer): Promise<void> {
    if (!this.t.conditional.put) await this.#refuseIfExists();
    await this.t.client.send(
      new PutObjectCommand({
        Bucket: this.t.bucket,
        Key: this.t.objectKey,
        Body: data,
        ContentLength: data.length,
        ContentType: 'application/octet-stream',
        ...(this.t.conditional.put ? { IfNoneMatch: '*' } : {}),
      }),
    );
  }

  async #complete(): Promise<void> {
    if (!this.t.conditional.complete) await this.#refuseIfExists();
    const parts = [...this.#parts].sort((a, b) => a.PartNumber - b.PartNumber);
    await this.t.client.send(
      new CompleteMultipartUploadCommand({
        Bucket: this.t.bucket,
        Key: this.t.objectKey,
        UploadId: this.#uploadId,
        MultipartUpload: { Parts: parts },
        ...(this.t.conditional.complete ? { IfNoneMatch: '*' } : {}),
      }),
    );
    this.#uploadId = undefined;
  }

  /**
   * Runs the request that makes the object visible. It is not cancelled by the signal (a
   * cancelled request may still have been applied): if the signal fired meanwhile, the
   * object it made is deleted and the upload fails as aborted.
   */
  async #publish(request: () => Promise<void>): Promise<void> {
    try {
      await request();
    } catch (err) {
      throw isCofferError(err) ? err : mapS3Error(err, 'put', this.t.key);
    }
    if (this.signal?.aborted || this.#failure !== null) {
      await this.t.client.send(new DeleteObjectCommand({ Bucket: this.t.bucket, Key: this.t.objectKey }), { abortSignal: AbortSignal.timeout(CLEANUP_TIMEOUT_MS) }).catch(() => undefined);
      throw this.#failure ?? new UploadAbortedError(undefined, { detail: 'signal aborted before the object was published' });
    }
  }

  async #refuseIfExists(): Promise<void> {
    try {
      await this.t.client.send(new HeadObjectCommand({ Bucket: this.t.bucket, Key: this.t.objectKey }), { abortSignal: this.#controller.signal });
    } catch (err) {
      if (isMissingObject(err)) return;
      throw err;
    }
    throw new AlreadyExistsError(`blob \`${this.t.key}\` already exists`);
  }

  #throwIfFailed(): void {
    if (this.#failure !== null) throw this.#failure;
  }

  /** Records the first failure and stops everything: the requests in flight and the pending read. */
  #fail(err: CofferError): void {
    if (this.#failure !== null) return;
    this.#failure = err;
    this.#controller.abort();
    this.#reader.cancel(err);
    this.body.destroy();
  }

  /** Waits for the cancelled parts, then aborts the multipart upload so no part stays stored. */
  async #cleanup(): Promise<void> {
    this.#controller.abort();
    await Promise.allSettled([...this.#inflight]);
    this.#free.length = 0;
    if (this.#uploadId === undefined) return;
    await this.t.client
      .send(new AbortMultipartUploadCommand({ Bucket: this.t.bucket, Key: this.t.objectKey, UploadId: this.#uploadId }), { abortSignal: AbortSignal.timeout(CLEANUP_TIMEOUT_MS) })
      // a failed abort leaves an incomplete upload, invisible as an object: the boot sweep removes it
      .catch(() => undefined);
  }
}
