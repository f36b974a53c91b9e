import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream';
import { ContentLengthMismatchError, CofferError, DigestMismatchError, StorageError, UploadAbortedError, UploadTimeoutError, ValidationError } from '../domain/errors.js';
import { ciphertextSize, createEncryptStream, generateDataKey, objectHeaderLength } from '../crypto/index.js';
import { blobKeyFor } from './blob-key.js';
import { destroySafely, guard } from '../streams/index.js';
import { PlaintextMeter } from './plaintext-meter.js';
import type { SealedObject } from './vault.js';
import type { VaultDeps } from './vault-deps.js';

const SHA256_HEX = /^[0-9a-f]{64}$/;

/** Options of {@link sealObject}, as in Vault.seal. */
export interface SealOptions {
  signal?: AbortSignal;
  expectedSize?: number;
  expectedSha256?: string;
}

/**
 * Encrypts `plaintext` under a fresh data key and streams it to the blob store at
 * `blobKeyFor(objectId)`, measuring size and SHA-256 on the way (see Vault.seal).
 */
export async function sealObject(deps: VaultDeps, objectId: string, plaintext: Readable, options: SealOptions = {}): Promise<SealedObject> {
  const { signal } = options;
  const expectedSha256 = options.expectedSha256?.toLowerCase();
  let blobKey: string;
  try {
    blobKey = blobKeyFor(objectId);
    if (options.expectedSize !== undefined && (!Number.isSafeInteger(options.expectedSize) || options.expectedSize < 0)) {
      throw new ValidationError('expected size must be a non-negative integer');
    }
    if (expectedSha256 !== undefined && !SHA256_HEX.test(expectedSha256)) throw new ValidationError('expected sha256 must be 64 hex characters');
    if (signal?.aborted) throw new UploadAbortedError(undefined, { detail: 'signal aborted before sealing started' });
  } catch (err) {
    destroySafely(plaintext);
    throw err;
  }

  const dataKey = generateDataKey();
  let sealed: { wrappedKey: Uint8Array; keyTerm: number };
  let encrypt;
  try {
    sealed = deps.keyring.wrapDataKey(objectId, dataKey);
    encrypt = createEncryptStream({ dataKey, objectId, keyTerm: sealed.keyTerm, segmentSize: deps.segmentSize });
  } catch (err) {
    destroySafely(plaintext);
    throw err;
  } finally {
    // the encrypt stream holds its own copy and wipes it when done
    dataKey.fill(0);
  }

  const meter = new PlaintextMeter({
    ...(options.expectedSize === undefined ? {} : { size: options.expectedSize }),
    ...(expectedSha256 === undefined ? {} : { sha256: expectedSha256 }),
  });
  // errors anywhere destroy every stage, so the store sees its body fail and publishes nothing.
  // INVARIANT: every stage stays guarded after the pipeline settles (it drops its listener on
  // the last stage then), so an abort or a late failure can never emit an unhandled error
  guard(plaintext);
  guard(meter);
  guard(encrypt);
  pipeline(plaintext, meter, encrypt, () => undefined);
  const onAbort = () => destroySafely(encrypt, new UploadAbortedError(undefined, { detail: 'signal aborted during sealing' }));
  signal?.addEventListener('abort', onAbort, { once: true });
  // INVARIANT: no blob is published later than maxSealMs after its seal began: the
  // orphaned-blob sweep treats an unreferenced blob older than that (plus a margin) as dead
  const late: { error: UploadTimeoutError | null } = { error: null };
  const deadline = setTimeout(() => {
    late.error = new UploadTimeoutError(undefined, { detail: `seal still running after ${deps.maxSealMs} ms` });
    destroySafely(encrypt, late.error);
  }, deps.maxSealMs);

  let storedSize: number;
  try {
    storedSize = (await deps.blobStore.put(blobKey, encrypt, signal === undefined ? {} : { signal })).size;
  } catch (err) {
    // our own verdict (length, digest, deadline) wins over however the store chose to report the failed body
    if (meter.failure !== null) throw meter.failure;
    if (late.error !== null) throw late.error;
    if (signal?.aborted) throw new UploadAbortedError(undefined, { detail: 'signal aborted during sealing', cause: err });
    throw err instanceof CofferError ? err : new StorageError(undefined, { detail: 'blob put failed', cause: err });
  } finally {
    clearTimeout(deadline);
    signal?.removeEventListener('abort', onAbort);
  }

  // INVARIANT: past this point the blob is visible; any refusal must remove it again
  let sha256: string;
  try {
    if (late.error !== null) throw late.error;
    if (signal?.aborted) throw new UploadAbortedError(undefined, { detail: 'signal aborted after the blob was stored' });
    if (options.expectedSize !== undefined && meter.size !== options.expectedSize) throw new ContentLengthMismatchError();
    sha256 = meter.sha256;
    if (expectedSha256 !== undefined && sha256 !== expectedSha256) throw new DigestMismatchError();
    const headerLength = objectHeaderLength(objectId);
    const expectedStored = ciphertextSize({ headerLength, segmentSize: deps.segmentSize, plaintextSize: meter.size });
    if (storedSize !== expectedStored) {
      throw new StorageError(undefined, { detail: `blob store reports ${storedSize} bytes stored, ${expectedStored} written` });
    }
  } catch (err) {
    await deps.blobStore.delete(blobKey).catch(() => undefined);
    throw err;
  }
  return { blobKey, size: meter.size, sha256, wrappedKey: sealed.wrappedKey, keyTerm: sealed.keyTerm };
}
