import { randomBytes } from 'node:crypto';
import { Transform } from 'node:stream';
import { CofferError, InternalError } from '../domain/errors.js';
import { DEFAULT_SEGMENT_SIZE, NONCE_PREFIX_LENGTH, TAG_LENGTH, encodeObjectHeader } from './object-header.js';
import { SegmentSealer } from './segment-cipher.js';

/** What an encrypted object is bound to. */
export interface EncryptOptions {
  /** The object's 32-byte data key. The stream keeps its own copy and wipes it when done. */
  dataKey: Uint8Array;
  /** The owner of the data key (artifact version id), authenticated in every segment. */
  objectId: string;
  /** KEK term the data key is wrapped under when the object is written (recorded in the header). */
  keyTerm: number;
  /** Plaintext bytes per segment (default 64 KiB). */
  segmentSize?: number;
  /**
   * Known-answer vectors and tests only: a fixed nonce prefix. Production callers leave
   * it out and get a random one; a prefix must never repeat under one data key.
   */
  noncePrefix?: Uint8Array;
}

/**
 * A Transform that turns plaintext into an encrypted object (header, then segments)
 * in constant memory: at most one segment of plaintext is held at a time.
 */
export function createEncryptStream(options: EncryptOptions): Transform {
  const { header, sealer } = start(options);
  let headerSent = false;
  const sendHeader = (stream: Transform) => {
    if (headerSent) return;
    headerSent = true;
    stream.push(header.bytes);
  };
  const stream: Transform = new Transform({
    readableHighWaterMark: header.segmentSize + TAG_LENGTH,
    writableHighWaterMark: header.segmentSize,
    transform(chunk: Buffer, _encoding, callback) {
      try {
        sendHeader(this);
        sealer.write(chunk, (bytes) => this.push(bytes));
        callback();
      } catch (err) {
        callback(asCatalogError(err));
      }
    },
    flush(callback) {
      try {
        sendHeader(this);
        sealer.end((bytes) => this.push(bytes));
        callback();
      } catch (err) {
        callback(asCatalogError(err));
      }
    },
    destroy(err, callback) {
      sealer.wipe();
      callback(err);
    },
  });
  return stream;
}

/** Encrypts a whole in-memory plaintext into an encrypted object (same bytes as the stream). */
export function encryptObject(plaintext: Uint8Array, options: EncryptOptions): Buffer {
  const { header, sealer } = start(options);
  const out: Buffer[] = [header.bytes];
  try {
    sealer.write(Buffer.from(plaintext.buffer, plaintext.byteOffset, plaintext.byteLength), (bytes) => out.push(bytes));
    sealer.end((bytes) => out.push(bytes));
  } finally {
    sealer.wipe();
  }
  return Buffer.concat(out);
}

function start(options: EncryptOptions) {
  const header = encodeObjectHeader({
    keyTerm: options.keyTerm,
    objectId: options.objectId,
    segmentSize: options.segmentSize ?? DEFAULT_SEGMENT_SIZE,
    noncePrefix: options.noncePrefix ?? randomBytes(NONCE_PREFIX_LENGTH),
  });
  return { header, sealer: new SegmentSealer(options.dataKey, header) };
}

function asCatalogError(err: unknown): CofferError {
  return err instanceof CofferError ? err : new InternalError(undefined, { detail: 'encryption failed', cause: err });
}
