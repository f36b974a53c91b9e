import { sql, type Insertable, type Kysely, type Selectable } from 'kysely';
import { AlreadyExistsError, StorageError, isCofferError, type CofferError } from '../../domain/errors.js';
import type { Page } from '../metadata-store.js';
import type { AlertRecord, GrantUse, LockRecord, MonitorStore, PrincipalUse, ReviewCampaign, ReviewItem } from '../monitor-store.js';
import { decodeCursor, encodeCursor, pageSize } from './cursor.js';
import type { Database, Flag, Int8 } from './database.js';
import { classifyDbError, storageFailure } from './db-errors.js';
import type { SqlDialectName } from './migrations.js';
import { toNumber } from './rows.js';

interface MonitorStateTable {
  principal_key: string;
  state: string;
  updated_at: Int8;
}
interface MonitorMetaTable {
  key: string;
  value: Int8;
}
interface MonitorAlertsTable {
  id: string;
  rule: string;
  severity: string;
  action: string;
  principal_key: string;
  principal_id: string | null;
  principal_name: string | null;
  event_time: Int8;
  created_at: Int8;
  trigger_seq: Int8;
  summary: string;
  evidence: string;
  measures: string;
  status: string;
  acked_by: string | null;
  acked_at: Int8 | null;
  note: string | null;
}
interface MonitorLocksTable {
  id: string;
  principal_id: string;
  principal_name: string;
  alert_id: string | null;
  reason: string;
  locked_at: Int8;
  tokens_revoked: number;
  downloads_aborted: number;
  unlocked_at: Int8 | null;
  unlocked_by: string | null;
  note: string | null;
}
interface MonitorGrantUseTable {
  grant_id: string;
  principal_id: string;
  last_used_at: Int8;
  last_seq: Int8;
}
interface MonitorPrincipalUseTable {
  principal_id: string;
  action: string;
  project: string;
  artifact: string;
  last_used_at: Int8;
  count: Int8;
}
interface ReviewCampaignsTable {
  id: string;
  name: string;
  scope_kind: string;
  scope_value: string | null;
  stale_days: number;
  created_by: string;
  created_at: Int8;
  due_at: Int8 | null;
  status: string;
  closed_at: Int8 | null;
}
interface ReviewItemsTable {
  id: string;
  campaign_id: string;
  grant_id: string;
  principal_id: string;
  principal_name: string;
  principal_kind: string;
  principal_disabled: Flag;
  role: string;
  scope_kind: string;
  scope_id: string;
  scope_name: string;
  tier: string | null;
  grant_created_at: Int8;
  grant_expires_at: Int8 | null;
  last_used_at: Int8 | null;
  reviewers: string;
  decision: string;
  decided_by: string | null;
  decided_at: Int8 | null;
  note: string | null;
}

interface ReviewRemindersTable {
  campaign_id: string;
  reminded_at: Int8;
  rounds: number;
}

/** The tables of migrations `004_monitor` and `004_monitor_b` as Kysely sees them. */
export interface MonitorTables {
  monitor_state: MonitorStateTable;
  monitor_meta: MonitorMetaTable;
  monitor_alerts: MonitorAlertsTable;
  monitor_locks: MonitorLocksTable;
  monitor_grant_use: MonitorGrantUseTable;
  monitor_principal_use: MonitorPrincipalUseTable;
  review_campaigns: ReviewCampaignsTable;
  review_items: ReviewItemsTable;
  review_reminders: ReviewRemindersTable;
}

const CURSOR_KEY = 'audit-cursor';
/** Rows per INSERT statement (keeps every statement well under SQLite's parameter limit). */
const CHUNK = 200;

/**
 * MonitorStore over the Kysely instance of the core store (SQLite or PostgreSQL), on
 * the tables of `004_monitor`. Built with `new MonitorSqlStore(core.kysely, core.dialect)`;
 * the core store owns (and closes) the connection.
 */
export class MonitorSqlStore implements MonitorStore {
  readonly #db: Kysely<MonitorTables>;
  readonly #dialect: SqlDialectName;

  constructor(db: Kysely<Database>, dialect: SqlDialectName) {
    this.#db = db as unknown as Kysely<MonitorTables>;
    this.#dialect = dialect;
  }

  // ---- detector state ----

