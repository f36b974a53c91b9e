import { KeyringError } from '../domain/errors.js';
import { ROOT_KEY_LENGTH, WRAP_SCHEME, type KeyProvider, type KeyProviderKind, type RootKeyRotation } from './key-provider.js';
import { deriveKeyringKey } from './keyring-codec.js';
import { localKeyId, localKeyIdOf, unwrapWithLocalKey, wrapWithLocalKey } from './local-root-key.js';

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * A KeyProvider over a root key the caller read from its configuration (config/ reads
 * the environment; this class never does): base64 of exactly 32 bytes, or the bytes
 * themselves. It wraps in the `local` scheme, as the file provider does, so a keyring
 * made with a key file opens with the same key given as `rootKey`.
 *
 * Rotation wraps under this key: to rotate, configure the new key as `rootKey` and the
 * old one as `rootKeyPrevious`, then run `coffer keys rotate-root`.
 */
export class EnvKeyProvider implements KeyProvider {
  readonly scheme = WRAP_SCHEME.local;
  #key: Buffer | null = null;

  /**
   * @param value the base64 root key (or its bytes), or undefined if the setting is absent
   * @param source name of the setting, for error messages (never the value)
   * @param kind reported kind (`env`, or `file` for a key read from a file)
   */
  constructor(
    private readonly value: string | Uint8Array | undefined,
    private readonly source = 'COFFER_ROOT_KEY',
    readonly kind: KeyProviderKind = 'env',
  ) {}

  wrapKey(key: Uint8Array, context: Uint8Array): Promise<Buffer> {
    return this.#withKey((root) => wrapWithLocalKey(root, key, context));
  }

  unwrapKey(wrapped: Uint8Array, context: Uint8Array): Promise<Buffer> {
    return this.#withKey((root) => unwrapWithLocalKey([root], wrapped, context));
  }

  keyIdOf(wrapped: Uint8Array): string | null {
    return localKeyIdOf(wrapped);
  }

  legacySealingKey(): Promise<Buffer> {
    return this.#withKey((root) => deriveKeyringKey(root));
  }

  async beginRotation(): Promise<RootKeyRotation> {
    const keyId = await this.#withKey((root) => localKeyId(root));
    return {
      keyId,
      wrapKey: (key, context) => this.wrapKey(key, context),
      // the operator holds this key: nothing to make current, nothing this provider may destroy
      commit: () => Promise.resolve({ destroyedPrevious: false }),
      abort: () => Promise.resolve(),
    };
  }

  close(): Promise<void> {
    this.#key?.fill(0);
    this.#key = null;
    return Promise.resolve();
  }

  async #withKey<T>(use: (root: Buffer) => T): Promise<T> {
    this.#key ??= this.#parse();
    return Promise.resolve(use(this.#key));
  }

  #parse(): Buffer {
    if (this.value instanceof Uint8Array) {
      if (this.value.length !== ROOT_KEY_LENGTH) throw new KeyringError(`root key \`${this.source}\` is not valid: expected ${ROOT_KEY_LENGTH} bytes`);
      return Buffer.from(this.value);
    }
    const text = this.value?.trim();
    if (text === undefined || text === '') throw new KeyringError(`root key \`${this.source}\` is not set`);
    const key = BASE64.test(text) ? Buffer.from(text, 'base64') : null;
    if (key === null || key.length !== ROOT_KEY_LENGTH) {
      key?.fill(0);
      throw new KeyringError(`root key \`${this.source}\` is not valid: expected ${ROOT_KEY_LENGTH} bytes in base64`);
    }
    return key;
  }
}
