import type { Kysely, Migration } from 'kysely';
import type { SqlDialectName } from './migrations.js';

/**
 * Tables of policy management (src/store/policy-store.ts): versions of the custom
 * policy set and their activations. Merged into `migrations()`; append-only like it,
 * every statement IF NOT EXISTS.
 */
export function policyMigrations(_dialect: SqlDialectName): Record<string, Migration> {
  return {
    '006_policy': {
      async up(db: Kysely<unknown>): Promise<void> {
        await db.schema
          .createTable('policy_versions')
          .ifNotExists()
          .addColumn('version', 'integer', (c) => c.primaryKey())
          // JSON list of {name, text}
          .addColumn('sources', 'text', (c) => c.notNull())
          .addColumn('digest', 'text', (c) => c.notNull())
          .addColumn('policy_count', 'integer', (c) => c.notNull())
          .addColumn('message', 'text', (c) => c.notNull())
          .addColumn('created_by', 'text', (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .execute();
        await db.schema
          .createTable('policy_activations')
          .ifNotExists()
          .addColumn('seq', 'integer', (c) => c.primaryKey())
          .addColumn('version', 'integer', (c) => c.notNull())
          .addColumn('kind', 'text', (c) => c.notNull())
          .addColumn('activated_by', 'text', (c) => c.notNull())
          .addColumn('activated_at', 'bigint', (c) => c.notNull())
          .execute();
      },
    },
  };
}
