import { sql, type Kysely } from 'kysely';
import type { Database } from '../sql/database.js';
import type { SqlFlavor } from '../sql/sql-flavor.js';

/**
 * SQLite specifics. Kysely's SQLite driver has one connection guarded by a mutex, so
 * in-process callers are serialized by holding that connection; across processes the
 * database write lock, taken up front by BEGIN IMMEDIATE, serializes writers.
 */
export const sqliteFlavor: SqlFlavor = {
  dialect: 'sqlite',

  writeTransaction<T>(db: Kysely<Database>, fn: (trx: Kysely<Database>) => Promise<T>): Promise<T> {
    return db.connection().execute(async (conn) => {
      // IMMEDIATE: take the write lock before the first read, so what we read is what we write after
      await sql`begin immediate`.execute(conn);
      let result: T;
      try {
        result = await fn(conn);
        await sql`commit`.execute(conn);
      } catch (err) {
        await sql`rollback`.execute(conn).catch(() => undefined);
        throw err;
      }
      return result;
    });
  },

  async lockAudit(): Promise<void> {
    // BEGIN IMMEDIATE already holds the write lock; synchronous=FULL makes the commit durable
  },
};
