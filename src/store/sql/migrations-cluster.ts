import type { Kysely, Migration } from 'kysely';
import type { SqlDialectName } from './migrations.js';

/**
 * The change feed's version table (`017_change_versions`): one row per topic, its
 * version bumped in the transaction that publishes a change, so a node that missed a
 * notification (LISTEN connection down, SQLite) finds the change by polling.
 * Append-only like every migration; IF NOT EXISTS so a crash mid-way reruns.
 */
export function clusterMigrations(_dialect: SqlDialectName): Record<string, Migration> {
  return {
    '017_change_versions': {
      async up(db: Kysely<unknown>): Promise<void> {
        await db.schema
          .createTable('change_versions')
          .ifNotExists()
          .addColumn('topic', 'text', (c) => c.primaryKey())
          .addColumn('version', 'bigint', (c) => c.notNull())
          .execute();
      },
    },
  };
}
