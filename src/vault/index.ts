/**
 * The vault: the only path between plaintext and stored bytes. It seals plaintext
 * streams into encrypted objects in the blob store, opens them (whole or by range),
 * and manages data-key rotation over the keyring of crypto/.
 */
export type { Vault, SealedObject, SealedRef } from './vault.js';
export { EncryptingVault, type EncryptingVaultOptions } from './encrypting-vault.js';
export type { SealOptions } from './seal-object.js';
export type { OpenOptions } from './open-object.js';
export { blobKeyFor, assertObjectId } from './blob-key.js';
export { settingsKeyringStore, KEYRING_SETTING } from './keyring-settings.js';
export { VAULT_BLOB_PREFIX, orphanGraceMs, orphanSweepIntervalMs, startOrphanSweeps, sweepOrphanBlobs, type OrphanSweepDeps, type OrphanSweepReport } from './orphan-blobs.js';
export {
  rewrapStaleKeys,
  rewrapStalePartKeys,
  rewrapKeyHolders,
  versionKeyHolders,
  partKeyHolders,
  type KeyHolder,
  type KeyHolderSource,
  type PartKeyHolder,
  type RewrapOptions,
  type RewrapReport,
  type StaleKeyStore,
  type StalePartKeyStore,
} from './rewrap-stale-keys.js';