  loadMonitorState(): Promise<{ seq: number; states: Array<[string, string]> }> {
    return this.#run('load monitor state', async () => {
      const meta = await this.#db.selectFrom('monitor_meta').select('value').where('key', '=', CURSOR_KEY).executeTakeFirst();
      const rows = await this.#db.selectFrom('monitor_state').select(['principal_key', 'state']).execute();
      return { seq: meta === undefined ? 0 : toNumber(meta.value), states: rows.map((r) => [r.principal_key, r.state] as [string, string]) };
    });
  }

  saveMonitorState(p: { seq: number; states: ReadonlyArray<[string, string | null]>; grantUses: readonly GrantUse[]; principalUses: readonly PrincipalUse[] }): Promise<void> {
    return this.#run('save monitor state', () =>
      this.#write(async (trx) => {
        const now = Date.now();
        const deleted = p.states.filter(([, s]) => s === null).map(([k]) => k);
        for (let i = 0; i < deleted.length; i += CHUNK) await trx.deleteFrom('monitor_state').where('principal_key', 'in', deleted.slice(i, i + CHUNK)).execute();
        const upserts = p.states.filter((e): e is [string, string] => e[1] !== null);
        for (let i = 0; i < upserts.length; i += CHUNK) {
          await trx
            .insertInto('monitor_state')
            .values(upserts.slice(i, i + CHUNK).map(([principal_key, state]) => ({ principal_key, state, updated_at: now })))
            .onConflict((oc) => oc.column('principal_key').doUpdateSet((eb) => ({ state: eb.ref('excluded.state'), updated_at: eb.ref('excluded.updated_at') })))
            .execute();
        }
        const later = (col: string) => (this.#dialect === 'postgres' ? sql<number>`greatest(${sql.ref(col)}, ${sql.ref(`excluded.${col.split('.')[1]!}`)})` : sql<number>`max(${sql.ref(col)}, ${sql.ref(`excluded.${col.split('.')[1]!}`)})`);
        for (let i = 0; i < p.grantUses.length; i += CHUNK) {
          await trx
            .insertInto('monitor_grant_use')
            .values(p.grantUses.slice(i, i + CHUNK).map((g) => ({ grant_id: g.grantId, principal_id: g.principalId, last_used_at: g.lastUsedAt, last_seq: g.lastSeq })))
            .onConflict((oc) =>
              oc.column('grant_id').doUpdateSet({ last_used_at: later('monitor_grant_use.last_used_at'), last_seq: later('monitor_grant_use.last_seq') }),
            )
            .execute();
        }
        for (let i = 0; i < p.principalUses.length; i += CHUNK) {
          await trx
            .insertInto('monitor_principal_use')
            .values(p.principalUses.slice(i, i + CHUNK).map((u) => ({ principal_id: u.principalId, action: u.action, project: u.project, artifact: u.artifact, last_used_at: u.lastUsedAt, count: u.count })))
            .onConflict((oc) =>
              oc.columns(['principal_id', 'action', 'project', 'artifact']).doUpdateSet((eb) => ({
                last_used_at: later('monitor_principal_use.last_used_at'),
                count: eb('monitor_principal_use.count', '+', eb.ref('excluded.count')),
              })),
            )
            .execute();
        }
        await trx
          .insertInto('monitor_meta')
          .values({ key: CURSOR_KEY, value: p.seq })
          .onConflict((oc) => oc.column('key').doUpdateSet({ value: p.seq }))
          .execute();
      }),
    );
  }

  // ---- alerts ----

  insertAlert(a: AlertRecord): Promise<boolean> {
    return this.#run('insert alert', async () => {
      const r = await this.#db
        .insertInto('monitor_alerts')
        .values({
          id: a.id,
          rule: a.rule,
          severity: a.severity,
          action: a.action,
          principal_key: a.principalKey,
          principal_id: a.principalId,
          principal_name: a.principalName,
          event_time: a.time,
          created_at: a.createdAt,
          trigger_seq: a.triggerSeq,
          summary: a.summary,
          evidence: JSON.stringify(a.evidence),
          measures: JSON.stringify(a.measures),
          status: a.status,
          acked_by: a.ackedBy,
          acked_at: a.ackedAt,
          note: a.note,
        })
        .onConflict((oc) => oc.column('id').doNothing())
        .executeTakeFirst();
      return (r.numInsertedOrUpdatedRows ?? 0n) > 0n;
    });
  }

  getAlert(id: string): Promise<AlertRecord | null> {
    return this.#run('get alert', async () => {
      const row = await this.#db.selectFrom('monitor_alerts').selectAll().where('id', '=', id).executeTakeFirst();
      return row === undefined ? null : alertFromRow(row);
    });
  }

  listAlerts(options: { status?: AlertRecord['status']; principalId?: string; limit?: number; cursor?: string | null } = {}): Promise<Page<AlertRecord>> {
    return this.#run('list alerts', async () => {
      const limit = pageSize(options.limit);
      let q = this.#db.selectFrom('monitor_alerts').selectAll();
      if (options.status !== undefined) q = q.where('status', '=', options.status);
      if (options.principalId !== undefined) q = q.where('principal_id', '=', options.principalId);
      if (options.cursor) {
        const [t, id] = parseAlertCursor(decodeCursor(options.cursor, 'string'));
        q = q.where((eb) => eb.or([eb('event_time', '<', t), eb.and([eb('event_time', '=', t), eb('id', '<', id)])]));
      }
      const rows = await q.orderBy('event_time', 'desc').orderBy('id', 'desc').limit(limit + 1).execute();
      const items = rows.slice(0, limit).map(alertFromRow);
      const last = items[items.length - 1];
      return { items, next: rows.length > limit && last !== undefined ? encodeCursor(`${last.time}:${last.id}`) : null };
    });
  }

  ackAlert(id: string, by: string, at: number, note: string | null): Promise<boolean> {
    return this.#run('ack alert', async () => {
      const r = await this.#db
        .updateTable('monitor_alerts')
        .set({ status: 'acked', acked_by: by, acked_at: at, note })
        .where('id', '=', id)
        .where('status', '=', 'open')
        .executeTakeFirst();
      return r.numUpdatedRows > 0n;
    });
  }

  countOpenAlerts(): Promise<number> {
    return this.#run('count alerts', async () => {
      const row = await this.#db.selectFrom('monitor_alerts').select((eb) => eb.fn.countAll().as('n')).where('status', '=', 'open').executeTakeFirstOrThrow();
      return toNumber(row.n);
    });
  }

  // ---- locks ----

  insertLock(l: LockRecord): Promise<void> {
    return this.#run('insert lock', async () => {
      await this.#db
        .insertInto('monitor_locks')
        .values({
          id: l.id,
          principal_id: l.principalId,
          principal_name: l.principalName,
          alert_id: l.alertId,
          reason: l.reason,
          locked_at: l.lockedAt,
          tokens_revoked: l.tokensRevoked,
          downloads_aborted: l.downloadsAborted,
          unlocked_at: l.unlockedAt,
          unlocked_by: l.unlockedBy,
          note: l.note,
        })
        .execute();
    });
  }

  listOpenLocks(principalId?: string): Promise<LockRecord[]> {
    return this.#run('list locks', async () => {
      let q = this.#db.selectFrom('monitor_locks').selectAll().where('unlocked_at', 'is', null);
      if (principalId !== undefined) q = q.where('principal_id', '=', principalId);
      const rows = await q.orderBy('locked_at').orderBy('id').execute();
      return rows.map(lockFromRow);
    });
  }

  closeLocks(principalId: string, by: string, at: number, note: string | null): Promise<number> {
    return this.#run('close locks', async () => {
      const r = await this.#db
        .updateTable('monitor_locks')
        .set({ unlocked_at: at, unlocked_by: by, note })
        .where('principal_id', '=', principalId)
        .where('unlocked_at', 'is', null)
        .executeTakeFirst();
      return Number(r.numUpdatedRows);
    });
  }

  // ---- usage ----

  grantLastUse(grantIds: readonly string[]): Promise<Map<string, number>> {
    return this.#run('read grant use', async () => {
      const out = new Map<string, number>();
      for (let i = 0; i < grantIds.length; i += CHUNK) {
        const rows = await this.#db.selectFrom('monitor_grant_use').select(['grant_id', 'last_used_at']).where('grant_id', 'in', grantIds.slice(i, i + CHUNK)).execute();
        for (const r of rows) out.set(r.grant_id, toNumber(r.last_used_at));
      }
      return out;
    });
  }

  principalUsage(principalId: string, since: number): Promise<PrincipalUse[]> {
    return this.#run('read principal use', async () => {
      const rows = await this.#db
        .selectFrom('monitor_principal_use')
        .selectAll()
        .where('principal_id', '=', principalId)
        .where('last_used_at', '>=', since)
        .orderBy('project')
        .orderBy('artifact')
        .orderBy('action')
        .execute();
      return rows.map((r) => ({ principalId: r.principal_id, action: r.action, project: r.project, artifact: r.artifact, lastUsedAt: toNumber(r.last_used_at), count: toNumber(r.count) }));
    });
  }

  // ---- access reviews ----

  createCampaign(c: ReviewCampaign, items: readonly ReviewItem[]): Promise<void> {
    return this.#run(
      'create campaign',
      () =>
        this.#write(async (trx) => {
          await trx
            .insertInto('review_campaigns')
            .values({ id: c.id, name: c.name, scope_kind: c.scopeKind, scope_value: c.scopeValue, stale_days: c.staleDays, created_by: c.createdBy, created_at: c.createdAt, due_at: c.dueAt, status: c.status, closed_at: c.closedAt })
            .execute();
          for (let i = 0; i < items.length; i += CHUNK) {
            await trx.insertInto('review_items').values(items.slice(i, i + CHUNK).map(itemToRow)).execute();
          }
        }),
      () => new AlreadyExistsError(`review campaign \`${c.id}\` already exists`),
    );
  }

  getCampaign(id: string): Promise<ReviewCampaign | null> {
    return this.#run('get campaign', async () => {
      const row = await this.#db.selectFrom('review_campaigns').selectAll().where('id', '=', id).executeTakeFirst();
      return row === undefined ? null : campaignFromRow(row);
    });
  }

  listCampaigns(options: { status?: ReviewCampaign['status']; limit?: number } = {}): Promise<ReviewCampaign[]> {
    return this.#run('list campaigns', async () => {
      let q = this.#db.selectFrom('review_campaigns').selectAll();
      if (options.status !== undefined) q = q.where('status', '=', options.status);
      const rows = await q.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(pageSize(options.limit)).execute();
      return rows.map(campaignFromRow);
    });
  }

  listItems(campaignId: string): Promise<ReviewItem[]> {
    return this.#run('list review items', async () => {
      const rows = await this.#db.selectFrom('review_items').selectAll().where('campaign_id', '=', campaignId).orderBy('scope_name').orderBy('principal_name').orderBy('id').execute();
      return rows.map(itemFromRow);
    });
  }

  getItem(id: string): Promise<ReviewItem | null> {
    return this.#run('get review item', async () => {
      const row = await this.#db.selectFrom('review_items').selectAll().where('id', '=', id).executeTakeFirst();
      return row === undefined ? null : itemFromRow(row);
    });
  }

  decideItem(id: string, decision: 'certify' | 'revoke', by: string, at: number, note: string | null): Promise<boolean> {
    return this.#run('decide review item', async () => {
      // compare-and-set: two reviewers deciding at once, only the first counts
      const r = await this.#db
        .updateTable('review_items')
        .set({ decision, decided_by: by, decided_at: at, note })
        .where('id', '=', id)
        .where('decision', '=', 'pending')
        .executeTakeFirst();
      return r.numUpdatedRows > 0n;
    });
  }

  closeCampaign(id: string, at: number): Promise<void> {
    return this.#run('close campaign', async () => {
      await this.#db.updateTable('review_campaigns').set({ status: 'closed', closed_at: at }).where('id', '=', id).where('status', '=', 'open').execute();
    });
  }

  // ---- review reminders ----

  lastReminders(campaignIds: readonly string[]): Promise<Map<string, number>> {
    return this.#run('read review reminders', async () => {
      const out = new Map<string, number>();
      for (let i = 0; i < campaignIds.length; i += CHUNK) {
        const chunk = campaignIds.slice(i, i + CHUNK);
        const rows = await this.#db.selectFrom('review_reminders').select(['campaign_id', 'reminded_at']).where('campaign_id', 'in', chunk).execute();
        for (const r of rows) out.set(r.campaign_id, toNumber(r.reminded_at));
      }
      return out;
    });
  }

  claimReminder(campaignId: string, previous: number | null, at: number): Promise<boolean> {
    return this.#run('claim review reminder', async () => {
      if (previous === null) {
        // first round: the primary key lets only one claimant insert
        const r = await this.#db.insertInto('review_reminders').values({ campaign_id: campaignId, reminded_at: at, rounds: 1 }).onConflict((oc) => oc.column('campaign_id').doNothing()).executeTakeFirst();
        return (r.numInsertedOrUpdatedRows ?? 0n) > 0n;
      }
      const r = await this.#db
        .updateTable('review_reminders')
        .set((eb) => ({ reminded_at: at, rounds: eb('rounds', '+', 1) }))
        .where('campaign_id', '=', campaignId)
        .where('reminded_at', '=', previous)
        .executeTakeFirst();
      return r.numUpdatedRows > 0n;
    });
  }

  /** A write transaction: SQLite takes the write lock up front (BEGIN IMMEDIATE), as the core store does. */
  async #write<T>(fn: (trx: Kysely<MonitorTables>) => Promise<T>): Promise<T> {
    if (this.#dialect === 'postgres') return this.#db.transaction().execute(fn);
    return this.#db.connection().execute(async (conn) => {
      await sql`begin immediate`.execute(conn);
      try {
        const result = await fn(conn);
        await sql`commit`.execute(conn);
        return result;
      } catch (err) {
        await sql`rollback`.execute(conn).catch(() => undefined);
        throw err;
      }
    });
  }

  async #run<T>(operation: string, fn: () => Promise<T>, onUnique?: () => CofferError): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (isCofferError(err)) throw err;
      const failure = classifyDbError(err);
      if (failure.kind === 'unique') throw onUnique?.() ?? new AlreadyExistsError();
      throw storageFailure(failure, `monitor store: ${operation}`, err);
    }
  }
}

