/**
 * KeyProvider supplies the root key that seals the keyring.
 *
 * TRUST: whoever holds the root key and the stored keyring can decrypt everything, so
 * the root key must live apart from the database and the blob store (a 0600 file on
 * the node by default, an environment variable or an external KMS).
 */
export interface KeyProvider {
  /** The 32-byte root key. The caller owns the returned Buffer and may wipe it. Rejects with KeyringError. */
  getRootKey(): Promise<Buffer>;
}

/** Length of a root key in bytes. */
export const ROOT_KEY_LENGTH = 32;
