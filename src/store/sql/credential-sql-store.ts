import { sql } from 'kysely';
import type { Kysely, Selectable } from 'kysely';
import { AlreadyExistsError, NotFoundError, TokenRevokedError, isCofferError } from '../../domain/errors.js';
import type { CofferError } from '../../domain/errors.js';
import { MAX_LINEAGE_DEPTH } from '../credential-store.js';
import type { CredentialKind, CredentialListing, CredentialMethods, CredentialRecord, CredentialStore, RevokeCounts, RevokeSelector } from '../credential-store.js';
import type { Database, Int8 } from './database.js';
import { classifyDbError, storageFailure } from './db-errors.js';
import { toNumber } from './rows.js';
import type { SqlDialectName } from './migrations.js';

interface CredentialsRow {
  id: string;
  kind: string;
  principal_id: string;
  parent_id: string | null;
  origin: string;
  methods: string;
  created_at: Int8;
  expires_at: Int8 | null;
  revoked_at: Int8 | null;
  revoke_reason: string | null;
}

interface Tables {
  credentials: CredentialsRow;
  // each kind's own table, kept in step when a credential is revoked
  tokens: { id: string; revoked_at: Int8 | null };
  identity_sessions: { id: string; revoked_at: Int8 | null; revoke_reason: string | null };
  s3_credentials: { access_key_id: string; revoked_at: Int8 | null };
  // one-time tickets (MFA, enrollment, security-key ceremonies): voided with the principal's credentials
  identity_tickets: { principal_id: string | null; consumed_at: Int8 | null };
}

type Db = Kysely<Tables>;
const KINDS: CredentialKind[] = ['session', 'api-token', 's3-key'];
/** Ids per statement when many credentials are revoked at once (far below both dialects' parameter limits). */
const CHUNK = 500;

function methodsOf(text: string): CredentialMethods {
  const parsed = JSON.parse(text) as unknown;
  const out: CredentialMethods = {};
  if (parsed !== null && typeof parsed === 'object') {
    for (const [k, v] of Object.entries(parsed as Record<string, unknown>)) if (typeof v === 'number' && Number.isFinite(v)) out[k] = v;
  }
  return out;
}

type Row = Selectable<CredentialsRow>;

function fromRow(r: Row): CredentialRecord {
  const nn = (v: number | string | null) => (v === null ? null : toNumber(v));
  return {
    id: r.id,
    kind: r.kind as CredentialKind,
    principalId: r.principal_id,
    parentId: r.parent_id,
    origin: r.origin,
    methods: methodsOf(r.methods),
    createdAt: toNumber(r.created_at),
    expiresAt: nn(r.expires_at),
    revokedAt: nn(r.revoked_at),
    revokeReason: r.revoke_reason,
  };
}

/**
 * CredentialStore on the core SQL store's Kysely instance (SQLite or PostgreSQL, one
 * code path; table from migration `009_credential_lineage`). Chains and descendants are
 * read with recursive common table expressions, bounded in depth.
 */
export class SqlCredentialStore implements CredentialStore {
  readonly #db: Db;

  readonly #dialect: SqlDialectName;

  /** `db` is the core store's Kysely instance (`SqlMetadataStore.kysely`); the core store owns and closes it. */
  constructor(db: Kysely<Database>, dialect: SqlDialectName) {
    this.#db = db as unknown as Db;
    this.#dialect = dialect;
  }

