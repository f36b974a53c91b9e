import { S3RequestError } from '../domain/errors.js';
import { assertArtifactName } from '../domain/ids.js';
import { percentDecode } from './uri-encode.js';

/** Bucket and key of a path-style request (`/bucket/key`). */
export interface S3Target {
  /** Empty for the service (ListBuckets). */
  bucket: string;
  /** Null for bucket operations. */
  key: string | null;
}

/** Splits a raw path-style path into bucket and key (decoded). */
export function targetOf(rawPath: string): S3Target {
  const path = percentDecode(rawPath);
  if (path === null || !path.startsWith('/')) throw new S3RequestError('the request path is not valid', { s3Code: 'InvalidURI' });
  const rest = path.slice(1);
  const slash = rest.indexOf('/');
  if (slash < 0) return { bucket: rest, key: null };
  const key = rest.slice(slash + 1);
  return { bucket: rest.slice(0, slash), key: key === '' ? null : key };
}

/** Validates an object key as a Coffer artifact name (S3 errors: KeyTooLongError, InvalidArgument). */
export function assertObjectKey(key: string): void {
  if (Buffer.byteLength(key, 'utf8') > 512) throw new S3RequestError('your key is too long: at most 512 bytes', { s3Code: 'KeyTooLongError' });
  try {
    assertArtifactName(key);
  } catch (err) {
    throw new S3RequestError((err as Error).message, { s3Code: 'InvalidArgument', cause: err });
  }
}

/** Validates a bucket name as a Coffer project name. */
export function assertBucketName(bucket: string): void {
  if (!/^[a-z0-9][a-z0-9._-]{0,62}$/.test(bucket)) throw new S3RequestError('the specified bucket is not valid: use 1-63 of a-z 0-9 . _ -', { s3Code: 'InvalidBucketName' });
}
