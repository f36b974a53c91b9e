import type { Config } from '../config/index.js';
import { EnvKeyProvider, FileKeyProvider, type KeyProvider } from '../crypto/index.js';

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
    // the HSM binding and the AWS SDK are loaded only by the nodes that use them
    case 'pkcs11': {
      const { Pkcs11KeyProvider } = await import('../crypto/pkcs11-key-provider.js');
      return { provider: await Pkcs11KeyProvider.open(settings), previous };
    }
    case 'kms': {
      const { KmsKeyProvider } = await import('../crypto/kms-key-provider.js');
      return { provider: new KmsKeyProvider(settings), previous };
    }
  }
}
