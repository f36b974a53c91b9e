import { createHmac, createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { KeyringError } from '../domain/errors.js';

/**
 * The secrets of the audit log. The caller keeps them sealed (in settings, under the
 * keyring) and hands them over at start.
 * - `hmacKey` (32 bytes) keys the HMAC of sensitive values: without it a record shows
 *   that two values were equal, never what they were.
 * - `signingKey` (Ed25519 private key) signs checkpoints; `publicKey` verifies them and
 *   may be published.
 */
export interface AuditKeys {
  readonly hmacKey: Uint8Array;
  readonly signingKey: KeyObject;
  readonly publicKey: KeyObject;
}

const SERIALIZED_VERSION = 1;
const HMAC_KEY_LENGTH = 32;
const ED25519_LENGTH = 32;
const SERIALIZED_LENGTH = 1 + HMAC_KEY_LENGTH + ED25519_LENGTH;

/** Prefix of an HMAC'd sensitive value in a record body. */
export const SENSITIVE_PREFIX = 'hmac-sha256:';

/** Fresh random audit keys. */
export function generateAuditKeys(): AuditKeys {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return Object.freeze({ hmacKey: new Uint8Array(randomBytes(HMAC_KEY_LENGTH)), signingKey: privateKey, publicKey });
}

/**
 * The keys as bytes, to be sealed by the caller: version (1) || HMAC key (32) ||
 * Ed25519 private seed (32). The result is secret.
 */
export function serializeAuditKeys(keys: AuditKeys): Uint8Array {
  const d = keys.signingKey.export({ format: 'jwk' }).d;
  if (d === undefined) throw new KeyringError('audit keys are not valid', { detail: 'signing key has no private part' });
  const seed = Buffer.from(d, 'base64url');
  const out = new Uint8Array(SERIALIZED_LENGTH);
  out[0] = SERIALIZED_VERSION;
  out.set(keys.hmacKey, 1);
  out.set(seed, 1 + HMAC_KEY_LENGTH);
  seed.fill(0);
  return out;
}

/** Reads keys written by {@link serializeAuditKeys}; KeyringError if the bytes are not such keys. */
export function parseAuditKeys(bytes: Uint8Array): AuditKeys {
  if (bytes.length !== SERIALIZED_LENGTH || bytes[0] !== SERIALIZED_VERSION) {
    throw new KeyringError('audit keys are not valid', { detail: `expected ${SERIALIZED_LENGTH} bytes of version ${SERIALIZED_VERSION}` });
  }
  const hmacKey = bytes.slice(1, 1 + HMAC_KEY_LENGTH);
  const seed = Buffer.from(bytes.subarray(1 + HMAC_KEY_LENGTH));
  try {
    return Object.freeze({ hmacKey, ...ed25519FromSeed(seed) });
  } catch (cause) {
    throw new KeyringError('audit keys are not valid', { detail: 'ed25519 seed rejected', cause });
  } finally {
    seed.fill(0);
  }
}

/** Builds the Ed25519 key pair of a 32-byte seed (deterministic; for known-answer tests). */
export function ed25519FromSeed(seed: Uint8Array): { signingKey: KeyObject; publicKey: KeyObject } {
  if (seed.length !== ED25519_LENGTH) throw new KeyringError('audit keys are not valid', { detail: 'ed25519 seed must be 32 bytes' });
  // PKCS#8 wrapping of a raw Ed25519 seed (RFC 8410): fixed 16-byte prefix
  const prefix = Buffer.from('302e020100300506032b657004220420', 'hex');
  const signingKey = createPrivateKey({ key: Buffer.concat([prefix, seed]), format: 'der', type: 'pkcs8' });
  return { signingKey, publicKey: createPublicKey(signingKey) };
}

/** The public checkpoint key as text (base64url of the raw 32-byte Ed25519 key), for verifiers. */
export function exportAuditPublicKey(keys: Pick<AuditKeys, 'publicKey'>): string {
  const x = keys.publicKey.export({ format: 'jwk' }).x;
  if (x === undefined) throw new KeyringError('audit keys are not valid', { detail: 'public key has no x' });
  return x;
}

/** Reads a public key written by {@link exportAuditPublicKey}; KeyringError if it is not one. */
export function parseAuditPublicKey(text: string): KeyObject {
  if (!/^[A-Za-z0-9_-]{43}$/.test(text)) throw new KeyringError('audit public key is not valid', { detail: 'expected 43 base64url characters' });
  try {
    return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: text }, format: 'jwk' });
  } catch (cause) {
    throw new KeyringError('audit public key is not valid', { cause });
  }
}

/**
 * A sensitive value as it appears in a record: `hmac-sha256:` + hex HMAC-SHA256 under
 * the audit HMAC key. Stable for one key, so an operator holding the key can compute
 * it for a value and search for it; not reversible without the key.
 */
export function hmacSensitive(keys: Pick<AuditKeys, 'hmacKey'>, value: string): string {
  return SENSITIVE_PREFIX + createHmac('sha256', keys.hmacKey).update(value, 'utf8').digest('hex');
}
