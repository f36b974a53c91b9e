import type { Config } from '../config/index.js';
import { EnvKeyProvider, FileKeyProvider, type KeyProvider } from '../crypto/index.js';
import { KmsKeyProvider } from '../crypto/kms-key-provider.js';
import { Pkcs11KeyProvider } from '../crypto/pkcs11-key-provider.js';

/**
 * The configured key provider, and the previous local root key (`rootKeyPrevious`) when
 * the keyring is still sealed under it (moving to another key or provider).
 */
export async function openKeyProvider(config: Config): Promise<{ provider: KeyProvider; previous: KeyProvider | null }> {
  const settings = config.keyProvider;
  const previous = settings.previousRootKey !== null ? new EnvKeyProvider(settings.previousRootKey, 'rootKeyPrevious') : null;
  switch (settings.kind) {
    case 'file':
      return { provider: new FileKeyProvider(settings.path), previous };
    case 'env':
      return { provider: new EnvKeyProvider(settings.rootKey, 'rootKey'), previous };
    case 'pkcs11':
      return { provider: await Pkcs11KeyProvider.open(settings), previous };
    case 'kms':
      return { provider: new KmsKeyProvider(settings), previous };
  }
}
