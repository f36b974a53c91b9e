import { KeyringError } from '../domain/errors.js';
import { ROOT_KEY_LENGTH, type KeyProvider } from './key-provider.js';

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * A KeyProvider over a base64 value the caller read from its configuration (config/
 * reads the environment; this class never does). The value must decode to exactly
 * 32 bytes.
 */
export class EnvKeyProvider implements KeyProvider {
  /**
   * @param value the base64 root key, or undefined if the setting is absent
   * @param source name of the setting, for error messages (never the value)
   */
  constructor(
    private readonly value: string | undefined,
    private readonly source = 'COFFER_ROOT_KEY',
  ) {}

  getRootKey(): Promise<Buffer> {
    const text = this.value?.trim();
    if (text === undefined || text === '') return Promise.reject(new KeyringError(`root key \`${this.source}\` is not set`));
    const key = BASE64.test(text) ? Buffer.from(text, 'base64') : null;
    if (key === null || key.length !== ROOT_KEY_LENGTH) {
      key?.fill(0);
      return Promise.reject(new KeyringError(`root key \`${this.source}\` is not valid: expected ${ROOT_KEY_LENGTH} bytes in base64`));
    }
    return Promise.resolve(key);
  }
}
