import { sql, type Insertable, type Kysely, type Selectable } from 'kysely';
import type { AccessRequestRecord, Approval, Promotion, RequestStatus, ShareLink } from '../../access/access-types.js';
import { AccessRequestClosedError, AlreadyExistsError, ConflictError, NotFoundError, SelfApprovalError, isCofferError } from '../../domain/errors.js';
import type { CofferError } from '../../domain/errors.js';
import type { Environment, Grant, Role, ScopeKind, Tier } from '../../domain/types.js';
import { ENVIRONMENTS } from '../../domain/types.js';
import type { AccessStore, ApprovalEffect, ApproveResult, RequestFilter } from '../access-store.js';
import type { GrantsTable, Int8, VersionsTable } from './database.js';
import { classifyDbError, storageFailure } from './db-errors.js';
import type { SqlDialectName } from './migrations.js';
import { grantToRow, toNumber } from './rows.js';
import type { SqlMetadataStore } from './sql-metadata-store.js';

interface AccessRequestsTable {
  id: string;
  kind: string;
  requester_id: string;
  role: string | null;
  scope_kind: string;
  scope_id: string;
  project_id: string;
  tier: string | null;
  duration_ms: Int8;
  justification: string;
  ticket: string | null;
  approvals_required: number;
  status: string;
  created_at: Int8;
  deadline: Int8;
  decided_at: Int8 | null;
  decided_by: string | null;
  reason: string | null;
  grant_id: string | null;
  ends_at: Int8 | null;
  target: string | null;
  expiry_noted_at: Int8 | null;
  review_status: string | null;
  reviewed_by: string | null;
  reviewed_at: Int8 | null;
  review_note: string | null;
}

interface AccessApprovalsTable {
  request_id: string;
  approver_id: string;
  /** Migration 009_access_approval_party; null for approvals recorded before it. */
  party_id: string | null;
  created_at: Int8;
  comment: string;
}

interface ShareLinksTable {
  id: string;
  token_hash: string;
  hint: string;
  project_id: string;
  artifact_id: string;
  version_id: string;
  created_by: string;
  created_at: Int8;
  ttl_ms: Int8;
  expires_at: Int8 | null;
  max_downloads: Int8 | null;
  downloads: Int8;
  cidrs: string;
  status: string;
  request_id: string | null;
  revoked_at: Int8 | null;
  revoked_by: string | null;
  last_used_at: Int8 | null;
}

interface PromotionsTable {
  id: string;
  version_id: string;
  artifact_id: string;
  environment: string;
  from_environment: string;
  promoted_by: string;
  promoted_at: Int8;
  request_id: string | null;
  sha256: string;
  checks: string;
}

/** The tables this store reads and writes (its own, plus core `grants`). */
interface AccessTables {
  access_requests: AccessRequestsTable;
  access_approvals: AccessApprovalsTable;
  share_links: ShareLinksTable;
  promotions: PromotionsTable;
  grants: GrantsTable;
  /** Only the gate-exception column (migration 020): an approved exception marks its version. */
  versions: Pick<VersionsTable, 'id' | 'scan_state' | 'scan_exception'>;
}

type Db = Kysely<AccessTables>;
const nn = (v: number | string | bigint | null): number | null => (v === null ? null : toNumber(v));

/**
 * AccessStore on the Kysely instance of the core SQL store (SQLite or PostgreSQL, one
 * code path). Tables come from migration `003_access`. State changes run in write
 * transactions that lock the request row first (BEGIN IMMEDIATE on SQLite, SELECT ...
 * FOR UPDATE on PostgreSQL), so N-of-M counting and "exactly one grant" hold across
 * processes and nodes.
 */
export class SqlAccessStore implements AccessStore {
  readonly #db: Db;
  readonly #dialect: SqlDialectName;

  constructor(core: SqlMetadataStore) {
    // the access tables live in the core database; typed here, not in the core Database
    this.#db = core.kysely as unknown as Db;
    this.#dialect = core.dialect;
  }

