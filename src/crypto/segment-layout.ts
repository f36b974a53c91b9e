import { RangeNotSatisfiableError } from '../domain/errors.js';
import { TAG_LENGTH } from './object-header.js';

/** What fixes the byte layout of an encrypted object. */
export interface ObjectLayout {
  headerLength: number;
  segmentSize: number;
  plaintextSize: number;
}

/** Which ciphertext bytes a plaintext range needs, and how to cut the plaintext out of them. */
export interface RangeReadPlan {
  /** Index of the first segment read. */
  firstSegment: number;
  /** Number of consecutive segments read. */
  segmentCount: number;
  /** True if the last segment read is the object's final segment (nonce flag 1, may be short). */
  endsWithFinal: boolean;
  /** First ciphertext byte to read (offset in the stored object). */
  cipherStart: number;
  /** Last ciphertext byte to read, inclusive. */
  cipherEnd: number;
  /** Plaintext bytes to drop from the start of the first segment read. */
  skip: number;
  /** Plaintext bytes to emit after `skip`. */
  length: number;
}

/**
 * Segments of an object of `plaintextSize` bytes: every segment but the last is full
 * and the last holds the remaining 0..segmentSize-1 bytes.
 * INVARIANT: the final segment is always shorter than a full one (a plaintext that is
 * a multiple of the segment size ends with an empty final segment), so a reader knows
 * a full segment is never the final one without looking ahead.
 */
export function segmentCount(plaintextSize: number, segmentSize: number): number {
  return Math.floor(plaintextSize / segmentSize) + 1;
}

/** Total stored size of an object: header, plaintext and one tag per segment. */
export function ciphertextSize(layout: ObjectLayout): number {
  return layout.headerLength + layout.plaintextSize + TAG_LENGTH * segmentCount(layout.plaintextSize, layout.segmentSize);
}

/**
 * The ciphertext byte range (after the header) that holds the inclusive plaintext
 * `range`, and how to slice the decrypted segments. Throws RangeNotSatisfiableError if
 * the range is empty, reversed or beyond the plaintext.
 */
export function planRangeRead(layout: ObjectLayout, range: { start: number; end: number }): RangeReadPlan {
  const { headerLength, segmentSize, plaintextSize } = layout;
  const { start, end } = range;
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || end < start || end >= plaintextSize) {
    throw new RangeNotSatisfiableError(undefined, { detail: `range ${start}-${end} of ${plaintextSize} bytes` });
  }
  const total = segmentCount(plaintextSize, segmentSize);
  const first = Math.floor(start / segmentSize);
  const last = Math.floor(end / segmentSize);
  const stride = segmentSize + TAG_LENGTH;
  const lastPlainLength = last === total - 1 ? plaintextSize - last * segmentSize : segmentSize;
  return {
    firstSegment: first,
    segmentCount: last - first + 1,
    endsWithFinal: last === total - 1,
    cipherStart: headerLength + first * stride,
    cipherEnd: headerLength + last * stride + lastPlainLength + TAG_LENGTH - 1,
    skip: start - first * segmentSize,
    length: end - start + 1,
  };
}
