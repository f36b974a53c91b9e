import type { Readable } from 'node:stream';
import { DEFAULT_SEGMENT_SIZE, MAX_SEGMENT_SIZE, type Keyring, type KeyTermInfo, type RootKeyRotationResult } from '../crypto/index.js';
import { ValidationError } from '../domain/errors.js';
import type { BlobStore } from '../store/blob-store.js';
import { openObject, type OpenOptions } from './open-object.js';
import { sealObject, type SealOptions } from './seal-object.js';
import type { SealedObject, SealedRef, Vault } from './vault.js';
import type { VaultDeps } from './vault-deps.js';

/** Default longest seal: a day (config `maxUploadSeconds`). */
export const DEFAULT_MAX_SEAL_MS = 24 * 3600 * 1000;

/** Options of {@link EncryptingVault}. */
export interface EncryptingVaultOptions {
  /** Untrusted storage for ciphertext. */
  blobStore: BlobStore;
  /** An open keyring (see crypto's openKeyring). */
  keyring: Keyring;
  /** Plaintext bytes per segment of new objects (default 64 KiB). Existing objects keep theirs. */
  segmentSize?: number;
  /**
   * Longest a seal may take (default 24 hours, config `maxUploadSeconds`); a longer one is
   * cut with UploadTimeoutError, so no blob is published later than this after its
   * upload began (the orphaned-blob sweep relies on it).
   */
  maxSealMs?: number;
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
    const maxSealMs = options.maxSealMs ?? DEFAULT_MAX_SEAL_MS;
    if (!Number.isSafeInteger(maxSealMs) || maxSealMs < 1) throw new ValidationError('the longest seal must be a positive number of milliseconds');
    this.deps = { blobStore: options.blobStore, keyring: options.keyring, segmentSize, maxSealMs };
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