  // ---- requests ----

  createRequest(request: AccessRequestRecord, with_: { link?: ShareLink; grant?: Grant } = {}): Promise<void> {
    return this.#run('create access request', async () => {
      await this.#write(async (trx) => {
        await trx.insertInto('access_requests').values(requestToRow(request)).execute();
        if (with_.link !== undefined) await trx.insertInto('share_links').values(linkToRow(with_.link)).execute();
        if (with_.grant !== undefined) await trx.insertInto('grants').values(grantToRow(with_.grant)).execute();
      });
    });
  }

  getRequest(id: string): Promise<AccessRequestRecord | null> {
    return this.#run('get access request', async () => {
      const row = await this.#db.selectFrom('access_requests').selectAll().where('id', '=', id).executeTakeFirst();
      return row === undefined ? null : requestFromRow(row);
    });
  }

  listRequests(filter: RequestFilter): Promise<AccessRequestRecord[]> {
    return this.#run('list access requests', async () => {
      let q = this.#db.selectFrom('access_requests').selectAll();
      if (filter.requesterId !== undefined) q = q.where('requester_id', '=', filter.requesterId);
      if (filter.status !== undefined) q = q.where('status', '=', filter.status);
      if (filter.kind !== undefined) q = q.where('kind', '=', filter.kind);
      if (filter.projectId !== undefined) q = q.where('project_id', '=', filter.projectId);
      if (filter.reviewOpen === true) q = q.where('review_status', '=', 'open');
      const rows = await q.orderBy('id', 'desc').limit(Math.min(Math.max(filter.limit ?? 1000, 1), 1000)).execute();
      return rows.map(requestFromRow);
    });
  }

  listApprovals(requestId: string): Promise<Approval[]> {
    return this.#run('list approvals', async () => {
      const rows = await this.#db.selectFrom('access_approvals').selectAll().where('request_id', '=', requestId).orderBy('created_at').orderBy('approver_id').execute();
      return rows.map((r) => ({ requestId: r.request_id, approverId: r.approver_id, partyId: r.party_id, createdAt: toNumber(r.created_at), comment: r.comment }));
    });
  }

  approve(approval: Approval, now: number, effect: ApprovalEffect): Promise<ApproveResult> {
    return this.#run('approve access request', () =>
      this.#write(async (trx) => {
        const current = await this.#lockRequest(trx, approval.requestId);
        if (current.status !== 'pending') throw closed(current, current.status);
        if (current.deadline <= now) throw closed(current, 'expired');
        // the same approver again (the request row is locked: no race) before the one-per-party index speaks
        const again = await trx.selectFrom('access_approvals').select('approver_id').where('request_id', '=', approval.requestId).where('approver_id', '=', approval.approverId).executeTakeFirst();
        if (again !== undefined) throw new AlreadyExistsError(`you already approved access request \`${approval.requestId}\``);
        try {
          await trx
            .insertInto('access_approvals')
            .values({ request_id: approval.requestId, approver_id: approval.approverId, party_id: approval.partyId ?? null, created_at: approval.createdAt, comment: approval.comment })
            .execute();
        } catch (err) {
          const failure = classifyDbError(err);
          // INVARIANT: one approval per party (unique request_id, party_id): siblings racing each other cannot both count
          if (failure.kind === 'unique' && /party/i.test(`${failure.target} ${failure.message}`)) throw new SelfApprovalError(`access request \`${approval.requestId}\` was already approved by the same party (a person and their service accounts count as one)`);
          if (failure.kind === 'unique') throw new AlreadyExistsError(`you already approved access request \`${approval.requestId}\``);
          throw err;
        }
        const counted = await trx.selectFrom('access_approvals').select((eb) => eb.fn.countAll<number | string>().as('n')).where('request_id', '=', approval.requestId).executeTakeFirstOrThrow();
        const approvals = toNumber(counted.n);
        if (approvals < current.approvalsRequired) return { final: false, approvals, request: current };
        // INVARIANT: the status moves from pending exactly once; the row lock makes this the only winner
        const updated = await trx
          .updateTable('access_requests')
          .set({ status: 'approved', decided_at: now, decided_by: approval.approverId, ends_at: effect.endsAt, grant_id: effect.grant?.id ?? null })
          .where('id', '=', approval.requestId)
          .where('status', '=', 'pending')
          .executeTakeFirst();
        if (Number(updated.numUpdatedRows) !== 1) throw closed(current, current.status);
        if (effect.grant !== undefined) await trx.insertInto('grants').values(grantToRow(effect.grant)).execute();
        if (effect.gateExceptionVersionId !== undefined) {
          // INVARIANT: an exception lifts a verdict that exists: a version still waiting for its scan cannot be excepted
          const excepted = await trx
            .updateTable('versions')
            .set({ scan_exception: current.id })
            .where('id', '=', effect.gateExceptionVersionId)
            .where('scan_state', 'is not', null)
            .executeTakeFirst();
          if (Number(excepted.numUpdatedRows) !== 1) throw new AccessRequestClosedError(`the version of access request \`${current.id}\` has no gate verdict to except`);
        }
        if (effect.shareLinkId !== undefined) {
          const activated = await trx
            .updateTable('share_links')
            .set({ status: 'active', expires_at: effect.endsAt })
            .where('id', '=', effect.shareLinkId)
            .where('status', '=', 'pending')
            .executeTakeFirst();
          // a link revoked while its request waited stays revoked: nothing to activate
          if (Number(activated.numUpdatedRows) !== 1) throw new AccessRequestClosedError(`share link of access request \`${current.id}\` was revoked`);
        }
        const request: AccessRequestRecord = { ...current, status: 'approved', decidedAt: now, decidedBy: approval.approverId, endsAt: effect.endsAt, grantId: effect.grant?.id ?? null };
        return { final: true, approvals, request };
      }),
    );
  }

  close(id: string, from: RequestStatus, to: RequestStatus, by: string | null, reason: string | null, now: number): Promise<AccessRequestRecord> {
    return this.#run('close access request', () =>
      this.#write(async (trx) => {
        const current = await this.#lockRequest(trx, id);
        if (current.status !== from) throw closed(current, current.status);
        const updated = await trx
          .updateTable('access_requests')
          .set({ status: to, decided_at: now, decided_by: by, reason })
          .where('id', '=', id)
          .where('status', '=', from)
          .executeTakeFirst();
        if (Number(updated.numUpdatedRows) !== 1) throw closed(current, current.status);
        if (to === 'revoked' && current.grantId !== null) await trx.deleteFrom('grants').where('id', '=', current.grantId).execute();
        // a revoked gate exception puts the block back at once
        if (to === 'revoked' && current.kind === 'gate-exception') await trx.updateTable('versions').set({ scan_exception: null }).where('scan_exception', '=', current.id).execute();
        if (current.kind === 'share' && current.target !== null && (to === 'revoked' || to === 'denied' || to === 'cancelled')) {
          await trx
            .updateTable('share_links')
            .set({ status: to === 'revoked' ? 'revoked' : 'denied', revoked_at: now, revoked_by: by })
            .where('id', '=', current.target)
            .where('status', 'in', ['pending', 'active'])
            .execute();
        }
        return { ...current, status: to, decidedAt: now, decidedBy: by, reason };
      }),
    );
  }

  usePromoteApproval(requestId: string, promotion: Promotion, now: number): Promise<void> {
    return this.#run('use promotion approval', () =>
      this.#write(async (trx) => {
        const current = await this.#lockRequest(trx, requestId);
        if (current.kind !== 'promote' || current.status !== 'approved') throw closed(current, current.status);
        if (current.endsAt !== null && current.endsAt <= now) throw closed(current, 'expired');
        await trx.updateTable('access_requests').set({ status: 'used', decided_at: now }).where('id', '=', requestId).where('status', '=', 'approved').execute();
        await this.#insertPromotion(trx, promotion);
      }),
    );
  }

  listEndedUnnoted(now: number, limit: number): Promise<AccessRequestRecord[]> {
    return this.#run('list ended access', async () => {
      const rows = await this.#db
        .selectFrom('access_requests')
        .selectAll()
        .where('status', '=', 'approved')
        .where('kind', 'in', ['grant', 'break-glass', 'share'])
        .where('ends_at', '<=', now)
        .where('expiry_noted_at', 'is', null)
        .orderBy('ends_at')
        .limit(Math.min(Math.max(limit, 1), 1000))
        .execute();
      return rows.map(requestFromRow);
    });
  }

  noteExpiry(id: string, now: number): Promise<boolean> {
    return this.#run('note access expiry', async () => {
      const r = await this.#db.updateTable('access_requests').set({ expiry_noted_at: now }).where('id', '=', id).where('expiry_noted_at', 'is', null).executeTakeFirst();
      return Number(r.numUpdatedRows) === 1;
    });
  }

  signOffReview(id: string, by: string, note: string, now: number): Promise<boolean> {
    return this.#run('sign off review', async () => {
      const r = await this.#db
        .updateTable('access_requests')
        .set({ review_status: 'signed-off', reviewed_by: by, reviewed_at: now, review_note: note })
        .where('id', '=', id)
        .where('review_status', '=', 'open')
        .executeTakeFirst();
      return Number(r.numUpdatedRows) === 1;
    });
  }

  // ---- share links ----

  createShareLink(link: ShareLink): Promise<void> {
    return this.#run('create share link', async () => {
      await this.#db.insertInto('share_links').values(linkToRow(link)).execute();
    });
  }

  getShareLink(id: string): Promise<ShareLink | null> {
    return this.#run('get share link', async () => {
      const row = await this.#db.selectFrom('share_links').selectAll().where('id', '=', id).executeTakeFirst();
      return row === undefined ? null : linkFromRow(row);
    });
  }

  getShareLinkByHash(tokenHash: string): Promise<ShareLink | null> {
    return this.#run('get share link', async () => {
      const row = await this.#db.selectFrom('share_links').selectAll().where('token_hash', '=', tokenHash).executeTakeFirst();
      return row === undefined ? null : linkFromRow(row);
    });
  }

  listShareLinks(filter: { createdBy?: string; versionId?: string; projectId?: string }): Promise<ShareLink[]> {
    return this.#run('list share links', async () => {
      let q = this.#db.selectFrom('share_links').selectAll();
      if (filter.createdBy !== undefined) q = q.where('created_by', '=', filter.createdBy);
      if (filter.versionId !== undefined) q = q.where('version_id', '=', filter.versionId);
      if (filter.projectId !== undefined) q = q.where('project_id', '=', filter.projectId);
      const rows = await q.orderBy('id', 'desc').limit(1000).execute();
      return rows.map(linkFromRow);
    });
  }

  revokeShareLink(id: string, by: string, now: number): Promise<boolean> {
    return this.#run('revoke share link', async () => {
      const r = await this.#db
        .updateTable('share_links')
        .set({ status: 'revoked', revoked_at: now, revoked_by: by })
        .where('id', '=', id)
        .where('status', 'in', ['pending', 'active'])
        .executeTakeFirst();
      return Number(r.numUpdatedRows) === 1;
    });
  }

  takeShareDownload(id: string, now: number): Promise<boolean> {
    return this.#run('take share download', async () => {
      // INVARIANT: one conditional UPDATE: two downloads racing for the last use cannot both pass
      const r = await this.#db
        .updateTable('share_links')
        .set({ downloads: sql<number>`downloads + 1`, last_used_at: now })
        .where('id', '=', id)
        .where('status', '=', 'active')
        .where('expires_at', '>', now)
        .where((eb) => eb.or([eb('max_downloads', 'is', null), eb('downloads', '<', eb.ref('max_downloads'))]))
        .executeTakeFirst();
      return Number(r.numUpdatedRows) === 1;
    });
  }

  // ---- promotions ----

  createPromotion(promotion: Promotion): Promise<void> {
    return this.#run('create promotion', () => this.#write((trx) => this.#insertPromotion(trx, promotion)));
  }

  listPromotions(artifactId: string): Promise<Promotion[]> {
    return this.#run('list promotions', async () => {
      const rows = await this.#db.selectFrom('promotions').selectAll().where('artifact_id', '=', artifactId).orderBy('promoted_at').orderBy('id').execute();
      return rows.map(promotionFromRow);
    });
  }

  promotedEnvironment(versionId: string): Promise<Environment | null> {
    return this.#run('get promoted environment', async () => {
      const rows = await this.#db.selectFrom('promotions').select('environment').where('version_id', '=', versionId).execute();
      let best: Environment | null = null;
      for (const r of rows) {
        const env = r.environment as Environment;
        if (best === null || ENVIRONMENTS.indexOf(env) > ENVIRONMENTS.indexOf(best)) best = env;
      }
      return best;
    });
  }

  // ---- internals ----

  async #insertPromotion(trx: Db, promotion: Promotion): Promise<void> {
    try {
      await trx.insertInto('promotions').values(promotionToRow(promotion)).execute();
    } catch (err) {
      if (classifyDbError(err).kind === 'unique') throw new ConflictError(`version is already in \`${promotion.environment}\``);
      throw err;
    }
  }

  /** Reads a request inside a write transaction, locking its row on PostgreSQL. */
  async #lockRequest(trx: Db, id: string): Promise<AccessRequestRecord> {
    const base = trx.selectFrom('access_requests').selectAll().where('id', '=', id);
    // SQLite: BEGIN IMMEDIATE already holds the database write lock
    const row = this.#dialect === 'postgres' ? await base.forUpdate().executeTakeFirst() : await base.executeTakeFirst();
    if (row === undefined) throw new NotFoundError(`access request \`${id.slice(0, 40)}\` not found`);
    return requestFromRow(row);
  }

  /** A write transaction: BEGIN IMMEDIATE on SQLite (write lock before the first read), READ COMMITTED on PostgreSQL. */
  async #write<T>(fn: (trx: Db) => Promise<T>): Promise<T> {
    if (this.#dialect === 'postgres') return this.#db.transaction().execute(fn);
    return this.#db.connection().execute(async (conn) => {
      await sql`begin immediate`.execute(conn);
      let result: T;
      try {
        result = await fn(conn);
        await sql`commit`.execute(conn);
      } catch (err) {
        await sql`rollback`.execute(conn).catch(() => undefined);
        throw err;
      }
      return result;
    });
  }

  async #run<T>(operation: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (isCofferError(err)) throw err;
      const failure = classifyDbError(err);
      if (failure.kind === 'unique') throw new AlreadyExistsError(`${operation}: already exists`, { detail: failure.message, cause: err });
      if (failure.kind === 'foreign-key') throw new NotFoundError(`${operation}: a referenced principal does not exist`, { detail: failure.message, cause: err });
      const e: CofferError = storageFailure(failure, operation, err);
      throw e;
    }
  }
}

