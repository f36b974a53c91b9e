import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';
import { KeyringError, ValidationError } from '../domain/errors.js';
import { ROOT_KEY_LENGTH } from './key-provider.js';

/** Version byte of the local wrap format. */
const LOCAL_WRAP_VERSION = 1;
const KEY_ID_LENGTH = 8;
const NONCE_LENGTH = 12;
const TAG_LENGTH = 16;
/** version (1) + key id (8). */
const PREFIX_LENGTH = 1 + KEY_ID_LENGTH;
const WRAP_INFO = Buffer.from('coffer/root-wrap/v1', 'ascii');
const ID_INFO = Buffer.from('coffer/root-key-id/v1', 'ascii');

/**
 * Public id of a local root key: the first 8 bytes of HMAC-SHA256(root key,
 * `coffer/root-key-id/v1`), in hex. It tells which key made a wrapped key without
 * revealing anything usable about the key.
 */
export function localKeyId(rootKey: Uint8Array): string {
  checkRootKey(rootKey);
  return createHmac('sha256', rootKey).update(ID_INFO).digest().subarray(0, KEY_ID_LENGTH).toString('hex');
}

/**
 * Wraps `key` under a local root key (the `local` scheme of file and env providers).
 * `nonce` is for known-answer vectors only.
 *
 * Layout: version u8 (1) | key id (8) | nonce (12) | encrypted key | tag (16);
 * AES-256-GCM under HKDF-SHA256(root key, info `coffer/root-wrap/v1`), associated data =
 * version | key id | context.
 */
export function wrapWithLocalKey(rootKey: Uint8Array, key: Uint8Array, context: Uint8Array, nonce?: Uint8Array): Buffer {
  checkRootKey(rootKey);
  const iv = nonce === undefined ? randomBytes(NONCE_LENGTH) : Buffer.from(nonce);
  if (iv.length !== NONCE_LENGTH) throw new ValidationError('nonce must be 12 bytes');
  const prefix = Buffer.concat([Buffer.of(LOCAL_WRAP_VERSION), Buffer.from(localKeyId(rootKey), 'hex')]);
  const wrapping = wrappingKey(rootKey);
  try {
    const cipher = createCipheriv('aes-256-gcm', wrapping, iv, { authTagLength: TAG_LENGTH });
    cipher.setAAD(Buffer.concat([prefix, context]));
    return Buffer.concat([prefix, iv, cipher.update(key), cipher.final(), cipher.getAuthTag()]);
  } finally {
    wrapping.fill(0);
  }
}

/** The key id a locally wrapped key names, or null if `wrapped` is not in the local format. */
export function localKeyIdOf(wrapped: Uint8Array): string | null {
  const bytes = Buffer.from(wrapped.buffer, wrapped.byteOffset, wrapped.byteLength);
  if (bytes.length < PREFIX_LENGTH + NONCE_LENGTH + TAG_LENGTH + 1 || bytes.readUInt8(0) !== LOCAL_WRAP_VERSION) return null;
  return bytes.subarray(1, PREFIX_LENGTH).toString('hex');
}

/**
 * Unwraps a key wrapped by {@link wrapWithLocalKey} with the one of `rootKeys` it names.
 * No matching key, altered bytes, another context: KeyringError.
 */
export function unwrapWithLocalKey(rootKeys: readonly Uint8Array[], wrapped: Uint8Array, context: Uint8Array): Buffer {
  const id = localKeyIdOf(wrapped);
  if (id === null) throw new KeyringError('keyring could not be opened: its key was not wrapped by a local root key');
  const idBytes = Buffer.from(id, 'hex');
  const rootKey = rootKeys.find((k) => timingSafeEqual(Buffer.from(localKeyId(k), 'hex'), idBytes));
  if (rootKey === undefined) throw new KeyringError('keyring could not be opened: wrong root key or corrupted keyring', { detail: `no root key with id ${id}` });
  const bytes = Buffer.from(wrapped.buffer, wrapped.byteOffset, wrapped.byteLength);
  const wrapping = wrappingKey(rootKey);
  try {
    const decipher = createDecipheriv('aes-256-gcm', wrapping, bytes.subarray(PREFIX_LENGTH, PREFIX_LENGTH + NONCE_LENGTH), { authTagLength: TAG_LENGTH });
    decipher.setAAD(Buffer.concat([bytes.subarray(0, PREFIX_LENGTH), context]));
    decipher.setAuthTag(bytes.subarray(bytes.length - TAG_LENGTH));
    const head = decipher.update(bytes.subarray(PREFIX_LENGTH + NONCE_LENGTH, bytes.length - TAG_LENGTH));
    const tail = decipher.final();
    return tail.length === 0 ? head : Buffer.concat([head, tail]);
  } catch (err) {
    throw new KeyringError('keyring could not be opened: wrong root key or corrupted keyring', { detail: 'wrapped keyring key did not authenticate', cause: err });
  } finally {
    wrapping.fill(0);
  }
}

function wrappingKey(rootKey: Uint8Array): Buffer {
  return Buffer.from(hkdfSync('sha256', rootKey, Buffer.alloc(0), WRAP_INFO, 32));
}

function checkRootKey(rootKey: Uint8Array): void {
  if (rootKey.length !== ROOT_KEY_LENGTH) throw new KeyringError(`root key must be ${ROOT_KEY_LENGTH} bytes`);
}
