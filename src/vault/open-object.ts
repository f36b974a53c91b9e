import type { Readable, Transform } from 'node:stream';
import {
  CofferError,
  DecryptionFailedError,
  NotFoundError,
  RangeNotSatisfiableError,
  RequestAbortedError,
  StorageError,
} from '../domain/errors.js';
import {
  createDecryptStream,
  createRangeDecryptStream,
  objectHeaderLength,
  parseObjectHeader,
  planRangeRead,
  type Keyring,
} from '../crypto/index.js';
import type { ByteRange } from '../store/blob-store.js';
import { destroySafely, guard } from '../streams/index.js';
import type { SealedRef } from './vault.js';
import type { VaultDeps } from './vault-deps.js';

/** Options of {@link openObject}, as in Vault.open. */
export interface OpenOptions {
  range?: ByteRange;
  signal?: AbortSignal;
}

/**
 * The plaintext of a sealed object, or of the inclusive plaintext `range` (which must
 * lie within the object: `end < size`). A ranged open reads the header, then only the
 * ciphertext of the segments the range touches. Nothing unauthenticated is emitted.
 */
export async function openObject(deps: VaultDeps, ref: SealedRef, options: OpenOptions = {}): Promise<Readable> {
  const { range, signal } = options;
  if (signal?.aborted) throw new RequestAbortedError();
  if (range !== undefined) {
    // refuse before any read (the segment size only changes where bytes are, not which are valid)
    planRangeRead({ headerLength: 0, segmentSize: 1, plaintextSize: ref.size }, range);
  }
  // crypto-shredded: without the data key the ciphertext is noise, forever
  if (ref.wrappedKey === null) throw new DecryptionFailedError(undefined, { detail: 'data key was destroyed' });
  const dataKey = await unwrapDataKey(deps.keyring, ref, ref.wrappedKey);
  try {
    if (range === undefined) {
      const source = await getBlob(deps, ref.blobKey, undefined, signal);
      return connect(source, createDecryptStream(dataKey, { objectId: ref.objectId, plaintextSize: ref.size }), signal);
    }
    const headerLength = objectHeaderLength(ref.objectId);
    const headerBytes = await readExactly(await getBlob(deps, ref.blobKey, { start: 0, end: headerLength - 1 }, signal), headerLength);
    const header = parseObjectHeader(headerBytes, ref.objectId);
    const plan = planRangeRead({ headerLength, segmentSize: header.segmentSize, plaintextSize: ref.size }, range);
    const source = await getBlob(deps, ref.blobKey, { start: plan.cipherStart, end: plan.cipherEnd }, signal);
    return connect(source, createRangeDecryptStream(dataKey, header, plan), signal);
  } finally {
    // the decrypt streams keep their own copies
    dataKey.fill(0);
  }
}

/** Unwraps the data key, reloading the keyring once if another node added the term. */
async function unwrapDataKey(keyring: Keyring, ref: SealedRef, wrappedKey: Uint8Array): Promise<Buffer> {
  if (keyring.isUnknownTerm(ref.keyTerm)) await keyring.refresh();
  return keyring.unwrapDataKey(ref.objectId, wrappedKey, ref.keyTerm);
}

async function getBlob(deps: VaultDeps, blobKey: string, range: ByteRange | undefined, signal: AbortSignal | undefined): Promise<Readable> {
  try {
    return await deps.blobStore.get(blobKey, { ...(range === undefined ? {} : { range }), ...(signal === undefined ? {} : { signal }) });
  } catch (err) {
    throw readFailure(err);
  }
}

/**
 * Maps a blob store failure. A missing object or one shorter than its metadata says is
 * indistinguishable from tampering, so it is the one DecryptionFailedError; operational
 * failures (I/O, abort) stay what they are.
 */
function readFailure(err: unknown): CofferError {
  if (err instanceof NotFoundError || err instanceof RangeNotSatisfiableError) {
    return new DecryptionFailedError(undefined, { detail: 'stored object missing or shorter than recorded', cause: err });
  }
  if (err instanceof CofferError) return err;
  return new StorageError(undefined, { detail: 'blob read failed', cause: err });
}

/** Pipes `source` into `sink` and returns `sink`; errors, early close and abort propagate both ways. */
function connect(source: Readable, sink: Transform, signal: AbortSignal | undefined): Readable {
  // guarded from birth: an abort may destroy them before the caller attaches its own listeners
  guard(source);
  guard(sink);
  const onAbort = () => destroySafely(sink, new RequestAbortedError());
  source.on('error', (err) => destroySafely(sink, readFailure(err)));
  sink.once('close', () => {
    signal?.removeEventListener('abort', onAbort);
    source.destroy();
  });
  signal?.addEventListener('abort', onAbort, { once: true });
  source.pipe(sink);
  return sink;
}

/** Reads a small stream that must hold exactly `length` bytes. */
async function readExactly(stream: Readable, length: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  try {
    for await (const chunk of stream) {
      const bytes = chunk as Buffer;
      total += bytes.length;
      if (total > length) throw new DecryptionFailedError(undefined, { detail: 'blob store returned more than requested' });
      chunks.push(bytes);
    }
  } catch (err) {
    throw err instanceof DecryptionFailedError ? err : readFailure(err);
  } finally {
    stream.destroy();
  }
  if (total !== length) throw new DecryptionFailedError(undefined, { detail: 'object header truncated' });
  return Buffer.concat(chunks, length);
}
