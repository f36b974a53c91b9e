import {
  AlreadyExistsError,
  NotFoundError,
  RangeNotSatisfiableError,
  StorageError,
  StorageFullError,
  isCofferError,
  type CofferError,
} from '../../domain/errors.js';
import { describeSdkFailure, sdkFailure } from '../../domain/sdk-failure.js';

/** S3 error codes that mean "no more room": the bucket's or the user's quota, or the server's disks. */
const FULL_CODES = new Set(['QuotaExceeded', 'InsufficientCapacity', 'InsufficientStorage']);
const FULL_STATUSES = new Set([507]);
const MISSING_CODES = new Set(['NoSuchKey', 'NotFound']);

/** The loggable facts of a failed S3 call (see domain's sdkFailure). */
export const s3Failure = sdkFailure;

/** True if the SDK call failed because its abort signal fired. */
export function isAbortError(err: unknown): boolean {
  return typeof err === 'object' && err !== null && 'name' in err && err.name === 'AbortError';
}

/** True if the object (or the bucket's key) does not exist. */
export function isMissingObject(err: unknown): boolean {
  const f = s3Failure(err);
  return MISSING_CODES.has(f.code) || (f.status === 404 && f.code !== 'NoSuchBucket' && f.code !== 'NoSuchUpload');
}

/** True if a conditional write was refused because the key exists (`If-None-Match: *`). */
export function isPreconditionFailed(err: unknown): boolean {
  const f = s3Failure(err);
  return f.status === 412 || f.code === 'PreconditionFailed';
}

/**
 * Maps an S3 failure to the catalog. The public message stays generic (the store is an
 * implementation detail); the code, status and request id go to `detail`, for the log.
 * INVARIANT: nothing of the SDK's message, request or response reaches the error (no
 * cause either): an access key, a signature or a presigned URL can never leak through it.
 */
export function mapS3Error(err: unknown, operation: string, key?: string): CofferError {
  if (isCofferError(err)) return err;
  const f = s3Failure(err);
  const detail = `blob store (s3): ${operation}: ${describeSdkFailure(f)}`;
  if (key !== undefined && isMissingObject(err)) return new NotFoundError(`blob \`${key}\` not found`, { detail });
  if (key !== undefined && isPreconditionFailed(err)) return new AlreadyExistsError(`blob \`${key}\` already exists`, { detail });
  if (f.status === 416 || f.code === 'InvalidRange') return new RangeNotSatisfiableError(undefined, { detail });
  if (FULL_CODES.has(f.code) || (f.status !== undefined && FULL_STATUSES.has(f.status))) return new StorageFullError(undefined, { detail });
  return new StorageError(undefined, { detail });
}
