import type { Kysely, Migration } from 'kysely';
import type { SqlDialectName } from './migrations.js';

/**
 * Tables of the monitor and of access reviews (`004_monitor`): detector state and its
 * audit cursor, alerts, locks, usage derived from the audit log, review campaigns and
 * items. Append-only like every migration; IF NOT EXISTS so a crash mid-way reruns.
 */
export function monitorMigrations(_dialect: SqlDialectName): Record<string, Migration> {
  return {
    '004_monitor': {
      async up(db: Kysely<unknown>): Promise<void> {
        await db.schema
          .createTable('monitor_state')
          .ifNotExists()
          .addColumn('principal_key', 'text', (c) => c.primaryKey())
          .addColumn('state', 'text', (c) => c.notNull())
          .addColumn('updated_at', 'bigint', (c) => c.notNull())
          .execute();
        await db.schema
          .createTable('monitor_meta')
          .ifNotExists()
          .addColumn('key', 'text', (c) => c.primaryKey())
          .addColumn('value', 'bigint', (c) => c.notNull())
          .execute();

        await db.schema
          .createTable('monitor_alerts')
          .ifNotExists()
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('rule', 'text', (c) => c.notNull())
          .addColumn('severity', 'text', (c) => c.notNull())
          .addColumn('action', 'text', (c) => c.notNull())
          .addColumn('principal_key', 'text', (c) => c.notNull())
          .addColumn('principal_id', 'text')
          .addColumn('principal_name', 'text')
          .addColumn('event_time', 'bigint', (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addColumn('trigger_seq', 'bigint', (c) => c.notNull())
          .addColumn('summary', 'text', (c) => c.notNull())
          .addColumn('evidence', 'text', (c) => c.notNull())
          .addColumn('measures', 'text', (c) => c.notNull())
          .addColumn('status', 'text', (c) => c.notNull())
          .addColumn('acked_by', 'text')
          .addColumn('acked_at', 'bigint')
          .addColumn('note', 'text')
          .execute();
        await db.schema.createIndex('monitor_alerts_time_idx').ifNotExists().on('monitor_alerts').columns(['event_time', 'id']).execute();
        await db.schema.createIndex('monitor_alerts_status_idx').ifNotExists().on('monitor_alerts').columns(['status', 'event_time']).execute();
        await db.schema.createIndex('monitor_alerts_principal_idx').ifNotExists().on('monitor_alerts').columns(['principal_id', 'event_time']).execute();

        await db.schema
          .createTable('monitor_locks')
          .ifNotExists()
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('principal_id', 'text', (c) => c.notNull())
          .addColumn('principal_name', 'text', (c) => c.notNull())
          .addColumn('alert_id', 'text')
          .addColumn('reason', 'text', (c) => c.notNull())
          .addColumn('locked_at', 'bigint', (c) => c.notNull())
          .addColumn('tokens_revoked', 'integer', (c) => c.notNull())
          .addColumn('downloads_aborted', 'integer', (c) => c.notNull())
          .addColumn('unlocked_at', 'bigint')
          .addColumn('unlocked_by', 'text')
          .addColumn('note', 'text')
          .execute();
        await db.schema.createIndex('monitor_locks_principal_idx').ifNotExists().on('monitor_locks').columns(['principal_id', 'locked_at']).execute();

        await db.schema
          .createTable('monitor_grant_use')
          .ifNotExists()
          .addColumn('grant_id', 'text', (c) => c.primaryKey())
          .addColumn('principal_id', 'text', (c) => c.notNull())
          .addColumn('last_used_at', 'bigint', (c) => c.notNull())
          .addColumn('last_seq', 'bigint', (c) => c.notNull())
          .execute();
        await db.schema
          .createTable('monitor_principal_use')
          .ifNotExists()
          .addColumn('principal_id', 'text', (c) => c.notNull())
          .addColumn('action', 'text', (c) => c.notNull())
          .addColumn('project', 'text', (c) => c.notNull())
          .addColumn('artifact', 'text', (c) => c.notNull())
          .addColumn('last_used_at', 'bigint', (c) => c.notNull())
          .addColumn('count', 'bigint', (c) => c.notNull())
          .addPrimaryKeyConstraint('monitor_principal_use_pk', ['principal_id', 'action', 'project', 'artifact'])
          .execute();
        await db.schema.createIndex('monitor_principal_use_time_idx').ifNotExists().on('monitor_principal_use').columns(['principal_id', 'last_used_at']).execute();

        await db.schema
          .createTable('review_campaigns')
          .ifNotExists()
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('name', 'text', (c) => c.notNull())
          .addColumn('scope_kind', 'text', (c) => c.notNull())
          .addColumn('scope_value', 'text')
          .addColumn('stale_days', 'integer', (c) => c.notNull())
          .addColumn('created_by', 'text', (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addColumn('due_at', 'bigint')
          .addColumn('status', 'text', (c) => c.notNull())
          .addColumn('closed_at', 'bigint')
          .execute();
        await db.schema
          .createTable('review_items')
          .ifNotExists()
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('campaign_id', 'text', (c) => c.notNull().references('review_campaigns.id'))
          .addColumn('grant_id', 'text', (c) => c.notNull())
          .addColumn('principal_id', 'text', (c) => c.notNull())
          .addColumn('principal_name', 'text', (c) => c.notNull())
          .addColumn('principal_kind', 'text', (c) => c.notNull())
          .addColumn('principal_disabled', 'integer', (c) => c.notNull())
          .addColumn('role', 'text', (c) => c.notNull())
          .addColumn('scope_kind', 'text', (c) => c.notNull())
          .addColumn('scope_id', 'text', (c) => c.notNull())
          .addColumn('scope_name', 'text', (c) => c.notNull())
          .addColumn('tier', 'text')
          .addColumn('grant_created_at', 'bigint', (c) => c.notNull())
          .addColumn('grant_expires_at', 'bigint')
          .addColumn('last_used_at', 'bigint')
          .addColumn('reviewers', 'text', (c) => c.notNull())
          .addColumn('decision', 'text', (c) => c.notNull())
          .addColumn('decided_by', 'text')
          .addColumn('decided_at', 'bigint')
          .addColumn('note', 'text')
          .execute();
        await db.schema.createIndex('review_items_campaign_idx').ifNotExists().on('review_items').columns(['campaign_id', 'scope_name']).execute();
      },
    },
    '004_monitor_b': {
      // reminders of pending review items: when each campaign's reviewers were last reminded
      async up(db: Kysely<unknown>): Promise<void> {
        await db.schema
          .createTable('review_reminders')
          .ifNotExists()
          .addColumn('campaign_id', 'text', (c) => c.primaryKey().references('review_campaigns.id'))
          .addColumn('reminded_at', 'bigint', (c) => c.notNull())
          .addColumn('rounds', 'integer', (c) => c.notNull())
          .execute();
      },
    },
  };
}
