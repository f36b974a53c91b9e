import type { KeyringStore } from '../crypto/index.js';
import type { MetadataStore } from '../store/metadata-store.js';

/** Name of the metadata setting that holds the sealed keyring. */
export const KEYRING_SETTING = 'keyring';

/**
 * The keyring's persistence over MetadataStore settings: the sealed keyring is one
 * setting, replaced by compare-and-set so processes sharing the database never
 * clobber each other's rotations.
 */
export function settingsKeyringStore(settings: Pick<MetadataStore, 'getSetting' | 'putSetting'>, key: string = KEYRING_SETTING): KeyringStore {
  return {
    load: () => settings.getSetting(key),
    save: (sealed, previous) => settings.putSetting(key, sealed, previous),
  };
}
