import { sql, type Kysely, type Migration } from 'kysely';
import { s3Migrations } from './migrations-s3.js';
import { identityMigrations } from './migrations-identity.js';
import { accessMigrations } from './migrations-access.js';
import { policyMigrations } from './migrations-policy.js';
import { monitorMigrations } from './migrations-monitor.js';
import { gateMigrations } from './migrations-gate.js';
import { credentialMigrations } from './migrations-credentials.js';
import { installMigrations } from './migrations-install.js';
import { clusterMigrations } from './migrations-cluster.js';

/** The SQL dialects the metadata store runs on. */
export type SqlDialectName = 'sqlite' | 'postgres';

/** Table Kysely's Migrator records applied migrations in. */
export const MIGRATION_TABLE = 'coffer_migrations';
/** Table Kysely's Migrator uses as a lock (PostgreSQL also takes an advisory lock). */
export const MIGRATION_LOCK_TABLE = 'coffer_migration_lock';

/**
 * Every schema migration, by name (applied in name order). Migrations are
 * append-only: never edit one that has shipped, add the next.
 * Every statement uses IF NOT EXISTS: SQLite has no transactional DDL in Kysely's
 * migrator, so a migration interrupted by a crash is simply run again.
 */
export function migrations(dialect: SqlDialectName): Record<string, Migration> {
  const bytes = dialect === 'postgres' ? 'bytea' : 'blob';
  // names sort bytewise in both dialects, so paging by name agrees between them
  const name = dialect === 'postgres' ? sql`text collate "C"` : sql`text`;
  return {
    '001_initial': {
      async up(db: Kysely<unknown>): Promise<void> {
        await db.schema
          .createTable('settings')
          .ifNotExists()
          .addColumn('key', 'text', (c) => c.primaryKey())
          .addColumn('value', bytes, (c) => c.notNull())
          .addColumn('updated_at', 'bigint', (c) => c.notNull())
          .execute();

        await db.schema
          .createTable('principals')
          .ifNotExists()
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('kind', 'text', (c) => c.notNull())
          .addColumn('name', name, (c) => c.notNull())
          .addColumn('display_name', 'text', (c) => c.notNull())
          .addColumn('owner_id', 'text')
          .addColumn('disabled', 'integer', (c) => c.notNull().defaultTo(0))
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .execute();
        await db.schema.createIndex('principals_name_uq').ifNotExists().unique().on('principals').column('name').execute();
        await db.schema.createIndex('principals_kind_name_idx').ifNotExists().on('principals').columns(['kind', 'name']).execute();

        await db.schema
          .createTable('memberships')
          .ifNotExists()
          .addColumn('group_id', 'text', (c) => c.notNull().references('principals.id'))
          .addColumn('member_id', 'text', (c) => c.notNull().references('principals.id'))
          .addPrimaryKeyConstraint('memberships_pk', ['group_id', 'member_id'])
          .execute();
        await db.schema.createIndex('memberships_member_idx').ifNotExists().on('memberships').columns(['member_id', 'group_id']).execute();

        await db.schema
          .createTable('tokens')
          .ifNotExists()
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('principal_id', 'text', (c) => c.notNull().references('principals.id'))
          .addColumn('hash', 'text', (c) => c.notNull())
          .addColumn('hint', 'text', (c) => c.notNull())
          .addColumn('description', 'text', (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addColumn('expires_at', 'bigint')
          .addColumn('revoked_at', 'bigint')
          .addColumn('last_used_at', 'bigint')
          .execute();
        await db.schema.createIndex('tokens_hash_uq').ifNotExists().unique().on('tokens').column('hash').execute();
        await db.schema.createIndex('tokens_principal_idx').ifNotExists().on('tokens').columns(['principal_id', 'created_at']).execute();

        await db.schema
          .createTable('projects')
          .ifNotExists()
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('name', name, (c) => c.notNull())
          .addColumn('description', 'text', (c) => c.notNull())
          .addColumn('created_by', 'text', (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .execute();
        await db.schema.createIndex('projects_name_uq').ifNotExists().unique().on('projects').column('name').execute();

        await db.schema
          .createTable('artifacts')
          .ifNotExists()
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('project_id', 'text', (c) => c.notNull().references('projects.id'))
          .addColumn('name', name, (c) => c.notNull())
          .addColumn('kind', 'text', (c) => c.notNull())
          .addColumn('tier', 'text', (c) => c.notNull())
          .addColumn('environment', 'text', (c) => c.notNull())
          .addColumn('owner_id', 'text', (c) => c.notNull())
          .addColumn('labels', 'text', (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .execute();
        await db.schema.createIndex('artifacts_project_name_uq').ifNotExists().unique().on('artifacts').columns(['project_id', 'name']).execute();

        await db.schema
          .createTable('versions')
          .ifNotExists()
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('artifact_id', 'text', (c) => c.notNull().references('artifacts.id'))
          .addColumn('number', 'integer', (c) => c.notNull())
          .addColumn('sha256', 'text', (c) => c.notNull())
          .addColumn('size', 'bigint', (c) => c.notNull())
          .addColumn('media_type', 'text', (c) => c.notNull())
          .addColumn('created_by', 'text', (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addColumn('blob_key', 'text', (c) => c.notNull())
          .addColumn('wrapped_key', bytes)
          .addColumn('key_term', 'integer', (c) => c.notNull())
          .execute();
        // the name carries `number`: a violation of this index is a version-number race (ConflictError)
        await db.schema.createIndex('versions_artifact_number_uq').ifNotExists().unique().on('versions').columns(['artifact_id', 'number']).execute();
        await db.schema.createIndex('versions_blob_key_idx').ifNotExists().on('versions').column('blob_key').execute();
        await db.schema.createIndex('versions_key_term_idx').ifNotExists().on('versions').columns(['key_term', 'id']).execute();

        await db.schema
          .createTable('grants')
          .ifNotExists()
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('principal_id', 'text', (c) => c.notNull().references('principals.id'))
          .addColumn('role', 'text', (c) => c.notNull())
          .addColumn('scope_kind', 'text', (c) => c.notNull())
          .addColumn('scope_id', 'text', (c) => c.notNull())
          .addColumn('created_by', 'text', (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addColumn('expires_at', 'bigint')
          .execute();
        await db.schema.createIndex('grants_principal_idx').ifNotExists().on('grants').column('principal_id').execute();
        await db.schema.createIndex('grants_scope_idx').ifNotExists().on('grants').columns(['scope_kind', 'scope_id']).execute();

        await db.schema
          .createTable('audit_records')
          .ifNotExists()
          .addColumn('seq', 'bigint', (c) => c.primaryKey())
          .addColumn('body', 'text', (c) => c.notNull())
          .addColumn('prev_hash', 'text', (c) => c.notNull())
          .addColumn('hash', 'text', (c) => c.notNull())
          .execute();

        await db.schema
          .createTable('audit_checkpoints')
          .ifNotExists()
          .addColumn('seq', 'bigint', (c) => c.primaryKey())
          .addColumn('hash', 'text', (c) => c.notNull())
          .addColumn('signature', 'text', (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .execute();
      },
    },
    ...s3Migrations(dialect),
    ...identityMigrations(dialect),
    ...accessMigrations(dialect),
    ...policyMigrations(dialect),
    ...monitorMigrations(dialect),
    ...gateMigrations(dialect),
    ...credentialMigrations(dialect),
    ...installMigrations(dialect),
    ...clusterMigrations(dialect),
  };
}
