import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { crc32 } from 'node:zlib';
import { S3RequestError } from '../domain/errors.js';
import type { S3ChecksumName, S3Checksums } from '../store/s3-store.js';
import { Crc32c } from './crc32c.js';
import { Crc64Nvme } from './crc64nvme.js';

/** Every checksum algorithm S3 clients send, by header suffix. */
export const CHECKSUM_NAMES: readonly S3ChecksumName[] = ['crc32', 'crc32c', 'crc64nvme', 'sha1', 'sha256'];

/** The S3 API name of an algorithm (`CRC32`, `CRC64NVME`, `SHA256`). */
export function checksumApiName(name: S3ChecksumName): string {
  return name.toUpperCase();
}

/** The algorithm for an S3 API name or header suffix, or null if unknown. */
export function parseChecksumName(text: string | undefined): S3ChecksumName | null {
  if (text === undefined) return null;
  const lower = text.toLowerCase();
  return (CHECKSUM_NAMES as readonly string[]).includes(lower) ? (lower as S3ChecksumName) : null;
}

/** Raw digest length in bytes, to validate base64 values before comparing. */
const DIGEST_BYTES: Record<S3ChecksumName, number> = { crc32: 4, crc32c: 4, crc64nvme: 8, sha1: 20, sha256: 32 };

/** An incremental digest with one interface for all algorithms. */
export interface Digest {
  update(data: Uint8Array): void;
  /** Raw digest bytes. */
  digest(): Buffer;
}

class Crc32Digest implements Digest {
  private value = 0;
  update(data: Uint8Array): void {
    this.value = crc32(data, this.value);
  }
  digest(): Buffer {
    const out = Buffer.alloc(4);
    out.writeUInt32BE(this.value >>> 0, 0);
    return out;
  }
}

class HashDigest implements Digest {
  private readonly hash: Hash;
  constructor(algorithm: string) {
    this.hash = createHash(algorithm);
  }
  update(data: Uint8Array): void {
    this.hash.update(data);
  }
  digest(): Buffer {
    return this.hash.digest();
  }
}

class WrappedDigest implements Digest {
  constructor(private readonly inner: { update(d: Uint8Array): unknown; digest(): Buffer }) {}
  update(data: Uint8Array): void {
    this.inner.update(data);
  }
  digest(): Buffer {
    return this.inner.digest();
  }
}

/** A fresh incremental digest for `name`. */
export function newDigest(name: S3ChecksumName | 'md5'): Digest {
  switch (name) {
    case 'crc32':
      return new Crc32Digest();
    case 'crc32c':
      return new WrappedDigest(new Crc32c());
    case 'crc64nvme':
      return new WrappedDigest(new Crc64Nvme());
    case 'sha1':
      return new HashDigest('sha1');
    case 'sha256':
      return new HashDigest('sha256');
    case 'md5':
      return new HashDigest('md5');
  }
}

/** The checksum of `data` in S3's wire form (base64). */
export function checksumOf(name: S3ChecksumName, data: Uint8Array): string {
  const d = newDigest(name);
  d.update(data);
  return d.digest().toString('base64');
}

/** True if `value` is base64 of a digest of the right length for `name`. */
export function isChecksumValue(name: S3ChecksumName | 'md5', value: string): boolean {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(value)) return false;
  const bytes = Buffer.from(value, 'base64');
  return bytes.length === (name === 'md5' ? 16 : DIGEST_BYTES[name]) && bytes.toString('base64') === value;
}

/**
 * The answer to a checksum value that is not one (null when it is), as S3 gives it: text
 * that is not base64 is InvalidRequest; base64 of a digest of the wrong length is a digest
 * that cannot match, BadDigest. `where` names the header or trailer.
 */
export function checksumValueError(name: S3ChecksumName, value: string, where: string): S3RequestError | null {
  if (isChecksumValue(name, value)) return null;
  const base64 = /^[A-Za-z0-9+/]+={0,2}$/.test(value) && Buffer.from(value, 'base64').toString('base64') === value;
  return base64
    ? new S3RequestError(`the ${checksumApiName(name)} you specified did not match the calculated checksum (it is not a ${checksumApiName(name)} digest)`, { s3Code: 'BadDigest' })
    : new S3RequestError(`value for x-amz-checksum-${name} ${where} is invalid`, { s3Code: 'InvalidRequest' });
}

