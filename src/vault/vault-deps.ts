import type { Keyring } from '../crypto/index.js';
import type { BlobStore } from '../store/blob-store.js';

/** What the vault operations work with (internal to vault/). */
export interface VaultDeps {
  /** Untrusted: holds ciphertext only. */
  blobStore: BlobStore;
  keyring: Keyring;
  /** Plaintext bytes per segment of new objects. */
  segmentSize: number;
  /** Longest a seal may take; a longer one is cut (UploadTimeoutError). */
  maxSealMs: number;
}
