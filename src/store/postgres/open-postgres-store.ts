import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import type { Database } from '../sql/database.js';
import { SqlMetadataStore } from '../sql/sql-metadata-store.js';
import { postgresFlavor } from './postgres-flavor.js';

/** Options of {@link openPostgresStore}. */
export interface PostgresStoreOptions {
  /** Pool size. Default 10. */
  maxConnections?: number;
  /** Shown in pg_stat_activity. Default `coffer`. */
  applicationName?: string;
}

/**
 * Opens a pooled connection to the PostgreSQL database at `url`
 * (`postgres://user:pass@host:port/db`). Connections are made lazily: call
 * `migrate()` (or `ping()`) to find out whether the database is reachable.
 */
export function openPostgresStore(url: string, options: PostgresStoreOptions = {}): SqlMetadataStore {
  const pool = new pg.Pool({
    connectionString: url,
    max: options.maxConnections ?? 10,
    application_name: options.applicationName ?? 'coffer',
    connectionTimeoutMillis: 10_000,
  });
  // an idle connection dropped by the server must not crash the process; the next query reports it
  pool.on('error', () => undefined);
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  return new SqlMetadataStore(db, postgresFlavor);
}
