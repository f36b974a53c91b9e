import { ValidationError } from '../domain/errors.js';

const KEY = /^[a-z0-9][a-z0-9/_-]*$/;
const PREFIX = /^[a-z0-9/_-]*$/;
const MAX_KEY_LENGTH = 1024;
const MAX_SEGMENT_LENGTH = 200;

/**
 * Validates a blob key: `[a-z0-9][a-z0-9/_-]*`, no empty segment (`//` or a trailing
 * `/`), at most 1024 characters and 200 per segment.
 * INVARIANT: a valid key has no `.` and no empty segment, so joined under a root
 * directory it can never name anything outside that root.
 */
export function assertBlobKey(key: string): void {
  if (
    typeof key !== 'string' ||
    key.length > MAX_KEY_LENGTH ||
    !KEY.test(key) ||
    key.includes('//') ||
    key.endsWith('/') ||
    key.split('/').some((seg) => seg.length > MAX_SEGMENT_LENGTH)
  ) {
    throw new ValidationError(`blob key \`${printable(key)}\` is not valid`);
  }
}

/** Validates a list prefix: the key alphabet (possibly empty), no `//`. */
export function assertBlobPrefix(prefix: string): void {
  if (typeof prefix !== 'string' || prefix.length > MAX_KEY_LENGTH || !PREFIX.test(prefix) || prefix.includes('//')) {
    throw new ValidationError(`blob key prefix \`${printable(prefix)}\` is not valid`);
  }
}

function printable(s: unknown): string {
  const text = typeof s === 'string' ? s : typeof s;
  // never echo control characters back to a caller or a log line
  // eslint-disable-next-line no-control-regex
  const clean = text.replace(/[\u0000-\u001f\u007f]/g, '?');
  return clean.length > 80 ? `${clean.slice(0, 80)}…` : clean;
}

/** True if `key` is a valid blob key (see {@link assertBlobKey}). */
export function isBlobKey(key: string): boolean {
  try {
    assertBlobKey(key);
    return true;
  } catch {
    return false;
  }
}
