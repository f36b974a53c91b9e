import { Transform } from 'node:stream';
import { DecryptionFailedError, type CofferError } from '../domain/errors.js';
import { ChunkQueue } from './chunk-queue.js';
import { DEFAULT_SEGMENT_SIZE, HEADER_PREFIX_LENGTH, TAG_LENGTH, neededHeaderLength, parseObjectHeader, type ObjectHeader } from './object-header.js';
import { SegmentOpener, type Sink } from './segment-cipher.js';
import { segmentCount, type RangeReadPlan } from './segment-layout.js';

/** What the reader expects of a whole encrypted object. */
export interface DecryptOptions {
  /** The object id the ciphertext must belong to. */
  objectId: string;
  /** The plaintext size recorded in metadata; when given, any other size is refused. */
  plaintextSize?: number;
}

/**
 * A Transform from a whole encrypted object (header and segments) to its plaintext.
 * Each segment is released only after its tag verified; truncation, reordering,
 * segments from another object, trailing bytes or a wrong key all end the stream with
 * the same DecryptionFailedError.
 */
export function createDecryptStream(dataKey: Uint8Array, options: DecryptOptions): Transform {
  const key = Buffer.from(dataKey);
  const pending = new ChunkQueue();
  let opener: SegmentOpener | null = null;
  let emitted = 0;
  const expected = options.plaintextSize;

  const sinkOf = (stream: Transform): Sink => (bytes) => {
    if (expected !== undefined && emitted + bytes.length > expected) throw fail('object longer than recorded');
    emitted += bytes.length;
    stream.push(bytes);
  };
  const startOpener = (): SegmentOpener | null => {
    const length = neededHeaderLength(pending.peek(Math.min(pending.length, HEADER_PREFIX_LENGTH)));
    if (length === null || pending.length < length) return null;
    const header = parseObjectHeader(pending.takeBuffer(length), options.objectId);
    const created = new SegmentOpener(key, header, {
      firstSegment: 0,
      endsWithFinal: true,
      ...(expected === undefined ? {} : { segmentCount: segmentCount(expected, header.segmentSize) }),
    });
    key.fill(0);
    return created;
  };
  const feedPending = (target: SegmentOpener, sink: Sink) => {
    pending.take(pending.length, (piece) => target.write(piece, sink));
  };

  return new Transform({
    readableHighWaterMark: DEFAULT_SEGMENT_SIZE + TAG_LENGTH,
    transform(chunk: Buffer, _encoding, callback) {
      try {
        const sink = sinkOf(this);
        if (opener === null) {
          pending.push(chunk);
          opener = startOpener();
          if (opener !== null) feedPending(opener, sink);
        } else {
          opener.write(chunk, sink);
        }
        callback();
      } catch (err) {
        callback(asDecryptionError(err));
      }
    },
    flush(callback) {
      try {
        if (opener === null) throw fail('header truncated');
        opener.end(sinkOf(this));
        if (expected !== undefined && emitted !== expected) throw fail('object shorter than recorded');
        callback();
      } catch (err) {
        callback(asDecryptionError(err));
      }
    },
    destroy(err, callback) {
      key.fill(0);
      opener?.wipe();
      pending.clear();
      callback(err);
    },
  });
}

/**
 * A Transform from the ciphertext bytes `plan.cipherStart..plan.cipherEnd` of an
 * object (already-parsed `header`) to exactly the plaintext range the plan was made
 * for. Only the planned segments are decrypted, each authenticated before release.
 */
export function createRangeDecryptStream(dataKey: Uint8Array, header: ObjectHeader, plan: RangeReadPlan): Transform {
  const opener = new SegmentOpener(dataKey, header, {
    firstSegment: plan.firstSegment,
    segmentCount: plan.segmentCount,
    endsWithFinal: plan.endsWithFinal,
  });
  let toSkip = plan.skip;
  let toEmit = plan.length;
  const sinkOf = (stream: Transform): Sink => (bytes) => {
    let piece = bytes;
    if (toSkip > 0) {
      const dropped = Math.min(toSkip, piece.length);
      toSkip -= dropped;
      piece = piece.subarray(dropped);
    }
    if (piece.length > toEmit) piece = piece.subarray(0, toEmit);
    if (piece.length === 0) return;
    toEmit -= piece.length;
    stream.push(piece);
  };
  return new Transform({
    readableHighWaterMark: header.segmentSize + TAG_LENGTH,
    transform(chunk: Buffer, _encoding, callback) {
      try {
        opener.write(chunk, sinkOf(this));
        callback();
      } catch (err) {
        callback(asDecryptionError(err));
      }
    },
    flush(callback) {
      try {
        opener.end(sinkOf(this));
        if (toEmit !== 0) throw fail('range shorter than planned');
        callback();
      } catch (err) {
        callback(asDecryptionError(err));
      }
    },
    destroy(err, callback) {
      opener.wipe();
      callback(err);
    },
  });
}

/** Decrypts a whole in-memory encrypted object. Throws DecryptionFailedError on any failure. */
export function decryptObject(ciphertext: Uint8Array, dataKey: Uint8Array, options: DecryptOptions): Buffer {
  const bytes = Buffer.from(ciphertext.buffer, ciphertext.byteOffset, ciphertext.byteLength);
  try {
    const length = neededHeaderLength(bytes.subarray(0, HEADER_PREFIX_LENGTH));
    if (length === null || bytes.length < length) throw fail('header truncated');
    const header = parseObjectHeader(bytes, options.objectId);
    const expected = options.plaintextSize;
    const opener = new SegmentOpener(dataKey, header, {
      firstSegment: 0,
      endsWithFinal: true,
      ...(expected === undefined ? {} : { segmentCount: segmentCount(expected, header.segmentSize) }),
    });
    const out: Buffer[] = [];
    opener.write(bytes.subarray(length), (b) => out.push(b));
    opener.end((b) => out.push(b));
    const plaintext = Buffer.concat(out);
    if (expected !== undefined && plaintext.length !== expected) throw fail('object size differs from recorded');
    return plaintext;
  } catch (err) {
    throw asDecryptionError(err);
  }
}

// INVARIANT: nothing but DecryptionFailedError leaves a decryption, whatever went wrong.
function asDecryptionError(err: unknown): CofferError {
  return err instanceof DecryptionFailedError ? err : fail('unexpected decryption failure', err);
}

function fail(detail: string, cause?: unknown): DecryptionFailedError {
  return new DecryptionFailedError(undefined, { detail, cause });
}
