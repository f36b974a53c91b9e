import { createCipheriv, createDecipheriv } from 'node:crypto';
import { DecryptionFailedError, PayloadTooLargeError, ValidationError } from '../domain/errors.js';
import { ChunkQueue } from './chunk-queue.js';
import { NONCE_PREFIX_LENGTH, TAG_LENGTH, type ObjectHeader } from './object-header.js';

/** AES-256-GCM key length. */
export const DATA_KEY_LENGTH = 32;
const MAX_SEGMENT_INDEX = 0xffffffff;

/** Receives output bytes in order. */
export type Sink = (bytes: Buffer) => void;

/**
 * Encrypts a plaintext stream segment by segment under one data key (internal to
 * crypto/). Feed it with `write`, finish with `end`; output goes to the sink and
 * excludes the header.
 */
export class SegmentSealer {
  private readonly key: Buffer;
  private readonly nonce = Buffer.alloc(12);
  private readonly queue = new ChunkQueue();
  private index = 0;

  constructor(
    dataKey: Uint8Array,
    private readonly header: ObjectHeader,
  ) {
    if (dataKey.length !== DATA_KEY_LENGTH) throw new ValidationError('data key must be 32 bytes');
    this.key = Buffer.from(dataKey);
    header.noncePrefix.copy(this.nonce, 0);
  }

  write(chunk: Buffer, out: Sink): void {
    this.queue.push(chunk);
    const size = this.header.segmentSize;
    while (this.queue.length >= size) this.seal(size, false, out);
  }

  /** Seals the final segment (possibly empty) and wipes the key. */
  end(out: Sink): void {
    this.seal(this.queue.length, true, out);
    this.wipe();
  }

  /** Zeroes the key copy held by this sealer. */
  wipe(): void {
    this.key.fill(0);
    this.queue.clear();
  }

  private seal(length: number, last: boolean, out: Sink): void {
    if (this.index > MAX_SEGMENT_INDEX) throw new PayloadTooLargeError('object is too large for its segment size');
    setSegmentNonce(this.nonce, this.index, last);
    const cipher = createCipheriv('aes-256-gcm', this.key, this.nonce, { authTagLength: TAG_LENGTH });
    cipher.setAAD(this.header.bytes);
    this.queue.take(length, (piece) => out(cipher.update(piece)));
    const rest = cipher.final();
    if (rest.length > 0) out(rest);
    out(cipher.getAuthTag());
    this.index++;
  }
}

/** Which segments an opener expects. */
export interface OpenerExpectations {
  /** Index of the first segment fed. */
  firstSegment: number;
  /** Exact number of segments fed, when known (ranged reads). */
  segmentCount?: number;
  /** Whether the last segment fed must be the object's final segment. */
  endsWithFinal: boolean;
}

/**
 * Decrypts and authenticates segments (internal to crypto/). A segment's plaintext
 * reaches the sink only after its tag verified; every failure is a
 * DecryptionFailedError, and after one the opener is unusable.
 */
export class SegmentOpener {
  private readonly key: Buffer;
  private readonly nonce = Buffer.alloc(12);
  private readonly queue = new ChunkQueue();
  private index: number;
  private opened = 0;
  private failed = false;

  constructor(
    dataKey: Uint8Array,
    private readonly header: ObjectHeader,
    private readonly expect: OpenerExpectations,
  ) {
    if (dataKey.length !== DATA_KEY_LENGTH) throw fail('data key has the wrong length');
    this.key = Buffer.from(dataKey);
    header.noncePrefix.copy(this.nonce, 0);
    this.index = expect.firstSegment;
  }

  write(chunk: Buffer, out: Sink): void {
    this.guard();
    this.queue.push(chunk);
    const stride = this.header.segmentSize + TAG_LENGTH;
    const fullSegments = this.expect.segmentCount === undefined ? Infinity : this.expect.segmentCount - (this.expect.endsWithFinal ? 1 : 0);
    // INVARIANT: a full-size segment is never the final one (see segmentCount), so it can be opened as soon as it is complete.
    while (this.queue.length >= stride) {
      if (this.opened >= fullSegments) throw this.abort('more ciphertext than expected');
      this.open(this.header.segmentSize, false, out);
    }
  }

  /** Checks that the stream ended where it must (no truncation, no trailing bytes) and wipes the key. */
  end(out: Sink): void {
    this.guard();
    const { segmentCount, endsWithFinal } = this.expect;
    if (segmentCount !== undefined && this.opened !== segmentCount - (endsWithFinal ? 1 : 0)) throw this.abort('segment count mismatch');
    if (endsWithFinal) {
      // a missing final segment is truncation: refuse even if every segment so far was valid
      if (this.queue.length < TAG_LENGTH) throw this.abort('final segment missing');
      this.open(this.queue.length - TAG_LENGTH, true, out);
    } else if (this.queue.length !== 0) {
      throw this.abort('ciphertext ends inside a segment');
    }
    this.wipe();
  }

  /** Zeroes the key copy held by this opener. */
  wipe(): void {
    this.key.fill(0);
    this.queue.clear();
  }

  private open(length: number, last: boolean, out: Sink): void {
    if (this.index > MAX_SEGMENT_INDEX) throw this.abort('segment index overflow');
    setSegmentNonce(this.nonce, this.index, last);
    const parts: Buffer[] = [];
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.key, this.nonce, { authTagLength: TAG_LENGTH });
      decipher.setAAD(this.header.bytes);
      this.queue.take(length, (piece) => parts.push(decipher.update(piece)));
      decipher.setAuthTag(this.queue.takeBuffer(TAG_LENGTH));
      const rest = decipher.final();
      if (rest.length > 0) parts.push(rest);
    } catch (err) {
      // release nothing from a segment whose tag did not verify
      throw this.abort('segment authentication failed', err);
    }
    this.index++;
    this.opened++;
    for (const part of parts) out(part);
  }

  private guard(): void {
    if (this.failed) throw fail('opener already failed');
  }

  private abort(detail: string, cause?: unknown): DecryptionFailedError {
    this.failed = true;
    this.wipe();
    return fail(detail, cause);
  }
}

/** nonce = prefix (7) || segment index u32 BE (4) || last-segment flag (1). */
export function setSegmentNonce(nonce: Buffer, index: number, last: boolean): void {
  nonce.writeUInt32BE(index, NONCE_PREFIX_LENGTH);
  nonce[NONCE_PREFIX_LENGTH + 4] = last ? 1 : 0;
}

function fail(detail: string, cause?: unknown): DecryptionFailedError {
  return new DecryptionFailedError(undefined, { detail, cause });
}
