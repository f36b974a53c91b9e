import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { DecryptionFailedError, ValidationError } from '../domain/errors.js';
import { MAX_OBJECT_ID_BYTES } from './object-header.js';
import { DATA_KEY_LENGTH } from './segment-cipher.js';

/** Version byte of the wrapped-key format. */
export const WRAPPED_KEY_VERSION = 1;
const NONCE_LENGTH = 12;
const TAG_LENGTH = 16;
/** version (1) + term (4) + object id length (2). */
const FIXED_PREFIX = 7;

/** A fresh random 256-bit data key. The caller owns it and should wipe it (`fill(0)`) when done. */
export function generateDataKey(): Buffer {
  return randomBytes(DATA_KEY_LENGTH);
}

/** The authenticated, readable part of a wrapped data key. */
export interface WrappedKeyInfo {
  /** KEK term the data key is wrapped under. */
  keyTerm: number;
  /** Object the data key belongs to. */
  objectId: string;
}

/**
 * Wraps `dataKey` with `kek` (AES-256-GCM). The wrapped form carries the term and the
 * object id, and authenticates both as associated data, so a wrapped key moved to
 * another object or relabelled with another term no longer unwraps.
 * `nonce` is for known-answer vectors only; production callers leave it out.
 *
 * Layout: version u8 | term u32 BE | id length u16 BE | object id | nonce (12) | encrypted key (32) | tag (16).
 */
export function wrapDataKey(kek: Uint8Array, keyTerm: number, objectId: string, dataKey: Uint8Array, nonce?: Uint8Array): Buffer {
  if (kek.length !== 32 || dataKey.length !== DATA_KEY_LENGTH) throw new ValidationError('keys must be 32 bytes');
  if (!Number.isInteger(keyTerm) || keyTerm < 1 || keyTerm > 0xffffffff) throw new ValidationError('key term must be a positive 32-bit integer');
  const id = Buffer.from(objectId, 'utf8');
  if (id.length === 0 || id.length > MAX_OBJECT_ID_BYTES) throw new ValidationError(`object id must be 1-${MAX_OBJECT_ID_BYTES} bytes`);
  const iv = nonce === undefined ? randomBytes(NONCE_LENGTH) : Buffer.from(nonce);
  if (iv.length !== NONCE_LENGTH) throw new ValidationError('nonce must be 12 bytes');
  const aad = Buffer.alloc(FIXED_PREFIX + id.length);
  aad.writeUInt8(WRAPPED_KEY_VERSION, 0);
  aad.writeUInt32BE(keyTerm, 1);
  aad.writeUInt16BE(id.length, 5);
  id.copy(aad, FIXED_PREFIX);
  const cipher = createCipheriv('aes-256-gcm', kek, iv, { authTagLength: TAG_LENGTH });
  cipher.setAAD(aad);
  const sealed = Buffer.concat([cipher.update(dataKey), cipher.final()]);
  return Buffer.concat([aad, iv, sealed, cipher.getAuthTag()]);
}

/**
 * Reads the term and object id of a wrapped key without unwrapping it. They are not
 * authenticated until {@link unwrapDataKey} succeeds. Throws DecryptionFailedError
 * if the bytes are not a wrapped key.
 */
export function readWrappedKeyInfo(wrapped: Uint8Array): WrappedKeyInfo {
  const bytes = Buffer.from(wrapped.buffer, wrapped.byteOffset, wrapped.byteLength);
  if (bytes.length < FIXED_PREFIX || bytes.readUInt8(0) !== WRAPPED_KEY_VERSION) throw fail('not a wrapped key');
  const idLength = bytes.readUInt16BE(5);
  if (idLength === 0 || bytes.length !== FIXED_PREFIX + idLength + NONCE_LENGTH + DATA_KEY_LENGTH + TAG_LENGTH) throw fail('wrapped key has the wrong length');
  const idBytes = bytes.subarray(FIXED_PREFIX, FIXED_PREFIX + idLength);
  const objectId = idBytes.toString('utf8');
  if (!Buffer.from(objectId, 'utf8').equals(idBytes)) throw fail('wrapped key object id is not valid utf-8');
  return { keyTerm: bytes.readUInt32BE(1), objectId };
}

/**
 * Unwraps a data key wrapped for `objectId` under `keyTerm` with `kek`. Any mismatch
 * (other object, other term, wrong KEK, altered bytes) is a DecryptionFailedError.
 * The caller owns the returned key and should wipe it when done.
 */
export function unwrapDataKey(kek: Uint8Array, keyTerm: number, objectId: string, wrapped: Uint8Array): Buffer {
  const info = readWrappedKeyInfo(wrapped);
  // both checks are also enforced by the tag (they are in the AAD); failing early just avoids the work
  if (info.keyTerm !== keyTerm) throw fail('wrapped key term differs from recorded term');
  if (info.objectId !== objectId) throw fail('wrapped key belongs to another object');
  const bytes = Buffer.from(wrapped.buffer, wrapped.byteOffset, wrapped.byteLength);
  const aadLength = bytes.length - NONCE_LENGTH - DATA_KEY_LENGTH - TAG_LENGTH;
  try {
    const decipher = createDecipheriv('aes-256-gcm', kek, bytes.subarray(aadLength, aadLength + NONCE_LENGTH), { authTagLength: TAG_LENGTH });
    decipher.setAAD(bytes.subarray(0, aadLength));
    decipher.setAuthTag(bytes.subarray(bytes.length - TAG_LENGTH));
    const head = decipher.update(bytes.subarray(aadLength + NONCE_LENGTH, bytes.length - TAG_LENGTH));
    const tail = decipher.final();
    return tail.length === 0 ? head : Buffer.concat([head, tail]);
  } catch (err) {
    throw fail('wrapped key did not authenticate', err);
  }
}

function fail(detail: string, cause?: unknown): DecryptionFailedError {
  return new DecryptionFailedError(undefined, { detail, cause });
}
