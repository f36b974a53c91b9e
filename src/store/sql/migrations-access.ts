import type { Kysely, Migration } from 'kysely';
import type { SqlDialectName } from './migrations.js';

/**
 * Tables of the access module (src/store/access-store.ts): access requests and their
 * approvals, share links, promotions (`009_access_approval_party`: the approver's party,
 * one approval per party). Merged into `migrations()`; append-only like it,
 * every statement IF NOT EXISTS (a crash mid-migration simply runs it again).
 */
export function accessMigrations(_dialect: SqlDialectName): Record<string, Migration> {
  return {
    '003_access': {
      async up(db: Kysely<unknown>): Promise<void> {
        await db.schema
          .createTable('access_requests')
          .ifNotExists()
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('kind', 'text', (c) => c.notNull())
          .addColumn('requester_id', 'text', (c) => c.notNull().references('principals.id'))
          .addColumn('role', 'text')
          .addColumn('scope_kind', 'text', (c) => c.notNull())
          .addColumn('scope_id', 'text', (c) => c.notNull())
          .addColumn('project_id', 'text', (c) => c.notNull())
          .addColumn('tier', 'text')
          .addColumn('duration_ms', 'bigint', (c) => c.notNull())
          .addColumn('justification', 'text', (c) => c.notNull())
          .addColumn('ticket', 'text')
          .addColumn('approvals_required', 'integer', (c) => c.notNull())
          .addColumn('status', 'text', (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addColumn('deadline', 'bigint', (c) => c.notNull())
          .addColumn('decided_at', 'bigint')
          .addColumn('decided_by', 'text')
          .addColumn('reason', 'text')
          .addColumn('grant_id', 'text')
          .addColumn('ends_at', 'bigint')
          .addColumn('target', 'text')
          .addColumn('expiry_noted_at', 'bigint')
          .addColumn('review_status', 'text')
          .addColumn('reviewed_by', 'text')
          .addColumn('reviewed_at', 'bigint')
          .addColumn('review_note', 'text')
          .execute();
        await db.schema.createIndex('access_requests_requester_idx').ifNotExists().on('access_requests').columns(['requester_id', 'id']).execute();
        await db.schema.createIndex('access_requests_status_idx').ifNotExists().on('access_requests').columns(['status', 'id']).execute();
        await db.schema.createIndex('access_requests_ends_idx').ifNotExists().on('access_requests').columns(['status', 'ends_at']).execute();
        await db.schema.createIndex('access_requests_review_idx').ifNotExists().on('access_requests').columns(['review_status', 'id']).execute();

        await db.schema
          .createTable('access_approvals')
          .ifNotExists()
          .addColumn('request_id', 'text', (c) => c.notNull().references('access_requests.id'))
          .addColumn('approver_id', 'text', (c) => c.notNull().references('principals.id'))
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addColumn('comment', 'text', (c) => c.notNull())
          .addPrimaryKeyConstraint('access_approvals_pk', ['request_id', 'approver_id'])
          .execute();

        await db.schema
          .createTable('share_links')
          .ifNotExists()
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('token_hash', 'text', (c) => c.notNull())
          .addColumn('hint', 'text', (c) => c.notNull())
          .addColumn('project_id', 'text', (c) => c.notNull())
          .addColumn('artifact_id', 'text', (c) => c.notNull())
          .addColumn('version_id', 'text', (c) => c.notNull())
          .addColumn('created_by', 'text', (c) => c.notNull().references('principals.id'))
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addColumn('ttl_ms', 'bigint', (c) => c.notNull())
          .addColumn('expires_at', 'bigint')
          .addColumn('max_downloads', 'bigint')
          .addColumn('downloads', 'bigint', (c) => c.notNull().defaultTo(0))
          .addColumn('cidrs', 'text', (c) => c.notNull())
          .addColumn('status', 'text', (c) => c.notNull())
          .addColumn('request_id', 'text')
          .addColumn('revoked_at', 'bigint')
          .addColumn('revoked_by', 'text')
          .addColumn('last_used_at', 'bigint')
          .execute();
        await db.schema.createIndex('share_links_token_hash_uq').ifNotExists().unique().on('share_links').column('token_hash').execute();
        await db.schema.createIndex('share_links_creator_idx').ifNotExists().on('share_links').columns(['created_by', 'id']).execute();
        await db.schema.createIndex('share_links_version_idx').ifNotExists().on('share_links').columns(['version_id', 'id']).execute();

        await db.schema
          .createTable('promotions')
          .ifNotExists()
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('version_id', 'text', (c) => c.notNull())
          .addColumn('artifact_id', 'text', (c) => c.notNull())
          .addColumn('environment', 'text', (c) => c.notNull())
          .addColumn('from_environment', 'text', (c) => c.notNull())
          .addColumn('promoted_by', 'text', (c) => c.notNull())
          .addColumn('promoted_at', 'bigint', (c) => c.notNull())
          .addColumn('request_id', 'text')
          .addColumn('sha256', 'text', (c) => c.notNull())
          .addColumn('checks', 'text', (c) => c.notNull())
          .execute();
        // one promotion per version and environment: two concurrent promotions cannot both land
        await db.schema.createIndex('promotions_version_environment_uq').ifNotExists().unique().on('promotions').columns(['version_id', 'environment']).execute();
        await db.schema.createIndex('promotions_artifact_idx').ifNotExists().on('promotions').columns(['artifact_id', 'promoted_at']).execute();
      },
    },
    '009_access_approval_party': {
      // four eyes (src/access/four-eyes.ts): one approval per party of a request, enforced by the database
      async up(db: Kysely<unknown>): Promise<void> {
        const columns = await db.introspection.getTables().then((ts) => ts.find((t) => t.name === 'access_approvals')?.columns.map((c) => c.name) ?? []);
        if (!columns.includes('party_id')) await db.schema.alterTable('access_approvals').addColumn('party_id', 'text').execute();
        await db.schema.createIndex('access_approvals_party_uq').ifNotExists().unique().on('access_approvals').columns(['request_id', 'party_id']).execute();
      },
    },
  };
}
