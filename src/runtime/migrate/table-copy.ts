import { createHash } from 'node:crypto';
import { sql, type Kysely, type Transaction } from 'kysely';
import { MIGRATION_LOCK_TABLE, MIGRATION_TABLE } from '../../store/sql/migrations.js';
import { INSTALL_MIGRATION_TABLE } from '../../store/sql/migrations-install.js';

/** Tables that belong to a database, not to the install: never copied nor compared. */
export const NOT_COPIED = new Set([MIGRATION_TABLE, MIGRATION_LOCK_TABLE, INSTALL_MIGRATION_TABLE]);

/** A table of the target as PostgreSQL describes it. */
export interface TargetTable {
  name: string;
  /** Columns in name order, with their PostgreSQL data type. */
  columns: Array<{ name: string; type: string }>;
}

/** Row count and content digest of one table. */
export interface TableDigest {
  rows: number;
  /** Sum mod 2^256 of the SHA-256 of every row (order-independent), hex. */
  digest: string;
}

// any Kysely: the copier works on every table by name, outside the typed schema
type AnyDb = Kysely<any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const BATCH_CELLS = 20_000;
const MOD = 1n << 256n;

/**
 * The target's tables (PostgreSQL, current schema) in foreign-key order: every table after
 * the tables it references, so rows can be inserted table by table.
 */
export async function targetTables(db: AnyDb): Promise<TargetTable[]> {
  const cols = await sql<{ table_name: string; column_name: string; data_type: string }>`
    select c.table_name, c.column_name, c.data_type from information_schema.columns c
    join information_schema.tables t on t.table_schema = c.table_schema and t.table_name = c.table_name
    where c.table_schema = current_schema() and t.table_type = 'BASE TABLE'`.execute(db);
  const fks = await sql<{ child: string; parent: string }>`
    select c.relname as child, p.relname as parent from pg_constraint k
    join pg_class c on c.oid = k.conrelid join pg_class p on p.oid = k.confrelid
    join pg_namespace n on n.oid = c.relnamespace
    where k.contype = 'f' and n.nspname = current_schema()`.execute(db);
  const tables = new Map<string, TargetTable>();
  for (const r of cols.rows) {
    if (NOT_COPIED.has(r.table_name)) continue;
    const t = tables.get(r.table_name) ?? { name: r.table_name, columns: [] };
    t.columns.push({ name: r.column_name, type: r.data_type });
    tables.set(r.table_name, t);
  }
  for (const t of tables.values()) t.columns.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const parents = new Map<string, Set<string>>();
  for (const { child, parent } of fks.rows) if (child !== parent) (parents.get(child) ?? parents.set(child, new Set()).get(child)!).add(parent);
  const ordered: TargetTable[] = [];
  const placed = new Set<string>();
  const visit = (name: string, path: Set<string>) => {
    if (placed.has(name) || !tables.has(name)) return;
    if (path.has(name)) throw new Error(`foreign keys form a cycle through \`${name}\``);
    path.add(name);
    for (const p of [...(parents.get(name) ?? [])].sort()) visit(p, path);
    path.delete(name);
    placed.add(name);
    ordered.push(tables.get(name)!);
  };
  for (const name of [...tables.keys()].sort()) visit(name, new Set());
  return ordered;
}

/** The source's (SQLite) tables and their columns, migration tables left out. */
export async function sourceTables(db: AnyDb): Promise<Map<string, string[]>> {
  const names = await sql<{ name: string }>`select name from sqlite_master where type = 'table' and name not like 'sqlite_%'`.execute(db);
  const out = new Map<string, string[]>();
  for (const { name } of names.rows) {
    if (NOT_COPIED.has(name)) continue;
    const cols = await sql<{ name: string }>`select name from pragma_table_info(${name})`.execute(db);
    out.set(name, cols.rows.map((c) => c.name).sort());
  }
  return out;
}

