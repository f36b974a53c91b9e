import { createHash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { ContentLengthMismatchError, DigestMismatchError, InternalError } from '../domain/errors.js';

/**
 * A pass-through that measures the plaintext on its way to encryption: size and
 * SHA-256. With expectations it fails the stream (so the blob store publishes nothing)
 * as soon as the size is exceeded, and at the end on a short body or a digest mismatch.
 */
export class PlaintextMeter extends Transform {
  private readonly hash = createHash('sha256');
  private digest: string | null = null;
  /** Plaintext bytes seen so far. */
  size = 0;
  /** The error this meter failed the stream with, if any (the store may report its own). */
  failure: Error | null = null;

  constructor(private readonly expected: { size?: number; sha256?: string }) {
    super();
  }

  /** Lowercase hex SHA-256 of the whole plaintext; only after the stream ended. */
  get sha256(): string {
    if (this.digest === null) throw new InternalError(undefined, { detail: 'plaintext meter read before the end of the stream' });
    return this.digest;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.size += chunk.length;
    if (this.expected.size !== undefined && this.size > this.expected.size) {
      callback(this.fail(new ContentLengthMismatchError(undefined, { detail: `more than ${this.expected.size} bytes received` })));
      return;
    }
    this.hash.update(chunk);
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    this.digest = this.hash.digest('hex');
    if (this.expected.size !== undefined && this.size !== this.expected.size) {
      callback(this.fail(new ContentLengthMismatchError(undefined, { detail: `${this.size} bytes received, ${this.expected.size} declared` })));
    } else if (this.expected.sha256 !== undefined && this.digest !== this.expected.sha256) {
      callback(this.fail(new DigestMismatchError()));
    } else {
      callback();
    }
  }

  private fail(err: Error): Error {
    this.failure = err;
    return err;
  }
}
