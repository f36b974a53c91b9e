import { DecryptCommand, EncryptCommand, KMSClient } from '@aws-sdk/client-kms';
import { KeyringError, ValidationError } from '../domain/errors.js';
import { describeSdkFailure, sdkFailure } from '../domain/sdk-failure.js';
import { ROOT_KEY_LENGTH, WRAP_SCHEME, type KeyProvider, type RootKeyRotation } from './key-provider.js';

/** Version byte of the KMS wrap format. */
const KMS_WRAP_VERSION = 1;
/** The encryption-context key every wrap is bound with (KMS authenticates the context). */
const CONTEXT_KEY = 'coffer-context';
const MAX_KEY_ID_LENGTH = 2048;
const REQUEST_TIMEOUT_MS = 15_000;

/** How to reach the KMS (config keys `kms*`). */
export interface KmsSettings {
  /** Key id, ARN or alias of a symmetric encryption key. */
  keyId: string;
  region: string;
  /** null = the AWS endpoint of `region`. */
  endpoint: string | null;
  /** null = the AWS SDK's default credential chain. */
  credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string } | null;
}

/**
 * A KeyProvider whose root key is a symmetric key in AWS KMS (or a KMS-compatible
 * service): the keyring key is sent to KMS Encrypt and comes back through KMS Decrypt,
 * bound to an encryption context, so the root key never leaves KMS and the node needs
 * only `kms:Encrypt` and `kms:Decrypt` on it.
 *
 * Rotation wraps under the key now configured (`kmsKeyId`): KMS rotates a key's material
 * by itself, and moving to another key is a change of `kmsKeyId` then `coffer keys
 * rotate-root`. Nothing is destroyed (deleting a KMS key is an AWS administrator's act).
 *
 * Wrapped format: version u8 (1) | key ARN length u16 | key ARN (UTF-8, as KMS named it)
 * | KMS ciphertext blob. Decrypt names the ARN, so a blob of another key is refused.
 */
export class KmsKeyProvider implements KeyProvider {
  readonly kind = 'kms';
  readonly scheme = WRAP_SCHEME.kms;
  readonly #client: KMSClient;

  constructor(
    private readonly settings: KmsSettings,
    client?: KMSClient,
  ) {
    if (settings.keyId.length === 0 || settings.keyId.length > MAX_KEY_ID_LENGTH) throw new ValidationError('KMS key id must be 1-2048 characters');
    this.#client =
      client ??
      new KMSClient({
        region: settings.region,
        ...(settings.endpoint === null ? {} : { endpoint: settings.endpoint }),
        // a copy: the SDK annotates the credentials object it is given, and config is frozen
        ...(settings.credentials === null ? {} : { credentials: { ...settings.credentials } }),
        maxAttempts: 3,
      });
  }

  async wrapKey(key: Uint8Array, context: Uint8Array): Promise<Buffer> {
    if (key.length !== ROOT_KEY_LENGTH) throw new ValidationError(`keyring key must be ${ROOT_KEY_LENGTH} bytes`);
    const answer = await this.#send('encrypt', () =>
      this.#client.send(new EncryptCommand({ KeyId: this.settings.keyId, Plaintext: key, EncryptionContext: encryptionContext(context) }), { abortSignal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) }),
    );
    if (answer.CiphertextBlob === undefined || answer.CiphertextBlob.length === 0) throw new KeyringError('KMS encrypt failed', { detail: 'no ciphertext in the answer' });
    return encodeKmsWrapped(answer.KeyId ?? this.settings.keyId, answer.CiphertextBlob);
  }

  async unwrapKey(wrapped: Uint8Array, context: Uint8Array): Promise<Buffer> {
    const parsed = decodeKmsWrapped(wrapped);
    if (parsed === null) throw new KeyringError('keyring could not be opened: its key was not wrapped by KMS');
    const answer = await this.#send('decrypt', () =>
      this.#client.send(new DecryptCommand({ KeyId: parsed.keyId, CiphertextBlob: parsed.blob, EncryptionContext: encryptionContext(context) }), { abortSignal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) }),
    );
    // INVARIANT: the key that decrypted is the one the blob names (KMS checks it too)
    if (answer.KeyId !== undefined && answer.KeyId !== parsed.keyId) throw new KeyringError('keyring could not be opened: wrong root key or corrupted keyring', { detail: 'KMS decrypted with another key' });
    const plain = answer.Plaintext;
    if (plain === undefined || plain.length !== ROOT_KEY_LENGTH) throw new KeyringError('keyring could not be opened: wrong root key or corrupted keyring', { detail: 'KMS returned a key of the wrong length' });
    const key = Buffer.from(plain);
    plain.fill(0);
    return key;
  }

  keyIdOf(wrapped: Uint8Array): string | null {
    return decodeKmsWrapped(wrapped)?.keyId ?? null;
  }

  async beginRotation(): Promise<RootKeyRotation> {
    return {
      keyId: this.settings.keyId,
      wrapKey: (key, context) => this.wrapKey(key, context),
      commit: () => Promise.resolve({ destroyedPrevious: false }),
      abort: () => Promise.resolve(),
    };
  }

  close(): Promise<void> {
    this.#client.destroy();
    return Promise.resolve();
  }

  async #send<T>(operation: string, request: () => Promise<T>): Promise<T> {
    try {
      return await request();
    } catch (err) {
      const f = sdkFailure(err);
      const detail = `kms: ${operation}: ${describeSdkFailure(f)}`;
      // a refused ciphertext is a wrong or altered keyring; anything else is KMS being unusable
      if (f.code === 'InvalidCiphertextException' || f.code === 'IncorrectKeyException') {
        throw new KeyringError('keyring could not be opened: wrong root key or corrupted keyring', { detail });
      }
      throw new KeyringError(`KMS ${operation} failed: ${f.code}`, { detail });
    }
  }
}

/** The encryption context of a wrap: the context bytes, base64 (KMS contexts are strings). */
function encryptionContext(context: Uint8Array): Record<string, string> {
  return { [CONTEXT_KEY]: Buffer.from(context).toString('base64') };
}

/** Encodes a KMS-wrapped key (see {@link KmsKeyProvider}). */
export function encodeKmsWrapped(keyId: string, blob: Uint8Array): Buffer {
  const id = Buffer.from(keyId, 'utf8');
  if (id.length === 0 || id.length > MAX_KEY_ID_LENGTH) throw new KeyringError(undefined, { detail: 'KMS key id of the wrong length' });
  const length = Buffer.alloc(2);
  length.writeUInt16BE(id.length);
  return Buffer.concat([Buffer.of(KMS_WRAP_VERSION), length, id, blob]);
}

/** Decodes a KMS-wrapped key, or null if `wrapped` is not one. */
export function decodeKmsWrapped(wrapped: Uint8Array): { keyId: string; blob: Buffer } | null {
  const bytes = Buffer.from(wrapped.buffer, wrapped.byteOffset, wrapped.byteLength);
  if (bytes.length < 4 || bytes.readUInt8(0) !== KMS_WRAP_VERSION) return null;
  const length = bytes.readUInt16BE(1);
  if (length === 0 || length > MAX_KEY_ID_LENGTH || bytes.length <= 3 + length) return null;
  const idBytes = bytes.subarray(3, 3 + length);
  const keyId = idBytes.toString('utf8');
  if (!Buffer.from(keyId, 'utf8').equals(idBytes)) return null;
  return { keyId, blob: Buffer.from(bytes.subarray(3 + length)) };
}