function parseAlertCursor(s: string): [number, string] {
  const i = s.indexOf(':');
  const t = Number(s.slice(0, i));
  if (i < 0 || !Number.isSafeInteger(t)) throw new StorageError(undefined, { detail: 'alert cursor is not valid' });
  return [t, s.slice(i + 1)];
}

function parseJson<T>(text: string, fallback: T): T {
  try {
    return JSON.parse(text) as T;
  } catch {
    return fallback;
  }
}

const n = (v: number | string | null): number | null => (v === null ? null : toNumber(v));

function alertFromRow(r: Selectable<MonitorAlertsTable>): AlertRecord {
  return {
    id: r.id,
    rule: r.rule,
    severity: r.severity,
    action: r.action === 'lock' ? 'lock' : 'alert',
    principalKey: r.principal_key,
    principalId: r.principal_id,
    principalName: r.principal_name,
    time: toNumber(r.event_time),
    createdAt: toNumber(r.created_at),
    triggerSeq: toNumber(r.trigger_seq),
    summary: r.summary,
    evidence: parseJson<number[]>(r.evidence, []),
    measures: parseJson<Record<string, number | string>>(r.measures, {}),
    status: r.status === 'acked' ? 'acked' : 'open',
    ackedBy: r.acked_by,
    ackedAt: n(r.acked_at),
    note: r.note,
  };
}

