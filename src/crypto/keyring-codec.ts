import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { KeyringError, ValidationError } from '../domain/errors.js';

/** First bytes of a sealed keyring (ASCII `CFKR`). */
export const KEYRING_MAGIC = Buffer.from('CFKR', 'ascii');
/** Version of the sealed-keyring format sealed by a key derived from the root key (read only: opened, then resealed as v2). */
export const KEYRING_FORMAT_VERSION = 1;
/** Version of the sealed-keyring format whose keyring key is wrapped by a KeyProvider. */
export const KEYRING_FORMAT_VERSION_2 = 2;
/** Largest wrapped keyring key a sealed keyring carries (a KMS ciphertext blob and key ARN fit). */
export const MAX_WRAPPED_KEY_LENGTH = 4096;
const NONCE_LENGTH = 12;
const TAG_LENGTH = 16;
const KEY_LENGTH = 32;
const STATE_ACTIVE = 1;
const STATE_RETIRED = 2;
const HKDF_INFO = Buffer.from('coffer/keyring/v1', 'ascii');

/** One KEK term. `kek` is null once the term is retired (its key destroyed). */
export interface KeyTerm {
  term: number;
  /** Creation time, milliseconds since the epoch. */
  createdAt: number;
  kek: Buffer | null;
}

/** The keyring in memory. INVARIANT: terms are strictly increasing and `current` is the last one, and active. */
export interface KeyringState {
  current: number;
  terms: KeyTerm[];
}

/** The key that seals the keyring, derived from the root key (HKDF-SHA256, info `coffer/keyring/v1`). */
export function deriveKeyringKey(rootKey: Uint8Array): Buffer {
  if (rootKey.length !== KEY_LENGTH) throw new KeyringError('root key must be 32 bytes');
  return Buffer.from(hkdfSync('sha256', rootKey, Buffer.alloc(0), HKDF_INFO, KEY_LENGTH));
}

/**
 * Serializes and seals a keyring with the derived keyring key (AES-256-GCM, the
 * sealed header as associated data). `nonce` is for known-answer vectors only.
 *
 * Layout: magic `CFKR` | version u8 | nonce (12) | ciphertext | tag (16), where the
 * plaintext is: current term u32 | term count u32 | per term: term u32, created-at
 * u64 ms, state u8 (1 active, 2 retired), KEK (32, active only).
 */
export function sealKeyring(state: KeyringState, keyringKey: Uint8Array, nonce?: Uint8Array): Buffer {
  return sealBody(state, keyringKey, Buffer.concat([KEYRING_MAGIC, Buffer.of(KEYRING_FORMAT_VERSION)]), nonce);
}

/** `prefix` | nonce | AES-256-GCM(body) | tag, with prefix and nonce as associated data. */
function sealBody(state: KeyringState, keyringKey: Uint8Array, prefix: Buffer, nonce?: Uint8Array): Buffer {
  checkState(state, (detail) => new ValidationError(`keyring is not valid: ${detail}`));
  const body = Buffer.alloc(8 + state.terms.reduce((n, t) => n + 13 + (t.kek === null ? 0 : KEY_LENGTH), 0));
  body.writeUInt32BE(state.current, 0);
  body.writeUInt32BE(state.terms.length, 4);
  let at = 8;
  for (const t of state.terms) {
    body.writeUInt32BE(t.term, at);
    body.writeBigUInt64BE(BigInt(t.createdAt), at + 4);
    body.writeUInt8(t.kek === null ? STATE_RETIRED : STATE_ACTIVE, at + 12);
    at += 13;
    if (t.kek !== null) {
      t.kek.copy(body, at);
      at += KEY_LENGTH;
    }
  }
  const iv = nonce === undefined ? randomBytes(NONCE_LENGTH) : Buffer.from(nonce);
  if (iv.length !== NONCE_LENGTH) throw new ValidationError('nonce must be 12 bytes');
  const header = Buffer.concat([prefix, iv]);
  try {
    const cipher = createCipheriv('aes-256-gcm', keyringKey, iv, { authTagLength: TAG_LENGTH });
    cipher.setAAD(header);
    return Buffer.concat([header, cipher.update(body), cipher.final(), cipher.getAuthTag()]);
  } finally {
    body.fill(0);
  }
}

/** The readable head of a sealed keyring: its format version and, from version 2, the wrapped keyring key. */
export type SealedKeyringHead = { version: 1 } | { version: 2; scheme: number; wrappedKey: Buffer };

/**
 * Reads the version (and, in version 2, the wrap scheme and the wrapped keyring key) of
 * a sealed keyring. None of it is authenticated until the keyring is unsealed.
 */
export function readSealedHead(sealed: Uint8Array): SealedKeyringHead {
  const bytes = Buffer.from(sealed.buffer, sealed.byteOffset, sealed.byteLength);
  if (bytes.length < 5 || !bytes.subarray(0, 4).equals(KEYRING_MAGIC)) throw unusable('not a sealed keyring');
  const version = bytes.readUInt8(4);
  if (version === KEYRING_FORMAT_VERSION) return { version: 1 };
  if (version !== KEYRING_FORMAT_VERSION_2) throw unusable('unsupported keyring format version');
  if (bytes.length < 8) throw unusable('sealed keyring truncated');
  const length = bytes.readUInt16BE(6);
  if (length === 0 || length > MAX_WRAPPED_KEY_LENGTH || bytes.length < 8 + length + NONCE_LENGTH + TAG_LENGTH) throw unusable('sealed keyring truncated');
  return { version: 2, scheme: bytes.readUInt8(5), wrappedKey: Buffer.from(bytes.subarray(8, 8 + length)) };
}