/** Rows of a SQLite table in rowid order, in batches (constant memory). */
async function* sqliteRows(db: AnyDb, table: TargetTable): AsyncGenerator<Array<Record<string, unknown>>> {
  const limit = Math.max(1, Math.floor(BATCH_CELLS / table.columns.length));
  let after = -Infinity;
  for (;;) {
    const batch = await sql<Record<string, unknown>>`select rowid as "__rowid", * from ${sql.table(table.name)} where rowid > ${after === -Infinity ? -(2 ** 62) : after} order by rowid limit ${limit}`.execute(db);
    if (batch.rows.length === 0) return;
    after = Number(batch.rows[batch.rows.length - 1]!.__rowid);
    yield batch.rows;
    if (batch.rows.length < limit) return;
  }
}

/** Rows of a PostgreSQL table in ctid order (a TID range scan), in batches. */
async function* postgresRows(db: AnyDb, table: TargetTable): AsyncGenerator<Array<Record<string, unknown>>> {
  const limit = Math.max(1, Math.floor(BATCH_CELLS / table.columns.length));
  let after = '(0,0)';
  for (;;) {
    const batch = await sql<Record<string, unknown>>`select ctid::text as "__ctid", * from ${sql.table(table.name)} where ctid > ${after}::tid order by ctid limit ${limit}`.execute(db);
    if (batch.rows.length === 0) return;
    after = String(batch.rows[batch.rows.length - 1]!.__ctid);
    yield batch.rows;
    if (batch.rows.length < limit) return;
  }
}

/**
 * One cell as text both dialects agree on: SQLite gives numbers and Buffers, PostgreSQL
 * gives `bigint` as a string; the target's column type decides.
 */
function cell(value: unknown, type: string): string | null {
  if (value === null || value === undefined) return null;
  if (type === 'bytea') return `x${Buffer.from(value as Uint8Array).toString('hex')}`;
  if (Buffer.isBuffer(value)) return `x${value.toString('hex')}`;
  if (type === 'integer' || type === 'bigint' || type === 'smallint') return BigInt(value as number | string).toString();
  return typeof value === 'string' ? value : JSON.stringify(value);
}

function rowHash(row: Record<string, unknown>, table: TargetTable): bigint {
  const cells = table.columns.map((c) => cell(row[c.name], c.type));
  return BigInt(`0x${createHash('sha256').update(JSON.stringify(cells)).digest('hex')}`);
}

async function digestOf(batches: AsyncIterable<Array<Record<string, unknown>>>, table: TargetTable): Promise<TableDigest> {
  let sum = 0n;
  let rows = 0;
  for await (const batch of batches) {
    for (const row of batch) sum = (sum + rowHash(row, table)) % MOD;
    rows += batch.length;
  }
  return { rows, digest: sum.toString(16).padStart(64, '0') };
}

/** Count and digest of a table in the SQLite source. */
export function sourceDigest(db: AnyDb, table: TargetTable): Promise<TableDigest> {
  return digestOf(sqliteRows(db, table), table);
}

/** Count and digest of a table in the PostgreSQL target. */
export function targetDigest(db: AnyDb, table: TargetTable): Promise<TableDigest> {
  return digestOf(postgresRows(db, table), table);
}

/** Rows in a target table (any: the emptiness check). */
export async function targetHasRows(db: AnyDb, table: string): Promise<boolean> {
  const r = await sql<{ one: number }>`select 1 as one from ${sql.table(table)} limit 1`.execute(db);
  return r.rows.length > 0;
}

/**
 * Copies every row of `table` from the source into the target inside `trx` (the caller's
 * transaction, which also records the step: a table is copied entirely or not at all).
 * Values go as they are: text as text, integers as numbers, bytes as bytes.
 */
export async function copyTable(source: AnyDb, trx: Transaction<any>, table: TargetTable): Promise<number> { // eslint-disable-line @typescript-eslint/no-explicit-any
  let rows = 0;
  const columns = sql.join(table.columns.map((c) => sql.ref(c.name)));
  for await (const batch of sqliteRows(source, table)) {
    const values = batch.map((row) => sql`(${sql.join(table.columns.map((c) => toTarget(row[c.name], c.type)))})`);
    await sql`insert into ${sql.table(table.name)} (${columns}) values ${sql.join(values)}`.execute(trx);
    rows += batch.length;
  }
  return rows;
}

function toTarget(value: unknown, type: string): unknown {
  if (value === null || value === undefined) return null;
  if (type === 'bytea') return Buffer.from(value as Uint8Array);
  return value;
}