function lockFromRow(r: Selectable<MonitorLocksTable>): LockRecord {
  return {
    id: r.id,
    principalId: r.principal_id,
    principalName: r.principal_name,
    alertId: r.alert_id,
    reason: r.reason,
    lockedAt: toNumber(r.locked_at),
    tokensRevoked: Number(r.tokens_revoked),
    downloadsAborted: Number(r.downloads_aborted),
    unlockedAt: n(r.unlocked_at),
    unlockedBy: r.unlocked_by,
    note: r.note,
  };
}

function campaignFromRow(r: Selectable<ReviewCampaignsTable>): ReviewCampaign {
  return {
    id: r.id,
    name: r.name,
    scopeKind: r.scope_kind as ReviewCampaign['scopeKind'],
    scopeValue: r.scope_value,
    staleDays: Number(r.stale_days),
    createdBy: r.created_by,
    createdAt: toNumber(r.created_at),
    dueAt: n(r.due_at),
    status: r.status === 'closed' ? 'closed' : 'open',
    closedAt: n(r.closed_at),
  };
}

function itemToRow(i: ReviewItem): Insertable<ReviewItemsTable> {
  return {
    id: i.id,
    campaign_id: i.campaignId,
    grant_id: i.grantId,
    principal_id: i.principalId,
    principal_name: i.principalName,
    principal_kind: i.principalKind,
    principal_disabled: i.principalDisabled ? 1 : 0,
    role: i.role,
    scope_kind: i.scopeKind,
    scope_id: i.scopeId,
    scope_name: i.scopeName,
    tier: i.tier,
    grant_created_at: i.grantCreatedAt,
    grant_expires_at: i.grantExpiresAt,
    last_used_at: i.lastUsedAt,
    reviewers: JSON.stringify(i.reviewers),
    decision: i.decision,
    decided_by: i.decidedBy,
    decided_at: i.decidedAt,
    note: i.note,
  };
}

function itemFromRow(r: Selectable<ReviewItemsTable>): ReviewItem {
  return {
    id: r.id,
    campaignId: r.campaign_id,
    grantId: r.grant_id,
    principalId: r.principal_id,
    principalName: r.principal_name,
    principalKind: r.principal_kind,
    principalDisabled: Number(r.principal_disabled) !== 0,
    role: r.role,
    scopeKind: r.scope_kind,
    scopeId: r.scope_id,
    scopeName: r.scope_name,
    tier: r.tier,
    grantCreatedAt: toNumber(r.grant_created_at),
    grantExpiresAt: n(r.grant_expires_at),
    lastUsedAt: n(r.last_used_at),
    reviewers: parseJson<string[]>(r.reviewers, []),
    decision: r.decision === 'certify' || r.decision === 'revoke' ? r.decision : 'pending',
    decidedBy: r.decided_by,
    decidedAt: n(r.decided_at),
    note: r.note,
  };
}
