import type { Kysely } from 'kysely';
import type { Database } from './database.js';
import type { SqlDialectName } from './migrations.js';

/**
 * The few things that differ between dialects; everything else in SqlMetadataStore
 * is one code path. Implemented by sqlite/ and postgres/.
 */
export interface SqlFlavor {
  readonly dialect: SqlDialectName;
  /**
   * Runs `fn` in a read-write transaction and commits it. SQLite takes the database
   * write lock up front (BEGIN IMMEDIATE), so reads inside see the latest state and
   * the transaction cannot fail to upgrade later.
   */
  writeTransaction<T>(db: Kysely<Database>, fn: (trx: Kysely<Database>) => Promise<T>): Promise<T>;
  /**
   * Serializes audit appends across every process sharing the database; called first
   * in the write transaction, before the tail is read. Also forces a synchronous commit.
   */
  lockAudit(trx: Kysely<Database>): Promise<void>;
}
