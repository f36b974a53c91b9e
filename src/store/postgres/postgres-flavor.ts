import { sql, type Kysely } from 'kysely';
import type { Database } from '../sql/database.js';
import type { SqlFlavor } from '../sql/sql-flavor.js';

/** Advisory lock key that serializes audit appends: the bytes of `Coffer` as an integer. */
export const AUDIT_LOCK_KEY = 0x436f66666572;

/** PostgreSQL specifics: ordinary READ COMMITTED transactions, an advisory lock for the audit log. */
export const postgresFlavor: SqlFlavor = {
  dialect: 'postgres',

  writeTransaction<T>(db: Kysely<Database>, fn: (trx: Kysely<Database>) => Promise<T>): Promise<T> {
    return db.transaction().execute(fn);
  },

  async lockAudit(trx: Kysely<Database>): Promise<void> {
    // its own statement: under READ COMMITTED the next statement's snapshot is taken after
    // the lock is granted, so it sees the tail the previous holder committed.
    // synchronous_commit=on even if the server default is off: the audit log must be durable
    await sql`select set_config('synchronous_commit', 'on', true), pg_advisory_xact_lock(${sql.lit(AUDIT_LOCK_KEY)})`.execute(trx);
  },
};
