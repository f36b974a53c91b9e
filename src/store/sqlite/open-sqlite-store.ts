import BetterSqlite3 from 'better-sqlite3';
import { closeSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import { Kysely, SqliteDialect } from 'kysely';
import { StorageError } from '../../domain/errors.js';
import type { Database } from '../sql/database.js';
import { classifyDbError, storageFailure } from '../sql/db-errors.js';
import { ChangeCounter } from '../sql/change-counter.js';
import { SqlMetadataStore, type DirectAuditAppend } from '../sql/sql-metadata-store.js';
import type { StoredAuditRecord } from '../metadata-store.js';
import { sqliteFlavor } from './sqlite-flavor.js';

/** Options of {@link openSqliteStore}. */
export interface SqliteStoreOptions {
  /** How long a writer waits for another process's write lock before failing. Default 5000 ms. */
  busyTimeoutMs?: number;
}

/**
 * Opens (creating if needed) the SQLite metadata database at `path`, or an in-memory
 * one for `:memory:` (tests). Call `migrate()` on the result before use.
 *
 * The file is created 0600 (it holds wrapped keys and token hashes) and opened in WAL
 * mode with synchronous=FULL, so every committed transaction, audit records first,
 * is on disk when its promise resolves; foreign keys are enforced.
 */
export function openSqliteStore(path: string, options: SqliteStoreOptions = {}): SqlMetadataStore {
  const busyTimeoutMs = options.busyTimeoutMs ?? 5000;
  if (!Number.isInteger(busyTimeoutMs) || busyTimeoutMs < 0) throw new StorageError(undefined, { detail: 'sqlite: busyTimeoutMs must be a non-negative integer' });
  let database: BetterSqlite3.Database;
  try {
    if (path !== ':memory:' && path !== '') {
      mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
      // create the file owner-only before SQLite does (it would follow the umask); -wal and -shm copy its mode
      closeSync(openSync(path, 'a', 0o600));
    }
    database = new BetterSqlite3(path);
    database.pragma('journal_mode = WAL');
    // FULL: fsync the WAL at every commit, so a resolved write survives power loss
    database.pragma('synchronous = FULL');
    database.pragma('foreign_keys = ON');
    database.pragma(`busy_timeout = ${busyTimeoutMs}`);
  } catch (err) {
    throw storageFailure(classifyDbError(err), `open sqlite database`, err);
  }
  // data_version moves when another connection (another process: the CLI, a second server) commits
  const dataVersion = database.prepare('PRAGMA data_version').pluck();
  const changes = new ChangeCounter(() => dataVersion.get() as number);
  cachePreparedStatements(database);
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database }), plugins: [changes] });
  return new SqlMetadataStore(db, sqliteFlavor, { changes, directAudit: directAuditAppend(database) });
}

/** Distinct SQL texts kept prepared; Coffer issues a few hundred at most. */
const STATEMENT_CACHE_LIMIT = 1000;

/**
 * Kysely prepares every query anew; compiling the same SQL on every request cost about
 * 8% of a small authorized GET. Statements are reusable in better-sqlite3 (none of our
 * queries are iterated lazily, which would hold a statement busy), so keep them by text.
 */
function cachePreparedStatements(database: BetterSqlite3.Database): void {
  const cache = new Map<string, BetterSqlite3.Statement>();
  const prepare = database.prepare.bind(database) as (sql: string) => BetterSqlite3.Statement;
  (database as { prepare: (sql: string) => BetterSqlite3.Statement }).prepare = (sql: string) => {
    let statement = cache.get(sql);
    if (statement === undefined) {
      statement = prepare(sql);
      if (cache.size >= STATEMENT_CACHE_LIMIT) cache.clear();
      cache.set(sql, statement);
    }
    return statement;
  };
}

/**
 * appendAudit on better-sqlite3 directly: the query builder cost more than the insert
 * itself for one record (four statements compiled and awaited per append). Statements
 * are prepared on first use (the table exists only after migration).
 *
 * INVARIANT: BEGIN IMMEDIATE takes the write lock before the tail is read, so no other
 * process appends between the read and the insert; the caller holds Kysely's connection.
 */
function directAuditAppend(database: BetterSqlite3.Database): DirectAuditAppend {
  let run: ((build: (tail: StoredAuditRecord | null) => StoredAuditRecord[]) => void) | null = null;
  return (build) => {
    if (run === null) {
      const tail = database.prepare('select seq, body, prev_hash, hash from audit_records order by seq desc limit 1');
      const insert = database.prepare('insert into audit_records (seq, body, prev_hash, hash) values (?, ?, ?, ?)');
      const append = database.transaction((b: (tail: StoredAuditRecord | null) => StoredAuditRecord[]) => {
        const row = tail.get() as { seq: number | bigint; body: string; prev_hash: string; hash: string } | undefined;
        const records = b(row === undefined ? null : { seq: Number(row.seq), body: row.body, prevHash: row.prev_hash, hash: row.hash });
        for (const r of records) insert.run(r.seq, r.body, r.prevHash, r.hash);
      });
      run = (b) => append.immediate(b);
    }
    run(build);
  };
}
