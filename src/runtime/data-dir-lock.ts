import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { DataDirInUseError } from '../domain/errors.js';

/** The lock file in a data directory; held by a running server and by `coffer migrate`. */
export const DATA_DIR_LOCK_FILE = 'coffer.lock';

/** A held data-directory lock; `release()` is idempotent. */
export interface DataDirLock {
  readonly path: string;
  release(): void;
}

/**
 * Takes the exclusive lock of `dataDir`, or throws DataDirInUseError when another
 * process (a running server, a migration) holds it.
 *
 * The lock is an SQLite database held in an open EXCLUSIVE transaction: SQLite takes
 * POSIX advisory locks on the file, which the kernel releases when the holder exits,
 * even by kill -9, so a crash never leaves a stale lock behind (a pid file would).
 * No library does this better here: proper-lockfile polls mtimes, and Node has no flock.
 */
export function lockDataDir(dataDir: string): DataDirLock {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const path = join(dataDir, DATA_DIR_LOCK_FILE);
  // timeout 0: a held lock fails at once instead of waiting for the holder to exit
  const db = new Database(path, { timeout: 0 });
  try {
    db.pragma('journal_mode = DELETE');
    // INVARIANT: the lock is held as long as this transaction is open (until release or exit)
    db.exec('BEGIN EXCLUSIVE');
  } catch (err) {
    db.close();
    if ((err as { code?: string }).code === 'SQLITE_BUSY' || (err as { code?: string }).code === 'SQLITE_LOCKED') {
      throw new DataDirInUseError(`the data directory \`${dataDir}\` is in use: a Coffer server or migration holds \`${path}\`; stop it first`);
    }
    throw err;
  }
  let held = true;
  return {
    path,
    release: () => {
      if (!held) return;
      held = false;
      try {
        db.exec('ROLLBACK');
      } finally {
        db.close();
      }
    },
  };
}
