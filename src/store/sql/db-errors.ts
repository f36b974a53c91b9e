import { StorageError, StorageFullError, type CofferError } from '../../domain/errors.js';

/** What went wrong in the database, independent of the dialect. */
export type DbFailureKind = 'unique' | 'foreign-key' | 'full' | 'read-only' | 'busy' | 'unavailable' | 'other';

/** A classified driver error. `target` names the constraint or columns involved, when known. */
export interface DbFailure {
  kind: DbFailureKind;
  /** Driver code (`SQLITE_FULL`, SQLSTATE `23505`, `ECONNREFUSED`...). */
  code: string;
  target: string;
  message: string;
}

const PG_KINDS: Record<string, DbFailureKind> = {
  '23505': 'unique',
  '23503': 'foreign-key',
  '53100': 'full', // disk_full
  '53000': 'full', // insufficient_resources
  '25006': 'read-only', // read_only_sql_transaction
  '40001': 'busy', // serialization_failure
  '40P01': 'busy', // deadlock_detected
  '55P03': 'busy', // lock_not_available
  '57P01': 'unavailable', // admin_shutdown
  '57P02': 'unavailable',
  '57P03': 'unavailable', // cannot_connect_now
};

const NET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENOTFOUND', 'EPIPE', 'EAI_AGAIN']);

/** Classifies an error thrown by better-sqlite3 or pg. */
export function classifyDbError(err: unknown): DbFailure {
  const rec = (typeof err === 'object' && err !== null ? err : {}) as Record<string, unknown>;
  const code = typeof rec.code === 'string' ? rec.code : 'UNKNOWN';
  const message = err instanceof Error ? err.message : String(err);
  if (code.startsWith('SQLITE_')) {
    const target = /constraint failed: (.*)$/i.exec(message)?.[1] ?? '';
    return { kind: sqliteKind(code), code, target, message };
  }
  if (/^[0-9A-Z]{5}$/.test(code)) {
    const kind = PG_KINDS[code] ?? (code.startsWith('08') ? 'unavailable' : 'other');
    const target = typeof rec.constraint === 'string' ? rec.constraint : '';
    return { kind, code, target, message };
  }
  if (NET_CODES.has(code) || /Connection terminated|timeout exceeded when trying to connect/i.test(message)) {
    return { kind: 'unavailable', code, target: '', message };
  }
  if (code === 'ENOSPC' || code === 'EDQUOT') return { kind: 'full', code, target: '', message };
  return { kind: 'other', code, target: '', message };
}

function sqliteKind(code: string): DbFailureKind {
  if (code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY') return 'unique';
  if (code === 'SQLITE_CONSTRAINT_FOREIGNKEY') return 'foreign-key';
  if (code === 'SQLITE_FULL' || code === 'SQLITE_IOERR_NOSPC') return 'full';
  if (code.startsWith('SQLITE_READONLY')) return 'read-only';
  if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) return 'busy';
  if (code.startsWith('SQLITE_CANTOPEN')) return 'unavailable';
  return 'other';
}

/**
 * The catalog error for a failure no caller-specific rule claimed. The public
 * message is generic (never SQL or driver text); the rest goes to `detail`.
 */
export function storageFailure(failure: DbFailure, operation: string, cause: unknown): CofferError {
  const detail = `metadata store: ${operation}: ${failure.kind}: ${failure.code}: ${failure.message}`;
  if (failure.kind === 'full') return new StorageFullError(undefined, { detail, cause });
  return new StorageError(undefined, { detail, cause });
}
