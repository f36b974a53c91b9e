import { sql, type Kysely } from 'kysely';
import type { SqlDialectName } from './migrations.js';

/**
 * ALTER TABLE ADD COLUMN that a rerun skips: PostgreSQL has IF NOT EXISTS; SQLite has
 * not (and runs migrations without a transaction), so its table_info is read first.
 */
export async function addColumnIfMissing(db: Kysely<unknown>, dialect: SqlDialectName, table: string, column: string, type: 'text' | 'bigint' | 'integer' | 'key'): Promise<void> {
  // `key`: text that sorts bytewise (UTF-8 byte order) in both dialects
  const sqlType = type === 'key' ? (dialect === 'postgres' ? 'text collate "C"' : 'text') : type;
  if (dialect === 'postgres') {
    await sql`alter table ${sql.table(table)} add column if not exists ${sql.ref(column)} ${sql.raw(sqlType)}`.execute(db);
    return;
  }
  const { rows } = await sql<{ name: string }>`select name from pragma_table_info(${table})`.execute(db);
  if (!rows.some((r) => r.name === column)) await db.schema.alterTable(table).addColumn(column, sql.raw(sqlType)).execute();
}