function closed(request: AccessRequestRecord, state: string): AccessRequestClosedError {
  return new AccessRequestClosedError(`access request \`${request.id}\` is ${state === 'expired' ? 'past its deadline' : `already ${state}`}`);
}

function requestToRow(r: AccessRequestRecord): Insertable<AccessRequestsTable> {
  return {
    id: r.id,
    kind: r.kind,
    requester_id: r.requesterId,
    role: r.role,
    scope_kind: r.scopeKind,
    scope_id: r.scopeId,
    project_id: r.projectId,
    tier: r.tier,
    duration_ms: r.durationMs,
    justification: r.justification,
    ticket: r.ticket,
    approvals_required: r.approvalsRequired,
    status: r.status,
    created_at: r.createdAt,
    deadline: r.deadline,
    decided_at: r.decidedAt,
    decided_by: r.decidedBy,
    reason: r.reason,
    grant_id: r.grantId,
    ends_at: r.endsAt,
    target: r.target,
    expiry_noted_at: r.expiryNotedAt,
    review_status: r.review?.status ?? null,
    reviewed_by: r.review?.by ?? null,
    reviewed_at: r.review?.at ?? null,
    review_note: r.review?.note ?? null,
  };
}

function requestFromRow(r: Selectable<AccessRequestsTable>): AccessRequestRecord {
  return {
    id: r.id,
    kind: r.kind as AccessRequestRecord['kind'],
    requesterId: r.requester_id,
    role: r.role as Role | null,
    scopeKind: r.scope_kind as ScopeKind,
    scopeId: r.scope_id,
    projectId: r.project_id,
    tier: r.tier as Tier | null,
    durationMs: toNumber(r.duration_ms),
    justification: r.justification,
    ticket: r.ticket,
    approvalsRequired: Number(r.approvals_required),
    status: r.status as RequestStatus,
    createdAt: toNumber(r.created_at),
    deadline: toNumber(r.deadline),
    decidedAt: nn(r.decided_at),
    decidedBy: r.decided_by,
    reason: r.reason,
    grantId: r.grant_id,
    endsAt: nn(r.ends_at),
    target: r.target,
    expiryNotedAt: nn(r.expiry_noted_at),
    review: r.review_status === null ? null : { status: r.review_status as 'open' | 'signed-off', by: r.reviewed_by, at: nn(r.reviewed_at), note: r.review_note },
  };
}

