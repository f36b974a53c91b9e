import { ConflictError, NotFoundError, S3RequestError } from '../domain/errors.js';
import type { Artifact } from '../domain/types.js';
import { etagMatches } from './object-source.js';
import { fallbackEtag } from './s3-format.js';
import type { S3Op } from './s3-op.js';

/**
 * A conditional write (PutObject, CompleteMultipartUpload): `If-None-Match: *` (the key
 * must have no current object) and/or `If-Match: "etag"` (its current object must have
 * that ETag).
 */
export interface WriteCondition {
  ifNoneMatch: boolean;
  ifMatch: string | null;
}

const failed = () => new S3RequestError('at least one of the pre-conditions you specified did not hold', { s3Code: 'PreconditionFailed' });

/** The condition of a write request, or null when it has none. Only `*` is meaningful in If-None-Match on a write, as in S3. */
export function writeConditionOf(op: S3Op): WriteCondition | null {
  const ifNoneMatch = op.http.headers['if-none-match']?.trim();
  const ifMatch = op.http.headers['if-match']?.trim();
  if (ifNoneMatch === undefined && ifMatch === undefined) return null;
  if (ifNoneMatch !== undefined && ifNoneMatch !== '*') {
    throw new S3RequestError('a header you provided implies functionality that is not implemented: If-None-Match on a write takes only `*`', { s3Code: 'NotImplemented' });
  }
  if (ifMatch !== undefined && (ifMatch === '' || ifMatch.length > 1024)) throw new S3RequestError('If-Match must name an ETag', { s3Code: 'InvalidArgument' });
  return { ifNoneMatch: ifNoneMatch !== undefined, ifMatch: ifMatch ?? null };
}

/**
 * Evaluates `cond` against the current object of `artifact` and returns the version
 * number the write must take: the latest + 1. The caller commits with exactly that
 * number (never the next free one), so a concurrent write between this check and the
 * commit, on any node sharing the database, makes the commit fail on the unique
 * (artifact, number) constraint and the write answers PreconditionFailed: the check
 * and the insert are atomic as a whole.
 *
 * If-Match on a key without a current object is NoSuchKey, as S3 answers.
 */
export async function checkWriteCondition(op: S3Op, artifact: Artifact, cond: WriteCondition): Promise<number> {
  const { deps, store } = op.ctx;
  const latest = await deps.store.latestVersionNumber(artifact.id);
  const version = latest < 1 ? null : await deps.store.getVersionByNumber(artifact.id, latest);
  const marker = version === null ? null : await store.getDeleteMarker(artifact.id);
  const current = version !== null && (marker === null || marker.hidesThrough < version.number) ? version : null;
  if (cond.ifNoneMatch && current !== null) throw failed();
  if (cond.ifMatch !== null) {
    if (current === null) throw new NotFoundError('the specified key does not exist: If-Match needs a current object');
    const etag = (await store.getObjectMeta(current.id))?.etag ?? fallbackEtag(current.sha256);
    if (!etagMatches(cond.ifMatch, etag)) throw failed();
  }
  return latest + 1;
}

/** The error of a commit with an exact number that lost to a concurrent write. */
export function conditionLost(err: unknown): unknown {
  return err instanceof ConflictError ? failed() : err;
}