/**
 * Seals a keyring in format 2: the keyring key is random and travels wrapped by a
 * KeyProvider (`scheme` names how), so the root key itself never has to leave an HSM or
 * a KMS. `nonce` is for known-answer vectors only.
 *
 * Layout: magic `CFKR` | version u8 (2) | scheme u8 | wrapped length u16 | wrapped keyring
 * key | nonce (12) | ciphertext | tag (16); AES-256-GCM under the keyring key with every
 * byte before the ciphertext as associated data. The body is that of version 1.
 */
export function sealKeyringV2(state: KeyringState, seal: { scheme: number; wrappedKey: Uint8Array; keyringKey: Uint8Array }, nonce?: Uint8Array): Buffer {
  if (!Number.isInteger(seal.scheme) || seal.scheme < 1 || seal.scheme > 255) throw new ValidationError('wrap scheme must be 1-255');
  if (seal.wrappedKey.length === 0 || seal.wrappedKey.length > MAX_WRAPPED_KEY_LENGTH) throw new ValidationError(`wrapped keyring key must be 1-${MAX_WRAPPED_KEY_LENGTH} bytes`);
  const length = Buffer.alloc(2);
  length.writeUInt16BE(seal.wrappedKey.length);
  const prefix = Buffer.concat([KEYRING_MAGIC, Buffer.of(KEYRING_FORMAT_VERSION_2, seal.scheme), length, seal.wrappedKey]);
  return sealBody(state, seal.keyringKey, prefix, nonce);
}

/**
 * Opens a sealed keyring of format 2 with its (unwrapped) keyring key. A wrong key,
 * a corrupted or foreign value, or an inconsistent keyring is a KeyringError.
 */
export function unsealKeyringV2(sealed: Uint8Array, keyringKey: Uint8Array): KeyringState {
  const head = readSealedHead(sealed);
  if (head.version !== 2) throw unusable('not a version 2 keyring');
  return unsealBody(sealed, keyringKey, 8 + head.wrappedKey.length);
}

/**
 * Opens a sealed keyring. A wrong root key, a corrupted or foreign value, or an
 * inconsistent keyring is a KeyringError (the keyring is unusable; nothing proceeds).
 */
export function unsealKeyring(sealed: Uint8Array, keyringKey: Uint8Array): KeyringState {
  if (readSealedHead(sealed).version !== 1) throw unusable('not a version 1 keyring');
  return unsealBody(sealed, keyringKey, 5);
}

/** Decrypts and parses the body that follows `prefixLength` bytes and the nonce. */
function unsealBody(sealed: Uint8Array, keyringKey: Uint8Array, prefixLength: number): KeyringState {
  const bytes = Buffer.from(sealed.buffer, sealed.byteOffset, sealed.byteLength);
  const headerLength = prefixLength + NONCE_LENGTH;
  if (bytes.length < headerLength + TAG_LENGTH) throw unusable('sealed keyring truncated');
  let body: Buffer;
  try {
    const decipher = createDecipheriv('aes-256-gcm', keyringKey, bytes.subarray(prefixLength, headerLength), { authTagLength: TAG_LENGTH });
    decipher.setAAD(bytes.subarray(0, headerLength));
    decipher.setAuthTag(bytes.subarray(bytes.length - TAG_LENGTH));
    body = decipher.update(bytes.subarray(headerLength, bytes.length - TAG_LENGTH));
    const rest = decipher.final();
    if (rest.length > 0) body = Buffer.concat([body, rest]);
  } catch (err) {
    throw new KeyringError('keyring could not be opened: wrong root key or corrupted keyring', { cause: err });
  }
  try {
    return parseBody(body);
  } finally {
    body.fill(0);
  }
}

function parseBody(body: Buffer): KeyringState {
  if (body.length < 8) throw unusable('keyring body truncated');
  const current = body.readUInt32BE(0);
  const count = body.readUInt32BE(4);
  const terms: KeyTerm[] = [];
  let at = 8;
  for (let i = 0; i < count; i++) {
    if (body.length < at + 13) throw unusable('keyring body truncated');
    const term = body.readUInt32BE(at);
    const createdAt = Number(body.readBigUInt64BE(at + 4));
    const state = body.readUInt8(at + 12);
    at += 13;
    let kek: Buffer | null = null;
    if (state === STATE_ACTIVE) {
      if (body.length < at + KEY_LENGTH) throw unusable('keyring body truncated');
      kek = Buffer.from(body.subarray(at, at + KEY_LENGTH));
      at += KEY_LENGTH;
    } else if (state !== STATE_RETIRED) {
      throw unusable('unknown key term state');
    }
    terms.push({ term, createdAt, kek });
  }
  if (at !== body.length) throw unusable('trailing bytes in keyring body');
  const state = { current, terms };
  checkState(state, unusable);
  return state;
}

function checkState(state: KeyringState, error: (detail: string) => Error): void {
  const { terms, current } = state;
  if (terms.length === 0) throw error('no key terms');
  let previous = 0;
  for (const t of terms) {
    if (!Number.isInteger(t.term) || t.term <= previous || t.term > 0xffffffff) throw error('terms must be strictly increasing 32-bit integers');
    if (!Number.isSafeInteger(t.createdAt) || t.createdAt < 0) throw error('creation time out of range');
    if (t.kek !== null && t.kek.length !== KEY_LENGTH) throw error('KEK must be 32 bytes');
    previous = t.term;
  }
  const last = terms[terms.length - 1]!;
  if (last.term !== current || last.kek === null) throw error('current term must be the newest active term');
}

function unusable(detail: string): KeyringError {
  return new KeyringError('keyring could not be opened: wrong root key or corrupted keyring', { detail });
}
