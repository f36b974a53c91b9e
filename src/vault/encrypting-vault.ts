import type { Readable } from 'node:stream';
import { DEFAULT_SEGMENT_SIZE, MAX_SEGMENT_SIZE, type Keyring, type KeyTermInfo, type RootKeyRotationResult } from '../crypto/index.js';
import { ValidationError } from '../domain/errors.js';
import type { BlobStore } from '../store/blob-store.js';
import { openObject, type OpenOptions } from './open-object.js';
import { sealObject, type SealOptions } from './seal-object.js';
import type { SealedObject, SealedRef, Vault } from './vault.js';
import type { VaultDeps } from './vault-deps.js';

/** Options of {@link EncryptingVault}. */
export interface EncryptingVaultOptions {
  /** Untrusted storage for ciphertext. */
  blobStore: BlobStore;
  /** An open keyring (see crypto's openKeyring). */
  keyring: Keyring;
  /** Plaintext bytes per segment of new objects (default 64 KiB). Existing objects keep theirs. */
  segmentSize?: number;
}

/**
 * The Vault: every object is encrypted with its own random data key in the segmented
 * format of crypto/ before it reaches the blob store, and authenticated segment by
 * segment on the way back.
 *
 * Crypto-shredding: the data key exists only wrapped, in the version's metadata. Once
 * that wrapped key is nulled (or its KEK term retired) the ciphertext can never be
 * decrypted again, by anyone; `open` then fails with DecryptionFailedError. Removing
 * the blob afterwards only reclaims space.
 */
export class EncryptingVault implements Vault {
  private readonly deps: VaultDeps;

  constructor(options: EncryptingVaultOptions) {
    const segmentSize = options.segmentSize ?? DEFAULT_SEGMENT_SIZE;
    if (!Number.isInteger(segmentSize) || segmentSize < 1 || segmentSize > MAX_SEGMENT_SIZE) {
      throw new ValidationError(`segment size must be 1-${MAX_SEGMENT_SIZE} bytes`);
    }
    this.deps = { blobStore: options.blobStore, keyring: options.keyring, segmentSize };
  }

  seal(objectId: string, plaintext: Readable, options?: SealOptions): Promise<SealedObject> {
    return sealObject(this.deps, objectId, plaintext, options);
  }

  open(ref: SealedRef, options?: OpenOptions): Promise<Readable> {
    return openObject(this.deps, ref, options);
  }

  remove(blobKey: string): Promise<void> {
    return this.deps.blobStore.delete(blobKey);
  }

  addKeyTerm(): Promise<number> {
    return this.deps.keyring.addTerm();
  }

  rotateRootKey(): Promise<RootKeyRotationResult> {
    return this.deps.keyring.rotateRoot();
  }

  currentKeyTerm(): number {
    return this.deps.keyring.currentTerm;
  }

  async rewrapKey(wrappedKey: Uint8Array, keyTerm: number): Promise<{ wrappedKey: Uint8Array; keyTerm: number }> {
    if (this.deps.keyring.isUnknownTerm(keyTerm)) await this.deps.keyring.refresh();
    return this.deps.keyring.rewrapDataKey(wrappedKey, keyTerm);
  }

  /**
   * Destroys the KEK of `term`: every data key still wrapped under it becomes
   * unrecoverable. Run rewrapStaleKeys first and retire only after a clean pass.
   */
  retireKeyTerm(term: number): Promise<void> {
    return this.deps.keyring.retireTerm(term);
  }

  /** The keyring's terms (numbers, creation times, retired or not; never keys). */
  keyTerms(): KeyTermInfo[] {
    return this.deps.keyring.terms();
  }
}
