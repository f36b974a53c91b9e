import type { Kysely, Migration } from 'kysely';
import type { SqlDialectName } from './migrations.js';

/** Table `coffer migrate` records its progress in, on the target (never copied itself). */
export const INSTALL_MIGRATION_TABLE = 'install_migration_steps';

/**
 * Migration `018_install_migration`: the steps of `coffer migrate` done on this database
 * (one row per copied table, and `done` with the verification report), keyed by the id of
 * the source install, so an interrupted migration resumes and a finished one is recognized.
 * Append-only like migrations.ts; every statement uses IF NOT EXISTS.
 */
export function installMigrations(_dialect: SqlDialectName): Record<string, Migration> {
  return {
    '018_install_migration': {
      async up(db: Kysely<unknown>): Promise<void> {
        await db.schema
          .createTable(INSTALL_MIGRATION_TABLE)
          .ifNotExists()
          .addColumn('source_id', 'text', (c) => c.notNull())
          .addColumn('step', 'text', (c) => c.notNull())
          .addColumn('detail', 'text', (c) => c.notNull())
          .addColumn('done_at', 'bigint', (c) => c.notNull())
          .addPrimaryKeyConstraint('install_migration_steps_pk', ['source_id', 'step'])
          .execute();
      },
    },
  };
}
