import { createHash } from 'node:crypto';
import { ValidationError } from '../domain/errors.js';

const OBJECT_ID = /^[a-z0-9][a-z0-9_-]{0,127}$/;

/**
 * The blob key of an object: `objects/<2 hex chars of SHA-256(objectId)>/<objectId>`.
 * The hashed fan-out spreads objects over 256 directories even though ids sort by time.
 * Throws ValidationError unless `objectId` is 1-128 of `[a-z0-9_-]` starting with a
 * letter or digit (as artifact version ids are).
 * INVARIANT: the result only uses `[a-z0-9/_-]` and distinct ids give distinct keys.
 */
export function blobKeyFor(objectId: string): string {
  assertObjectId(objectId);
  const fanOut = createHash('sha256').update(objectId, 'utf8').digest('hex').slice(0, 2);
  return `objects/${fanOut}/${objectId}`;
}

/** Throws ValidationError unless `objectId` can name a sealed object (see {@link blobKeyFor}). */
export function assertObjectId(objectId: string): void {
  if (typeof objectId !== 'string' || !OBJECT_ID.test(objectId)) {
    throw new ValidationError('object id is not valid: use 1-128 of a-z 0-9 _ - starting with a letter or digit');
  }
}
