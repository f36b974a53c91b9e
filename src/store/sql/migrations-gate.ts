import { sql, type Kysely, type Migration } from 'kysely';
import { addColumnIfMissing } from './migration-helpers.js';
import type { SqlDialectName } from './migrations.js';

/**
 * The artifact gate's verdicts (migration `020_version_scan`): the summary policy reads
 * lives on the version row (no join on the authorization path), the full report (counts
 * and locations, never values) in `version_scan_reports`. A version with a null
 * `scan_state` waits for its scan; `scan_claimed_until` is the lease of the node that
 * scans it (a node that dies lets the lease lapse and another takes the version over).
 * Append-only like migrations.ts; every statement checks first or uses IF NOT EXISTS.
 */
export function gateMigrations(dialect: SqlDialectName): Record<string, Migration> {
  return {
    '020_version_scan': {
      async up(db: Kysely<unknown>): Promise<void> {
        await addColumnIfMissing(db, dialect, 'versions', 'scan_state', 'text');
        await addColumnIfMissing(db, dialect, 'versions', 'scan_flags', 'integer');
        await addColumnIfMissing(db, dialect, 'versions', 'scan_at', 'bigint');
        await addColumnIfMissing(db, dialect, 'versions', 'scan_claimed_until', 'bigint');
        await addColumnIfMissing(db, dialect, 'versions', 'scan_exception', 'text');
        await db.schema
          .createTable('version_scan_reports')
          .ifNotExists()
          .addColumn('version_id', 'text', (c) => c.primaryKey().references('versions.id').onDelete('cascade'))
          .addColumn('report', 'text', (c) => c.notNull())
          .execute();
        // the scanner's queue: versions without a verdict, oldest first
        await sql`create index if not exists versions_scan_pending_idx on versions (created_at) where scan_state is null`.execute(db);
      },
    },
  };
}
