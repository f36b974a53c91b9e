import { StorageError, StorageFullError, isCofferError, type CofferError } from '../../domain/errors.js';

/** The `code` of a Node system error (`ENOENT`...), or undefined. */
export function errnoCode(err: unknown): string | undefined {
  if (typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string') return err.code;
  return undefined;
}

/** True if `err` says the path (or one of its parents) does not exist. */
export function isMissing(err: unknown): boolean {
  const code = errnoCode(err);
  return code === 'ENOENT' || code === 'ENOTDIR';
}

/**
 * Maps a filesystem failure to a catalog error. The public message stays generic;
 * the errno and operation go to `detail` (the log) only.
 */
export function mapFsError(err: unknown, operation: string): CofferError {
  if (isCofferError(err)) return err;
  const code = errnoCode(err) ?? 'EUNKNOWN';
  const detail = `blob store: ${operation}: ${code}: ${err instanceof Error ? err.message : String(err)}`;
  if (code === 'ENOSPC' || code === 'EDQUOT') return new StorageFullError(undefined, { detail, cause: err });
  return new StorageError(undefined, { detail, cause: err });
}
