import { createCipheriv, createDecipheriv, createHash, createPrivateKey, createPublicKey, randomBytes } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { ConflictError, DecryptionFailedError, StorageError } from '../domain/errors.js';
import type { MetadataStore } from '../store/metadata-store.js';
import { loadDeviceCa } from './device-ca.js';
import type { DeviceCa } from './device-ca.js';

/** What identity needs from the keyring (the Keyring of crypto/ fits). */
export interface KeyWrapper {
  readonly currentTerm: number;
  wrapDataKey(objectId: string, dataKey: Uint8Array): { wrappedKey: Uint8Array; keyTerm: number };
  unwrapDataKey(objectId: string, wrappedKey: Uint8Array, keyTerm: number): Uint8Array;
  rewrapDataKey(wrappedKey: Uint8Array, keyTerm: number): { wrappedKey: Uint8Array; keyTerm: number };
}

/** The access-token signing key (Ed25519) and its public JWK. */
export interface SigningKey {
  kid: string;
  privateKey: KeyObject;
  publicKey: KeyObject;
  publicJwk: { kty: 'OKP'; crv: 'Ed25519'; x: string; kid: string; alg: 'EdDSA'; use: 'sig' };
}

/** Keys of the identity module, unwrapped in memory. */
export interface IdentityKeys {
  signing: SigningKey;
  box: SecretBox;
  /** The device CA (its Ed25519 key and self-signed certificate) that certifies approved devices for mTLS. */
  deviceCa: DeviceCa;
  /**
   * The signing key before the last rotation: it still verifies (and is published in the
   * JWKS) until `until` (epoch ms), when every access token it signed has expired.
   */
  previous: { key: SigningKey; until: number } | null;
}

const PARTS = {
  signing: { setting: 'identity-key/signing', objectId: 'coffer:identity:signing' },
  seal: { setting: 'identity-key/seal', objectId: 'coffer:identity:seal' },
  deviceCa: { setting: 'identity-key/device-ca', objectId: 'coffer:identity:device-ca' },
  // the retired signing seed keeps the object id it was wrapped under
  previousSigning: { setting: 'identity-key/signing-previous', objectId: 'coffer:identity:signing' },
} as const;
const PREVIOUS_UNTIL = 'identity/signing-previous-until';

const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

/**
 * Loads (or creates at first start) the identity keys: the Ed25519 seed that signs
 * access tokens, the AES-256 key that seals TOTP and client secrets, and the Ed25519
 * seed of the device CA (its certificate is created with it). Each 32-byte key
 * lives in settings wrapped by the keyring under its own object id (as the audit keys
 * are), so it is as safe as artifact data and follows key rotation: a key under an old
 * term is rewrapped here, at every start and rotation. Concurrent first starts agree by
 * compare-and-set.
 */
export async function loadIdentityKeys(store: MetadataStore, keyring: KeyWrapper): Promise<IdentityKeys> {
  const seed = await loadPart(store, keyring, PARTS.signing);
  const sealKey = await loadPart(store, keyring, PARTS.seal);
  const caSeed = await loadPart(store, keyring, PARTS.deviceCa);
  const untilBytes = await store.getSetting(PREVIOUS_UNTIL);
  const until = untilBytes !== null && untilBytes.length === 8 ? Number(Buffer.from(untilBytes).readBigUInt64BE(0)) : 0;
  const previousSeed = until > 0 ? await loadPart(store, keyring, PARTS.previousSigning, false) : null;
  try {
    return {
      signing: signingKeyFromSeed(seed),
      box: new SecretBox(sealKey),
      deviceCa: await loadDeviceCa(store, signingKeyFromSeed(caSeed), Date.now()),
      previous: previousSeed === null ? null : { key: signingKeyFromSeed(previousSeed), until },
    };
  } finally {
    seed.fill(0);
    sealKey.fill(0);
    caSeed.fill(0);
    previousSeed?.fill(0);
  }
}

/** How long a retired signing key keeps verifying: the longest access token, plus clock skew between nodes. */
export const RETIRED_KEY_GRACE_MS = 3600_000 + 120_000;

/**
 * Rotates the access-token signing key: a new Ed25519 seed becomes current (wrapped by
 * the keyring like the others); the current one becomes the previous key, which keeps
 * verifying until `now + RETIRED_KEY_GRACE_MS` (or not at all with `retireNow`, for a
 * key believed compromised: every access token it signed stops working at once; refresh
 * tokens are opaque and keep working). A previous key from an earlier rotation is
 * dropped. Compare-and-set on the current key: two concurrent rotations cannot both win.
 */
