import type { KeyProvider } from './key-provider.js';
import { Keyring, type KeyringStore } from './keyring.js';

/**
 * Opens (or creates, on first start) the keyring whose keyring key `provider` wraps;
 * `previous` opens a keyring still under the root key of the provider moved away from.
 * The keyring key stays in memory only; the root key stays with the provider.
 */
export async function openKeyring(provider: KeyProvider, store: KeyringStore, options?: { now?: () => number; previous?: KeyProvider | null }): Promise<Keyring> {
  return Keyring.open({ provider, store, previous: options?.previous ?? null, ...(options?.now === undefined ? {} : { now: options.now }) });
}