  create(c: CredentialRecord): Promise<void> {
    return run(
      'create credential',
      () =>
        this.#db.transaction().execute(async (trx) => {
          if (c.parentId !== null) {
            // INVARIANT: the parent is read under its row lock (PostgreSQL; SQLite runs one transaction at a time), so a
            // revocation of the parent either came first (refused here) or takes this row with it (its cascade reads
            // the children after locking the parent)
            let q = trx.selectFrom('credentials').select(['revoked_at']).where('id', '=', c.parentId);
            if (this.#dialect === 'postgres') q = q.forUpdate();
            const parent = await q.executeTakeFirst();
            if (parent === undefined || parent.revoked_at !== null) throw new TokenRevokedError(undefined, { detail: 'parent credential revoked or missing' });
          }
          await trx
            .insertInto('credentials')
            .values({
              id: c.id,
              kind: c.kind,
              principal_id: c.principalId,
              parent_id: c.parentId,
              origin: c.origin,
              methods: JSON.stringify(c.methods),
              created_at: c.createdAt,
              expires_at: c.expiresAt,
              revoked_at: c.revokedAt,
              revoke_reason: c.revokeReason,
            })
            .execute();
        }),
      () => new AlreadyExistsError('credential already exists'),
    );
  }

  get(id: string): Promise<CredentialRecord | null> {
    return run('get credential', async () => {
      const r = await this.#db.selectFrom('credentials').selectAll().where('id', '=', id).executeTakeFirst();
      return r === undefined ? null : fromRow(r);
    });
  }

  chain(id: string): Promise<CredentialRecord[]> {
    return run('credential chain', async () => {
      const { rows } = await sql<Row & { depth: number }>`
        with recursive chain (id, kind, principal_id, parent_id, origin, methods, created_at, expires_at, revoked_at, revoke_reason, depth) as (
          select id, kind, principal_id, parent_id, origin, methods, created_at, expires_at, revoked_at, revoke_reason, 0 from credentials where id = ${id}
          union all
          select c.id, c.kind, c.principal_id, c.parent_id, c.origin, c.methods, c.created_at, c.expires_at, c.revoked_at, c.revoke_reason, chain.depth + 1
          from credentials c join chain on c.id = chain.parent_id
          where chain.depth < ${MAX_LINEAGE_DEPTH - 1}
        )
        select * from chain order by depth`.execute(this.#db);
      return rows.map(fromRow);
    });
  }

  list(principalId: string): Promise<CredentialListing[]> {
    return run('list credentials', async () => {
      const rows = await this.#db
        .selectFrom('credentials as c')
        .leftJoin('credentials as p', 'p.id', 'c.parent_id')
        .selectAll('c')
        .select(['p.kind as p_kind', 'p.principal_id as p_principal_id'])
        .where('c.principal_id', '=', principalId)
        .orderBy('c.created_at', 'desc')
        .orderBy('c.id', 'desc')
        .limit(1000)
        .execute();
      return rows.map((r) => ({
        ...fromRow(r),
        parent: r.parent_id === null || r.p_kind === null || r.p_principal_id === null ? null : { id: r.parent_id, kind: r.p_kind as CredentialKind, principalId: r.p_principal_id },
      }));
    });
  }

  revoke(selector: RevokeSelector, at: number, reason: string): Promise<RevokeCounts> {
    return run('revoke credentials', () =>
      this.#db.transaction().execute(async (trx) => {
        const counts = emptyCounts();
        const except = new Set(selector.except ?? []);
        const ids = selector.ids ?? [];
        if (ids.length === 0 && selector.principalId === undefined && selector.origin === undefined) return counts;
        // the selected roots (revoked ones too: their descendants may have been minted since)
        let q = trx.selectFrom('credentials').select(['id', 'kind', 'revoked_at']);
        if (selector.ids !== undefined) q = q.where('id', 'in', ids.length > 0 ? ids : ['']);
        if (selector.principalId !== undefined) q = q.where('principal_id', '=', selector.principalId);
        if (selector.origin !== undefined) q = q.where('origin', '=', selector.origin);
        const seen = new Set<string>();
        const take = (rows: Array<{ id: string; kind: string; revoked_at: unknown }>): string[] => {
          const out: string[] = [];
          for (const r of rows) {
            if (except.has(r.id) || seen.has(r.id)) continue;
            seen.add(r.id);
            out.push(r.id);
            if (r.revoked_at === null && r.kind in counts) counts[r.kind as CredentialKind]++;
          }
          return out;
        };
        let frontier = take(await q.execute());
        if (selector.principalId !== undefined) {
          // INVARIANT: no ticket of the principal (an MFA step begun with the old password, an enrollment
          // ticket, a security-key ceremony) can be completed after its credentials ended
          await trx.updateTable('identity_tickets').set({ consumed_at: at }).where('principal_id', '=', selector.principalId).where('consumed_at', 'is', null).execute();
        }
        // level by level: revoke (which locks the rows), then read their children, so a child minted
        // meanwhile is either refused by its locked parent or read here (see create)
        for (let depth = 0; depth < MAX_LINEAGE_DEPTH && frontier.length > 0; depth++) {
          const next: string[] = [];
          for (let i = 0; i < frontier.length; i += CHUNK) {
            const part = frontier.slice(i, i + CHUNK);
            await trx.updateTable('credentials').set({ revoked_at: at, revoke_reason: reason }).where('id', 'in', part).where('revoked_at', 'is', null).execute();
            // INVARIANT: each kind's own row says revoked too, so no reader of those tables sees a live credential
            await trx.updateTable('tokens').set({ revoked_at: at }).where('id', 'in', part).where('revoked_at', 'is', null).execute();
            await trx.updateTable('identity_sessions').set({ revoked_at: at, revoke_reason: reason }).where('id', 'in', part).where('revoked_at', 'is', null).execute();
            await trx.updateTable('s3_credentials').set({ revoked_at: at }).where('access_key_id', 'in', part).where('revoked_at', 'is', null).execute();
            next.push(...take(await trx.selectFrom('credentials').select(['id', 'kind', 'revoked_at']).where('parent_id', 'in', part).execute()));
          }
          frontier = next;
        }
        return counts;
      }),
    );
  }

  touchMethod(id: string, method: string, at: number): Promise<void> {
    return run('touch credential method', () =>
      this.#db.transaction().execute(async (trx) => {
        const r = await trx.selectFrom('credentials').select(['methods', 'revoked_at']).where('id', '=', id).executeTakeFirst();
        if (r === undefined || r.revoked_at !== null) throw new NotFoundError('credential not found');
        const methods = methodsOf(r.methods);
        methods[method] = at;
        await trx.updateTable('credentials').set({ methods: JSON.stringify(methods) }).where('id', '=', id).execute();
      }),
    );
  }
}

function emptyCounts(): RevokeCounts {
  return Object.fromEntries(KINDS.map((k) => [k, 0])) as RevokeCounts;
}

async function run<T>(operation: string, fn: () => Promise<T>, unique?: () => CofferError): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (isCofferError(err)) throw err;
    const failure = classifyDbError(err);
    if (failure.kind === 'unique') throw unique?.() ?? new AlreadyExistsError();
    throw storageFailure(failure, `credential store: ${operation}`, err);
  }
}