/** What a body must match, checked when it ends. */
export interface BodyExpectations {
  /** Content-MD5 (base64). */
  contentMd5?: string | undefined;
  /** A checksum header (`x-amz-checksum-<name>`) given with the request. */
  checksum?: { name: S3ChecksumName; value: string } | undefined;
  /** A checksum sent in an aws-chunked trailer: known only once the body is decoded. */
  trailer?: { name: S3ChecksumName; value: () => string | undefined } | undefined;
}

/**
 * A pass-through that computes the MD5 (ETag), CRC32 and any checksum the request
 * declares, and fails the stream at its end (BadDigest / InvalidDigest) if one does not
 * match, so the vault stores nothing. Memory stays flat: digests are incremental.
 */
export class DigestStream extends Transform {
  private readonly md5 = newDigest('md5');
  private readonly digests = new Map<S3ChecksumName, Digest>();
  private result: { md5: string; checksums: S3Checksums } | null = null;
  /** Bytes seen. */
  size = 0;
  /** The error this stream failed with, if any (the vault may report its own). */
  failure: Error | null = null;

  private readonly withMd5: boolean;

  /** `options.md5: false` skips the MD5 when the ETag comes from elsewhere (multipart Complete). */
  constructor(private readonly expected: BodyExpectations, extra: S3ChecksumName[] = [], options: { md5?: boolean } = {}) {
    super();
    this.withMd5 = options.md5 !== false;
    for (const name of new Set<S3ChecksumName>(['crc32', ...extra, ...(expected.checksum ? [expected.checksum.name] : []), ...(expected.trailer ? [expected.trailer.name] : [])])) {
      this.digests.set(name, newDigest(name));
    }
  }

  /** MD5 hex and base64 checksums of the whole body; only after the stream ended. */
  get digest(): { md5: string; checksums: S3Checksums } {
    if (this.result === null) throw new S3RequestError('body digest read before the end of the body', { s3Code: 'InternalError' });
    return this.result;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.size += chunk.length;
    if (this.withMd5) this.md5.update(chunk);
    for (const d of this.digests.values()) d.update(chunk);
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    const md5 = this.md5.digest();
    const checksums: S3Checksums = {};
    for (const [name, d] of this.digests) checksums[name] = d.digest().toString('base64');
    this.result = { md5: md5.toString('hex'), checksums };
    const { contentMd5, checksum, trailer } = this.expected;
    if (contentMd5 !== undefined && !constantEqual(contentMd5, md5.toString('base64'))) {
      callback(this.fail(new S3RequestError('the Content-MD5 you specified did not match what was received', { s3Code: 'BadDigest' })));
      return;
    }
    if (checksum !== undefined && !constantEqual(checksum.value, checksums[checksum.name] ?? '')) {
      callback(this.fail(new S3RequestError(`the ${checksumApiName(checksum.name)} you specified did not match the calculated checksum`, { s3Code: 'BadDigest' })));
      return;
    }
    if (trailer !== undefined) {
      const value = trailer.value();
      if (value === undefined) {
        callback(this.fail(new S3RequestError(`the trailer x-amz-checksum-${trailer.name} is missing`, { s3Code: 'MalformedTrailerError' })));
        return;
      }
      const invalid = checksumValueError(trailer.name, value, 'trailing header');
      if (invalid !== null) {
        callback(this.fail(invalid));
        return;
      }
      if (!constantEqual(value, checksums[trailer.name] ?? '')) {
        callback(this.fail(new S3RequestError(`the ${checksumApiName(trailer.name)} you specified did not match the calculated checksum`, { s3Code: 'BadDigest' })));
        return;
      }
    }
    callback();
  }

  private fail(err: Error): Error {
    this.failure = err;
    return err;
  }
}

/** Compares two short strings without an early exit. */
export function constantEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  let diff = x.length ^ y.length;
  for (let i = 0; i < Math.max(x.length, y.length); i++) diff |= (x[i] ?? 0) ^ (y[i] ?? 0);
  return diff === 0;
}