export async function rotateSigningKey(store: MetadataStore, keyring: KeyWrapper, now: number, retireNow: boolean): Promise<{ kid: string; previousKid: string; previousUntil: number }> {
  const stored = await store.getSetting(PARTS.signing.setting);
  if (stored === null) throw new StorageError(undefined, { detail: 'identity signing key missing' });
  const old = await loadPart(store, keyring, PARTS.signing);
  const previousKid = signingKeyFromSeed(old).kid;
  old.fill(0);
  const current = (await store.getSetting(PARTS.signing.setting))!;
  const until = retireNow ? now : now + RETIRED_KEY_GRACE_MS;
  const untilBytes = Buffer.alloc(8);
  untilBytes.writeBigUInt64BE(BigInt(until));
  // INVARIANT: the previous key is on record before the current one changes (a crash in between leaves two copies of the same key)
  await store.putSetting(PARTS.previousSigning.setting, current);
  await store.putSetting(PREVIOUS_UNTIL, untilBytes);
  const seed = randomBytes(32);
  try {
    const { wrappedKey, keyTerm } = keyring.wrapDataKey(PARTS.signing.objectId, seed);
    if (!(await store.putSetting(PARTS.signing.setting, withTerm(wrappedKey, keyTerm), current))) throw new ConflictError('the signing key was rotated concurrently; try again');
    return { kid: signingKeyFromSeed(seed).kid, previousKid, previousUntil: until };
  } finally {
    seed.fill(0);
  }
}

/** The Ed25519 key pair of a 32-byte seed. */
export function signingKeyFromSeed(seed: Uint8Array): SigningKey {
  const privateKey = createPrivateKey({ key: Buffer.concat([PKCS8_ED25519_PREFIX, seed]), format: 'der', type: 'pkcs8' });
  const publicKey = createPublicKey(privateKey);
  const x = publicKey.export({ format: 'jwk' }).x!;
  const kid = createHash('sha256').update(x).digest('base64url').slice(0, 16);
  return { kid, privateKey, publicKey, publicJwk: { kty: 'OKP', crv: 'Ed25519', x, kid, alg: 'EdDSA', use: 'sig' } };
}

async function loadPart(store: MetadataStore, keyring: KeyWrapper, part: { setting: string; objectId: string }): Promise<Buffer>;
async function loadPart(store: MetadataStore, keyring: KeyWrapper, part: { setting: string; objectId: string }, create: false): Promise<Buffer | null>;
async function loadPart(store: MetadataStore, keyring: KeyWrapper, part: { setting: string; objectId: string }, create = true): Promise<Buffer | null> {
  const stored = await store.getSetting(part.setting);
  if (stored === null && !create) return null;
  if (stored === null) {
    const key = randomBytes(32);
    const { wrappedKey, keyTerm } = keyring.wrapDataKey(part.objectId, key);
    // compare-and-set: if another node created the key first, use theirs
    if (await store.putSetting(part.setting, withTerm(wrappedKey, keyTerm), null)) return key;
    key.fill(0);
    return loadPart(store, keyring, part);
  }
  const b = Buffer.from(stored);
  const term = b.readUInt32BE(0);
  const wrapped = b.subarray(4);
  const key = Buffer.from(keyring.unwrapDataKey(part.objectId, wrapped, term));
  if (term !== keyring.currentTerm) {
    const next = keyring.rewrapDataKey(wrapped, term);
    await store.putSetting(part.setting, withTerm(next.wrappedKey, next.keyTerm), stored);
  }
  return key;
}

function withTerm(wrapped: Uint8Array, term: number): Buffer {
  const out = Buffer.alloc(4 + wrapped.length);
  out.writeUInt32BE(term, 0);
  out.set(wrapped, 4);
  return out;
}

const BOX_VERSION = 1;

/**
 * Seals small secrets (TOTP seeds, OIDC client secrets) with AES-256-GCM. The purpose
 * (e.g. `totp:<principal id>`) is authenticated as associated data, so a sealed value
 * moved to another account or use does not open.
 */
export class SecretBox {
  readonly #key: Buffer;

  constructor(key: Uint8Array) {
    this.#key = Buffer.from(key);
  }

  seal(purpose: string, plaintext: Uint8Array): Buffer {
    const nonce = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.#key, nonce);
    cipher.setAAD(Buffer.from(`coffer-secret-box:v1:${purpose}`));
    const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    return Buffer.concat([Buffer.from([BOX_VERSION]), nonce, body, cipher.getAuthTag()]);
  }

  /** Opens a sealed value; DecryptionFailedError if it was altered or sealed for another purpose. */
  open(purpose: string, sealed: Uint8Array): Buffer {
    const b = Buffer.from(sealed);
    if (b.length < 1 + 12 + 16 || b[0] !== BOX_VERSION) throw new DecryptionFailedError();
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.#key, b.subarray(1, 13));
      decipher.setAAD(Buffer.from(`coffer-secret-box:v1:${purpose}`));
      decipher.setAuthTag(b.subarray(b.length - 16));
      return Buffer.concat([decipher.update(b.subarray(13, b.length - 16)), decipher.final()]);
    } catch (err) {
      throw new DecryptionFailedError(undefined, { cause: err, detail: `secret box: ${purpose.split(':')[0]}` });
    }
  }
}
