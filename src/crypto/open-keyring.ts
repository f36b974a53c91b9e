import type { KeyProvider } from './key-provider.js';
import { Keyring, type KeyringStore } from './keyring.js';

/**
 * Opens (or creates, on first start) the keyring sealed by the root key of
 * `provider`. The root key is wiped as soon as the keyring holds its derived key.
 */
export async function openKeyring(provider: KeyProvider, store: KeyringStore, options?: { now?: () => number }): Promise<Keyring> {
  const rootKey = await provider.getRootKey();
  try {
    return await Keyring.open({ rootKey, store, ...(options?.now === undefined ? {} : { now: options.now }) });
  } finally {
    rootKey.fill(0);
  }
}
