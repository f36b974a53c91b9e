/**
 * KeyProvider holds the root key that seals the keyring, and uses it for one thing only:
 * to wrap and unwrap the keyring key (a random 32-byte key that seals the keyring, see
 * keyring-codec's format 2). With an HSM (PKCS#11) or a KMS the root key never leaves
 * it: the node sees the keyring key, in memory, never the root key, and nothing of
 * either is written to the node's disk.
 *
 * TRUST: whoever holds the root key and the stored keyring can decrypt everything, so
 * the root key must live apart from the database and the blob store (a 0600 file on the
 * node by default, an environment variable, an HSM or a KMS). The wrapped keyring key is
 * stored with the keyring in the (untrusted) database: it is authenticated by the
 * provider and by the keyring's own tag, so an altered one fails to open, never leaks.
 */
export interface KeyProvider {
  /** `file`, `env`, `pkcs11` or `kms` (for messages and audit records). */
  readonly kind: KeyProviderKind;
  /** How this provider's wrapped keys are made (recorded in the sealed keyring); see {@link WRAP_SCHEME}. */
  readonly scheme: WrapScheme;
  /**
   * Wraps `key` (the 32-byte keyring key) under the current root key, binding `context`
   * (a wrapped key opens only with the same context). The result is opaque and names the
   * root key that made it. Rejects with KeyringError.
   */
  wrapKey(key: Uint8Array, context: Uint8Array): Promise<Buffer>;
  /**
   * Unwraps a key made by {@link KeyProvider.wrapKey} with this provider (any root key it
   * still holds, not only the current one). The caller owns the result and wipes it.
   * Anything else (another provider's, altered, another context, a destroyed root key):
   * KeyringError.
   */
  unwrapKey(wrapped: Uint8Array, context: Uint8Array): Promise<Buffer>;
  /** Public id of the root key that made `wrapped` (a fingerprint, an HSM object id, a KMS key ARN), or null if it is not this provider's. */
  keyIdOf(wrapped: Uint8Array): string | null;
  /**
   * Starts a rotation of the root key: where the provider makes its own keys (file,
   * PKCS#11) a new root key is made; otherwise (env, KMS) the rotation wraps under the
   * root key now configured. Nothing changes for readers until the caller saves a
   * keyring wrapped by the rotation and commits it. `inUseKeyId` is the root key the
   * stored keyring is under now (so a rotation a crash left half-way is finished, not
   * undone).
   */
  beginRotation(inUseKeyId: string | null): Promise<RootKeyRotation>;
  /**
   * Local providers only (file, env): the key that sealed a keyring of format 1, derived
   * from the root key (HKDF-SHA256, info `coffer/keyring/v1`). Such a keyring is opened
   * with it once and resealed in format 2.
   */
  legacySealingKey?(): Promise<Buffer>;
  /** Releases sessions and connections; the provider is unusable afterwards. */
  close(): Promise<void>;
}

/** A root key rotation in progress (see {@link KeyProvider.beginRotation}). */
export interface RootKeyRotation {
  /** Public id of the root key the rotation wraps under. */
  readonly keyId: string;
  /** Wraps under the new root key (as {@link KeyProvider.wrapKey}). */
  wrapKey(key: Uint8Array, context: Uint8Array): Promise<Buffer>;
  /**
   * Call once a keyring wrapped by {@link RootKeyRotation.wrapKey} is saved: the new root
   * key becomes the current one, and `previousKeyId` (the root key the keyring was under
   * before, if it was this provider's) is destroyed where the provider owns its keys.
   * Returns whether a previous root key was destroyed.
   */
  commit(previousKeyId: string | null): Promise<{ destroyedPrevious: boolean }>;
  /** Call if the keyring could not be saved: the new root key is discarded. */
  abort(): Promise<void>;
}

/** Kinds of key provider. */
export type KeyProviderKind = 'file' | 'env' | 'pkcs11' | 'kms';

/**
 * How a keyring key is wrapped, as recorded in a sealed keyring: `local` (AES-256-GCM
 * under a key derived from a 32-byte root key the node holds: file and env providers
 * share it, so a key file's keyring opens with the same key given as `rootKey`),
 * `pkcs11` (AES-256-GCM inside the HSM), `kms` (a KMS Encrypt ciphertext).
 */
export const WRAP_SCHEME = { local: 1, pkcs11: 2, kms: 3 } as const;
/** A value of {@link WRAP_SCHEME}. */
export type WrapScheme = (typeof WRAP_SCHEME)[keyof typeof WRAP_SCHEME];

/** Length of a root key (and of a keyring key) in bytes. */
export const ROOT_KEY_LENGTH = 32;

/** The context every keyring key is wrapped with (a wrapped key of anything else never opens as one). */
export const KEYRING_KEY_CONTEXT = Buffer.from('coffer/keyring-key/v2', 'ascii');
