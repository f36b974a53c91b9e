import { DecryptionFailedError, ValidationError } from '../domain/errors.js';

/** First bytes of every encrypted object (ASCII `CFR1`). */
export const OBJECT_MAGIC = Buffer.from('CFR1', 'ascii');
/** Version of the encrypted-object format described in docs/format-encrypted-object.md. */
export const OBJECT_FORMAT_VERSION = 1;
/** Plaintext bytes per segment unless told otherwise (64 KiB). */
export const DEFAULT_SEGMENT_SIZE = 64 * 1024;
/** Largest segment size a header may declare: bounds what a reader buffers before authenticating. */
export const MAX_SEGMENT_SIZE = 16 * 1024 * 1024;
/** Longest object id (UTF-8 bytes) a header may carry. */
export const MAX_OBJECT_ID_BYTES = 512;
/** AES-GCM tag appended to every segment. */
export const TAG_LENGTH = 16;
/** Random part of every segment nonce, fixed per object. */
export const NONCE_PREFIX_LENGTH = 7;

/** Header bytes before the object id (magic, version, key term, object id length): enough to learn the header length. */
export const HEADER_PREFIX_LENGTH = 4 + 1 + 4 + 2;
const FIXED_PREFIX = HEADER_PREFIX_LENGTH;
/** Header bytes after the object id: segment size, nonce prefix. */
const FIXED_SUFFIX = 4 + NONCE_PREFIX_LENGTH;

/** The parsed header of an encrypted object. Every field is authenticated (it is the AAD of every segment). */
export interface ObjectHeader {
  /**
   * KEK term under which the data key was first wrapped. Informational: rotation
   * rewraps the data key without touching the object, so the current term lives in
   * metadata, not here.
   */
  keyTerm: number;
  /** The owner of the data key (the artifact version id). */
  objectId: string;
  /** Plaintext bytes per segment. */
  segmentSize: number;
  /** Random per object; the first 7 bytes of every segment nonce. */
  noncePrefix: Buffer;
  /** The exact header bytes, used as associated data of every segment. */
  bytes: Buffer;
}

/** Length in bytes of the header of an object whose id is `objectId`. */
export function objectHeaderLength(objectId: string): number {
  return FIXED_PREFIX + Buffer.byteLength(objectId, 'utf8') + FIXED_SUFFIX;
}

/**
 * Encodes a header. Throws ValidationError on out-of-range fields (these are
 * programming errors of the caller, never data from storage).
 */
export function encodeObjectHeader(fields: { keyTerm: number; objectId: string; segmentSize: number; noncePrefix: Uint8Array }): ObjectHeader {
  const id = Buffer.from(fields.objectId, 'utf8');
  if (!isU32(fields.keyTerm)) throw new ValidationError('key term must be an unsigned 32-bit integer');
  if (id.length === 0 || id.length > MAX_OBJECT_ID_BYTES) throw new ValidationError(`object id must be 1-${MAX_OBJECT_ID_BYTES} bytes`);
  if (!Number.isInteger(fields.segmentSize) || fields.segmentSize < 1 || fields.segmentSize > MAX_SEGMENT_SIZE) {
    throw new ValidationError(`segment size must be 1-${MAX_SEGMENT_SIZE} bytes`);
  }
  if (fields.noncePrefix.length !== NONCE_PREFIX_LENGTH) throw new ValidationError(`nonce prefix must be ${NONCE_PREFIX_LENGTH} bytes`);
  const bytes = Buffer.alloc(FIXED_PREFIX + id.length + FIXED_SUFFIX);
  OBJECT_MAGIC.copy(bytes, 0);
  bytes.writeUInt8(OBJECT_FORMAT_VERSION, 4);
  bytes.writeUInt32BE(fields.keyTerm, 5);
  bytes.writeUInt16BE(id.length, 9);
  id.copy(bytes, FIXED_PREFIX);
  let at = FIXED_PREFIX + id.length;
  bytes.writeUInt32BE(fields.segmentSize, at);
  at += 4;
  Buffer.from(fields.noncePrefix).copy(bytes, at);
  return { keyTerm: fields.keyTerm, objectId: fields.objectId, segmentSize: fields.segmentSize, noncePrefix: bytes.subarray(at, at + NONCE_PREFIX_LENGTH), bytes };
}

/**
 * How many header bytes a reader needs, judging from the first bytes it has:
 * `null` if fewer than the fixed prefix are available yet. Throws
 * DecryptionFailedError if those bytes cannot start a valid header.
 */
export function neededHeaderLength(start: Buffer): number | null {
  if (start.length < FIXED_PREFIX) return null;
  checkPrefix(start);
  const idLength = start.readUInt16BE(9);
  if (idLength === 0 || idLength > MAX_OBJECT_ID_BYTES) throw fail('header object id length out of range');
  return FIXED_PREFIX + idLength + FIXED_SUFFIX;
}

/**
 * Parses the header at the start of `bytes` (which must hold at least the whole
 * header). With `expectedObjectId`, an object that belongs to another id is refused.
 * Any malformed or unexpected header is a DecryptionFailedError: its bytes come from
 * untrusted storage, and it is authenticated only when the first segment is.
 */
export function parseObjectHeader(bytes: Buffer, expectedObjectId?: string): ObjectHeader {
  const length = neededHeaderLength(bytes);
  if (length === null || bytes.length < length) throw fail('header truncated');
  const idLength = bytes.readUInt16BE(9);
  const idBytes = bytes.subarray(FIXED_PREFIX, FIXED_PREFIX + idLength);
  const objectId = idBytes.toString('utf8');
  if (!Buffer.from(objectId, 'utf8').equals(idBytes)) throw fail('header object id is not valid utf-8');
  if (expectedObjectId !== undefined && objectId !== expectedObjectId) throw fail('header belongs to another object');
  let at = FIXED_PREFIX + idLength;
  const segmentSize = bytes.readUInt32BE(at);
  if (segmentSize < 1 || segmentSize > MAX_SEGMENT_SIZE) throw fail('header segment size out of range');
  at += 4;
  const header = Buffer.from(bytes.subarray(0, length));
  return {
    keyTerm: header.readUInt32BE(5),
    objectId,
    segmentSize,
    noncePrefix: header.subarray(at, at + NONCE_PREFIX_LENGTH),
    bytes: header,
  };
}

function checkPrefix(start: Buffer): void {
  if (!start.subarray(0, 4).equals(OBJECT_MAGIC)) throw fail('bad magic');
  if (start.readUInt8(4) !== OBJECT_FORMAT_VERSION) throw fail('unsupported format version');
}

function isU32(n: number): boolean {
  return Number.isInteger(n) && n >= 0 && n <= 0xffffffff;
}

function fail(detail: string): DecryptionFailedError {
  return new DecryptionFailedError(undefined, { detail });
}
