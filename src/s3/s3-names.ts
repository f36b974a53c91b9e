import { S3RequestError } from '../domain/errors.js';
import { MAX_KEY_BYTES, artifactNameOfKey, assertArtifactName, keyOfArtifactName } from '../domain/artifact-names.js';
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

/**
 * The canonical artifact name of an S3 object key (domain/artifact-names.ts): every key
 * S3 accepts but NUL maps to exactly one name, and back. S3 errors: KeyTooLongError
 * (over 1024 bytes of UTF-8), InvalidArgument (empty, NUL).
 */
export function artifactNameOf(key: string): string {
  if (Buffer.byteLength(key, 'utf8') > MAX_KEY_BYTES) throw new S3RequestError(`your key is too long: at most ${MAX_KEY_BYTES} bytes of UTF-8`, { s3Code: 'KeyTooLongError' });
  try {
    return artifactNameOfKey(key);
  } catch (err) {
    throw new S3RequestError((err as Error).message, { s3Code: 'InvalidArgument', cause: err });
  }
}

/** The S3 key a canonical artifact name stands for. */
export function s3KeyOf(name: string): string {
  return keyOfArtifactName(name);
}

/** Validates a canonical artifact name (from {@link artifactNameOf}) before it is used (S3 error: InvalidArgument). */
export function assertObjectKey(name: string): void {
  try {
    assertArtifactName(name);
  } catch (err) {
    throw new S3RequestError((err as Error).message, { s3Code: 'InvalidArgument', cause: err });
  }
}

/**
 * Validates a bucket name by S3's rules for new buckets: 3-63 characters of `a-z 0-9 . -`,
 * starting and ending with a letter or digit, no `..`, not an IP address, none of the
 * prefixes and suffixes S3 reserves. (Existing projects with other names, `_` or shorter,
 * stay reachable: only CreateBucket applies this.)
 */
export function assertBucketName(bucket: string): void {
  const bad = (why: string) => new S3RequestError(`the specified bucket is not valid: ${why}`, { s3Code: 'InvalidBucketName' });
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) throw bad('use 3-63 of a-z 0-9 . - starting and ending with a letter or digit');
  if (bucket.includes('..')) throw bad('no two adjacent periods');
  if (/^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(bucket)) throw bad('not formatted as an IP address');
  if (/^(xn--|sthree-|amzn-s3-demo-)/.test(bucket) || /(-s3alias|--ol-s3|\.mrap|--x-s3|--table-s3)$/.test(bucket)) throw bad('a prefix or suffix S3 reserves');
}