function linkToRow(l: ShareLink): Insertable<ShareLinksTable> {
  return {
    id: l.id,
    token_hash: l.tokenHash,
    hint: l.hint,
    project_id: l.projectId,
    artifact_id: l.artifactId,
    version_id: l.versionId,
    created_by: l.createdBy,
    created_at: l.createdAt,
    ttl_ms: l.ttlMs,
    expires_at: l.expiresAt,
    max_downloads: l.maxDownloads,
    downloads: l.downloads,
    cidrs: JSON.stringify(l.cidrs),
    status: l.status,
    request_id: l.requestId,
    revoked_at: l.revokedAt,
    revoked_by: l.revokedBy,
    last_used_at: l.lastUsedAt,
  };
}

function linkFromRow(r: Selectable<ShareLinksTable>): ShareLink {
  return {
    id: r.id,
    tokenHash: r.token_hash,
    hint: r.hint,
    projectId: r.project_id,
    artifactId: r.artifact_id,
    versionId: r.version_id,
    createdBy: r.created_by,
    createdAt: toNumber(r.created_at),
    ttlMs: toNumber(r.ttl_ms),
    expiresAt: nn(r.expires_at),
    maxDownloads: nn(r.max_downloads),
    downloads: toNumber(r.downloads),
    cidrs: JSON.parse(r.cidrs) as string[],
    status: r.status as ShareLink['status'],
    requestId: r.request_id,
    revokedAt: nn(r.revoked_at),
    revokedBy: r.revoked_by,
    lastUsedAt: nn(r.last_used_at),
  };
}

function promotionToRow(p: Promotion): Insertable<PromotionsTable> {
  return {
    id: p.id,
    version_id: p.versionId,
    artifact_id: p.artifactId,
    environment: p.environment,
    from_environment: p.fromEnvironment,
    promoted_by: p.promotedBy,
    promoted_at: p.promotedAt,
    request_id: p.requestId,
    sha256: p.sha256,
    checks: JSON.stringify(p.checks),
  };
}

function promotionFromRow(r: Selectable<PromotionsTable>): Promotion {
  return {
    id: r.id,
    versionId: r.version_id,
    artifactId: r.artifact_id,
    environment: r.environment as Environment,
    fromEnvironment: r.from_environment as Environment,
    promotedBy: r.promoted_by,
    promotedAt: toNumber(r.promoted_at),
    requestId: r.request_id,
    sha256: r.sha256,
    checks: JSON.parse(r.checks) as string[],
  };
}
