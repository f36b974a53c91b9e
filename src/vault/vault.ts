import type { Readable } from 'node:stream';
import type { RootKeyRotationResult } from '../crypto/index.js';
import type { ByteRange } from '../store/blob-store.js';

/** What the vault reports after sealing a plaintext stream into the blob store. */
export interface SealedObject {
  blobKey: string;
  /** Plaintext size in bytes. */
  size: number;
  /** Lowercase hex SHA-256 of the plaintext. */
  sha256: string;
  /** The object's data key wrapped by the KEK of `keyTerm`. */
  wrappedKey: Uint8Array;
  keyTerm: number;
}

/** The stored facts the vault needs to open an object again. */
export interface SealedRef {
  /** Binds the ciphertext to its owner (the artifact version id): authenticated as associated data. */
  objectId: string;
  blobKey: string;
  size: number;
  wrappedKey: Uint8Array | null;
  keyTerm: number;
}

/**
 * The barrier: the only path between plaintext and stored bytes. Everything that
 * crosses it outward is ciphertext; everything that crosses it inward is
 * authenticated before release. Any failure to open an object is one
 * DecryptionFailedError, whatever the cause.
 */
export interface Vault {
  /**
   * Encrypts `plaintext` under a fresh data key and streams it to the blob store.
   * Nothing is visible if the stream fails or `signal` aborts. When given,
   * `expectedSize` and `expectedSha256` are checked and a mismatch rejects
   * (ContentLengthMismatchError / DigestMismatchError) and leaves nothing behind.
   */
  seal(objectId: string, plaintext: Readable, options?: { signal?: AbortSignal; expectedSize?: number; expectedSha256?: string }): Promise<SealedObject>;
  /**
   * Plaintext of the object, or of the inclusive plaintext `range`, decrypting only
   * the segments the range touches. The stream errors with DecryptionFailedError on
   * any tampering; no unauthenticated byte is ever emitted.
   */
  open(ref: SealedRef, options?: { range?: ByteRange; signal?: AbortSignal }): Promise<Readable>;
  /** Removes the ciphertext of an object (its key should be shredded by the caller first). */
  remove(blobKey: string): Promise<void>;
  /** Adds a new KEK term to the keyring and makes it current; returns it. */
  addKeyTerm(): Promise<number>;
  /** The current KEK term (new data keys are wrapped under it). */
  currentKeyTerm(): number;
  /** Rewraps a data key under the current term without touching data. */
  rewrapKey(wrappedKey: Uint8Array, keyTerm: number): Promise<{ wrappedKey: Uint8Array; keyTerm: number }>;
  /**
   * Rotates the root key: the keyring is resealed under a fresh keyring key wrapped by a
   * new root key (KEKs and data keys are untouched). Returns public facts only.
   */
  rotateRootKey(): Promise<RootKeyRotationResult>;
}
