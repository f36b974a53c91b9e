import { ValidationError } from '../../domain/errors.js';

/** Page size when the caller gives none. */
export const DEFAULT_PAGE_SIZE = 100;
/** Adapters never return more than this many items per page. */
export const MAX_PAGE_SIZE = 1000;

/** Encodes the sort key of the last item of a page as an opaque cursor. */
export function encodeCursor(lastKey: string | number): string {
  return Buffer.from(JSON.stringify({ k: lastKey }), 'utf8').toString('base64url');
}

/** Decodes a cursor made by {@link encodeCursor}; rejects anything else with ValidationError. */
export function decodeCursor(cursor: string, type: 'string'): string;
export function decodeCursor(cursor: string, type: 'number'): number;
export function decodeCursor(cursor: string, type: 'string' | 'number'): string | number {
  const invalid = () => new ValidationError('cursor is not valid');
  if (typeof cursor !== 'string' || cursor.length > 4096 || !/^[A-Za-z0-9_-]*$/.test(cursor)) throw invalid();
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw invalid();
  }
  const key = typeof parsed === 'object' && parsed !== null ? (parsed as { k?: unknown }).k : undefined;
  if (type === 'string' && typeof key === 'string') return key;
  if (type === 'number' && typeof key === 'number' && Number.isSafeInteger(key)) return key;
  throw invalid();
}

/** The page size for `limit`: default 100, capped at 1000; a non-positive or fractional limit is a ValidationError. */
export function pageSize(limit: number | undefined): number {
  if (limit === undefined) return DEFAULT_PAGE_SIZE;
  if (!Number.isInteger(limit) || limit < 1) throw new ValidationError('limit must be a positive integer');
  return Math.min(limit, MAX_PAGE_SIZE);
}
