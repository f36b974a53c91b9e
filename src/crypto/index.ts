/**
 * Encryption at rest: the segmented streaming AEAD format of encrypted objects
 * (docs/format-encrypted-object.md), per-object data keys wrapped by the KEK terms of
 * a keyring, the keyring sealed by a keyring key that a KeyProvider wraps under the root
 * key, with its local-file, environment, PKCS#11 (HSM) and AWS KMS adapters. Keys never leave this module except as the
 * per-object data key Buffer handed to the stream functions.
 */
export {
  DEFAULT_SEGMENT_SIZE,
  MAX_SEGMENT_SIZE,
  OBJECT_FORMAT_VERSION,
  TAG_LENGTH,
  objectHeaderLength,
  parseObjectHeader,
  type ObjectHeader,
} from './object-header.js';
export { segmentCount, ciphertextSize, planRangeRead, type ObjectLayout, type RangeReadPlan } from './segment-layout.js';
export { createEncryptStream, encryptObject, type EncryptOptions } from './encrypt-stream.js';
export { createDecryptStream, createRangeDecryptStream, decryptObject, type DecryptOptions } from './decrypt-stream.js';
export { generateDataKey, readWrappedKeyInfo, type WrappedKeyInfo } from './data-key.js';
export { Keyring, type KeyringStore, type KeyTermInfo, type KeyringOpenOptions, type RootKeyRotationResult } from './keyring.js';
export { openKeyring } from './open-keyring.js';
export { ROOT_KEY_LENGTH, KEYRING_KEY_CONTEXT, WRAP_SCHEME, type KeyProvider, type KeyProviderKind, type RootKeyRotation, type WrapScheme } from './key-provider.js';
export { FileKeyProvider } from './file-key-provider.js';
export { EnvKeyProvider } from './env-key-provider.js';
