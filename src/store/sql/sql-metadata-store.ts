import type { ChangeCounter, StoreChanges } from './change-counter.js';
import { Migrator, sql, type Kysely } from 'kysely';
import {
  AlreadyExistsError,
  ConflictError,
  NotFoundError,
  StorageError,
  ValidationError,
  isCofferError,
  type CofferError,
} from '../../domain/errors.js';
import type { ApiToken, Artifact, ArtifactVersion, Grant, Principal, Project, VersionScan } from '../../domain/types.js';
import type {
  ListOptions,
  MetadataStore,
  Page,
  StoredAuditCheckpoint,
  StoredAuditRecord,
} from '../metadata-store.js';
import { decodeCursor, encodeCursor, pageSize } from './cursor.js';
import type { Database } from './database.js';
import { classifyDbError, storageFailure, type DbFailure } from './db-errors.js';
import { MIGRATION_LOCK_TABLE, MIGRATION_TABLE, migrations } from './migrations.js';
import {
  artifactFromRow,
  artifactToRow,
  auditFromRow,
  auditToRow,
  checkpointFromRow,
  fromBuffer,
  grantFromRow,
  grantToRow,
  principalFromRow,
  principalToRow,
  scanFlags,
  projectFromRow,
  projectToRow,
  toBuffer,
  toNumber,
  tokenFromRow,
  tokenToRow,
  versionFromRow,
  versionToRow,
} from './rows.js';
import type { SqlFlavor } from './sql-flavor.js';

/** touchToken writes a token's last use at most this often. */
const TOUCH_INTERVAL_MS = 60_000;
/** Bound of the touchToken memory. */
const TOUCH_CACHE_LIMIT = 10_000;
/** Audit rows read per query by iterateAudit. */
const AUDIT_PAGE = 1000;
/** Audit rows per INSERT statement (4 parameters each, well under SQLite's limit). */
const AUDIT_INSERT_CHUNK = 500;

/** Rules that turn a constraint violation into the caller-facing error of one operation. */
interface ViolationRules {
  unique?: (f: DbFailure) => CofferError;
  foreignKey?: (f: DbFailure) => CofferError;
}

/**
 * One durable audit append without the query builder: in one write transaction, reads
 * the tail, hands it to `build` and inserts what it returns. Synchronous (SQLite).
 */
export type DirectAuditAppend = (build: (tail: StoredAuditRecord | null) => StoredAuditRecord[]) => void;

/** Options of {@link SqlMetadataStore}. */
export interface SqlStoreOptions {
  /** The ChangeCounter plugged into the Kysely instance, if this store can tell when credentials or grants change (see changeVersion). */
  changes?: ChangeCounter | null;
  /** A faster appendAudit on the same connection (SQLite: better-sqlite3 statements, no query builder). */
  directAudit?: DirectAuditAppend | null;
}

/**
 * MetadataStore over Kysely: one implementation for SQLite and PostgreSQL, with the
 * dialect differences in a {@link SqlFlavor}. Build it with openSqliteStore or
 * openPostgresStore rather than directly.
 */
export class SqlMetadataStore implements MetadataStore, StoreChanges {
  readonly #db: Kysely<Database>;
  readonly #flavor: SqlFlavor;
  #closed = false;
  /** Last recorded use per token id (see touchToken). */
  readonly #touched = new Map<string, number>();
  readonly #changes: ChangeCounter | null;
  readonly #directAudit: DirectAuditAppend | null;

  /**
   * Takes ownership of `db`: close() destroys it. See {@link SqlStoreOptions}.
   */
  constructor(db: Kysely<Database>, flavor: SqlFlavor, options: SqlStoreOptions = {}) {
    this.#db = db;
    this.#flavor = flavor;
    this.#changes = options.changes ?? null;
    this.#directAudit = options.directAudit ?? null;
  }

  /** See {@link StoreChanges}: null for a store that cannot tell (PostgreSQL, until cross-node invalidation). */
  changeVersion(): number | null {
    return this.#changes === null || this.#closed ? null : this.#changes.version();
  }

  /** The dialect underneath (for logs and health output). */
  get dialect(): SqlFlavor['dialect'] {
    return this.#flavor.dialect;
  }

  /** The Kysely instance, for adapter tests and tooling only; services use the port. */
  get kysely(): Kysely<Database> {
    return this.#db;
  }

  async migrate(): Promise<void> {
    const all = migrations(this.#flavor.dialect);
    const migrator = new Migrator({
      db: this.#db,
      provider: { getMigrations: () => Promise.resolve(all) },
      migrationTableName: MIGRATION_TABLE,
      migrationLockTableName: MIGRATION_LOCK_TABLE,
    });
    let outcome;
    try {
      outcome = await migrator.migrateToLatest();
    } catch (err) {
      throw this.#translate(err, 'migrate');
    }
    if (outcome.error !== undefined) {
      const failed = outcome.results?.find((r) => r.status === 'Error')?.migrationName ?? 'unknown';
      throw this.#translate(outcome.error, `migrate: ${failed}`);
    }
  }

  ping(): Promise<void> {
    return this.#run('ping', async () => {
      await sql`select 1`.execute(this.#db);
    });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#run('close', () => this.#db.destroy());
  }

  // ---- settings ----

  getSetting(key: string): Promise<Uint8Array | null> {
    return this.#run('get setting', async () => {
      const row = await this.#db.selectFrom('settings').select('value').where('key', '=', key).executeTakeFirst();
      return row === undefined ? null : fromBuffer(row.value);
    });
  }

  putSetting(key: string, value: Uint8Array, expected?: Uint8Array | null): Promise<boolean> {
    return this.#run('put setting', async () => {
      const now = Date.now();
      const bytes = toBuffer(value);
      if (expected === undefined) {
        await this.#db
          .insertInto('settings')
          .values({ key, value: bytes, updated_at: now })
          .onConflict((oc) => oc.column('key').doUpdateSet({ value: bytes, updated_at: now }))
          .execute();
        return true;
      }
      if (expected === null) {
        const r = await this.#db
          .insertInto('settings')
          .values({ key, value: bytes, updated_at: now })
          .onConflict((oc) => oc.column('key').doNothing())
          .executeTakeFirst();
        return (r.numInsertedOrUpdatedRows ?? 0n) > 0n;
      }
      // compare-and-set in one statement: the database compares the stored bytes
      const r = await this.#db
        .updateTable('settings')
        .set({ value: bytes, updated_at: now })
        .where('key', '=', key)
        .where('value', '=', toBuffer(expected))
        .executeTakeFirst();
      return r.numUpdatedRows > 0n;
    });
  }

  deleteSetting(key: string): Promise<void> {
    return this.#run('delete setting', async () => {
      await this.#db.deleteFrom('settings').where('key', '=', key).execute();
    });
  }

  // ---- principals ----

  createPrincipal(p: Principal): Promise<void> {
    return this.#run(
      'create principal',
      async () => {
        await this.#db.insertInto('principals').values(principalToRow(p)).execute();
      },
      { unique: () => new AlreadyExistsError(`principal \`${p.name}\` already exists`) },
    );
  }

  getPrincipal(id: string): Promise<Principal | null> {
    return this.#run('get principal', async () => {
      const row = await this.#db.selectFrom('principals').selectAll().where('id', '=', id).executeTakeFirst();
      return row === undefined ? null : principalFromRow(row);
    });
  }

  getPrincipalByName(name: string): Promise<Principal | null> {
    return this.#run('get principal', async () => {
      const row = await this.#db.selectFrom('principals').selectAll().where('name', '=', name).executeTakeFirst();
      return row === undefined ? null : principalFromRow(row);
    });
  }

  listPrincipals(options: ListOptions & { kind?: Principal['kind'] } = {}): Promise<Page<Principal>> {
    return this.#run('list principals', async () => {
      const limit = pageSize(options.limit);
      const after = options.cursor ? decodeCursor(options.cursor, 'string') : null;
      let q = this.#db.selectFrom('principals').selectAll();
      if (options.kind !== undefined) q = q.where('kind', '=', options.kind);
      if (after !== null) q = q.where('name', '>', after);
      const rows = await q.orderBy('name').limit(limit + 1).execute();
      return page(rows.map(principalFromRow), limit, (p) => p.name);
    });
  }

  setPrincipalDisabled(id: string, disabled: boolean): Promise<void> {
    return this.#run('set principal disabled', async () => {
      const r = await this.#db.updateTable('principals').set({ disabled: disabled ? 1 : 0 }).where('id', '=', id).executeTakeFirst();
      if (r.numUpdatedRows === 0n) throw new NotFoundError('principal not found');
    });
  }

  countPrincipals(): Promise<number> {
    return this.#run('count principals', async () => {
      const row = await this.#db
        .selectFrom('principals')
        .select((eb) => eb.fn.countAll().as('n'))
        .executeTakeFirstOrThrow();
      return toNumber(row.n);
    });
  }

  addMember(groupId: string, memberId: string): Promise<void> {
    return this.#run(
      'add member',
      async () => {
        await this.#db
          .insertInto('memberships')
          .values({ group_id: groupId, member_id: memberId })
          .onConflict((oc) => oc.columns(['group_id', 'member_id']).doNothing())
          .execute();
      },
      { foreignKey: () => new NotFoundError('principal not found') },
    );
  }

  removeMember(groupId: string, memberId: string): Promise<void> {
    return this.#run('remove member', async () => {
      await this.#db.deleteFrom('memberships').where('group_id', '=', groupId).where('member_id', '=', memberId).execute();
    });
  }

  listGroupsOf(memberId: string): Promise<string[]> {
    return this.#run('list groups', async () => {
      const rows = await this.#db.selectFrom('memberships').select('group_id').where('member_id', '=', memberId).orderBy('group_id').execute();
      return rows.map((r) => r.group_id);
    });
  }

  listMembers(groupId: string): Promise<string[]> {
    return this.#run('list members', async () => {
      const rows = await this.#db.selectFrom('memberships').select('member_id').where('group_id', '=', groupId).orderBy('member_id').execute();
      return rows.map((r) => r.member_id);
    });
  }

  // ---- tokens ----

  createToken(t: ApiToken): Promise<void> {
    return this.#run(
      'create token',
      async () => {
        await this.#db.insertInto('tokens').values(tokenToRow(t)).execute();
      },
      {
        unique: () => new AlreadyExistsError('token already exists'),
        foreignKey: () => new NotFoundError('principal not found'),
      },
    );
  }

  getTokenByHash(hash: string): Promise<ApiToken | null> {
    return this.#run('get token', async () => {
      const row = await this.#db.selectFrom('tokens').selectAll().where('hash', '=', hash).executeTakeFirst();
      return row === undefined ? null : tokenFromRow(row);
    });
  }

  listTokens(principalId: string): Promise<ApiToken[]> {
    return this.#run('list tokens', async () => {
      const rows = await this.#db
        .selectFrom('tokens')
        .selectAll()
        .where('principal_id', '=', principalId)
        .orderBy('created_at')
        .orderBy('id')
        .execute();
      return rows.map(tokenFromRow);
    });
  }

  /** Marks the token revoked at `at`; a token revoked earlier keeps its first revocation time. */
  revokeToken(id: string, at: number): Promise<void> {
    return this.#run('revoke token', async () => {
      const r = await this.#db.updateTable('tokens').set({ revoked_at: at }).where('id', '=', id).where('revoked_at', 'is', null).executeTakeFirst();
      if (r.numUpdatedRows > 0n) return;
      const row = await this.#db.selectFrom('tokens').select('id').where('id', '=', id).executeTakeFirst();
      if (row === undefined) throw new NotFoundError('token not found');
    });
  }

  /** Records a use of the token; a token that no longer exists is ignored. */
  touchToken(id: string, at: number): Promise<void> {
    // lastUsedAt is advisory: write at most once a minute per token, so a busy token
    // does not cost a durable commit (an fsync) on every request
    const last = this.#touched.get(id);
    if (last !== undefined && at - last < TOUCH_INTERVAL_MS && at >= last) return Promise.resolve();
    if (this.#touched.size >= TOUCH_CACHE_LIMIT) this.#touched.clear();
    this.#touched.set(id, at);
    return this.#run('touch token', async () => {
      await this.#db.updateTable('tokens').set({ last_used_at: at }).where('id', '=', id).execute();
    });
  }

  // ---- projects ----

  createProject(p: Project): Promise<void> {
    return this.#run(
      'create project',
      async () => {
        await this.#db.insertInto('projects').values(projectToRow(p)).execute();
      },
      { unique: () => new AlreadyExistsError(`project \`${p.name}\` already exists`) },
    );
  }

  getProject(id: string): Promise<Project | null> {
    return this.#run('get project', async () => {
      const row = await this.#db.selectFrom('projects').selectAll().where('id', '=', id).executeTakeFirst();
      return row === undefined ? null : projectFromRow(row);
    });
  }

  getProjectByName(name: string): Promise<Project | null> {
    return this.#run('get project', async () => {
      const row = await this.#db.selectFrom('projects').selectAll().where('name', '=', name).executeTakeFirst();
      return row === undefined ? null : projectFromRow(row);
    });
  }

  listProjects(options: ListOptions = {}): Promise<Page<Project>> {
    return this.#run('list projects', async () => {
      const limit = pageSize(options.limit);
      const after = options.cursor ? decodeCursor(options.cursor, 'string') : null;
      let q = this.#db.selectFrom('projects').selectAll();
      if (after !== null) q = q.where('name', '>', after);
      const rows = await q.orderBy('name').limit(limit + 1).execute();
      return page(rows.map(projectFromRow), limit, (p) => p.name);
    });
  }

  // ---- artifacts ----

  createArtifact(a: Artifact): Promise<void> {
    return this.#run(
      'create artifact',
      async () => {
        await this.#db.insertInto('artifacts').values(artifactToRow(a)).execute();
      },
      {
        unique: () => new AlreadyExistsError(`artifact \`${a.name}\` already exists`),
        foreignKey: () => new NotFoundError('project not found'),
      },
    );
  }

  getArtifact(id: string): Promise<Artifact | null> {
    return this.#run('get artifact', async () => {
      const row = await this.#db.selectFrom('artifacts').selectAll().where('id', '=', id).executeTakeFirst();
      return row === undefined ? null : artifactFromRow(row);
    });
  }

  getArtifactByName(projectId: string, name: string): Promise<Artifact | null> {
    return this.#run('get artifact', async () => {
      const row = await this.#db
        .selectFrom('artifacts')
        .selectAll()
        .where('project_id', '=', projectId)
        .where('name', '=', name)
        .executeTakeFirst();
      return row === undefined ? null : artifactFromRow(row);
    });
  }

  listArtifacts(projectId: string, options: ListOptions = {}): Promise<Page<Artifact>> {
    return this.#run('list artifacts', async () => {
      const limit = pageSize(options.limit);
      const after = options.cursor ? decodeCursor(options.cursor, 'string') : null;
      let q = this.#db.selectFrom('artifacts').selectAll().where('project_id', '=', projectId);
      if (after !== null) q = q.where('name', '>', after);
      const rows = await q.orderBy('name').limit(limit + 1).execute();
      return page(rows.map(artifactFromRow), limit, (a) => a.name);
    });
  }

  // ---- versions ----

  createVersion(v: ArtifactVersion): Promise<void> {
    if (!Number.isSafeInteger(v.number) || v.number < 1) {
      return Promise.reject(new ValidationError('version number must be a positive integer'));
    }
    return this.#run(
      'create version',
      () =>
        this.#flavor.writeTransaction(this.#db, async (trx) => {
          const row = await trx
            .selectFrom('versions')
            .select((eb) => eb.fn.max('number').as('latest'))
            .where('artifact_id', '=', v.artifactId)
            .executeTakeFirst();
          const latest = row?.latest === null || row?.latest === undefined ? 0 : toNumber(row.latest);
          if (v.number !== latest + 1) {
            throw new ConflictError(`version ${v.number} is not the next version: latest is ${latest}`);
          }
          await trx.insertInto('versions').values(versionToRow(v)).execute();
        }),
      {
        // INVARIANT: the (artifact_id, number) index name holds `number`, its columns too (SQLite)
        unique: (f) =>
          /number/.test(f.target)
            ? new ConflictError(`version ${v.number} was created concurrently`)
            : new AlreadyExistsError('version already exists'),
        foreignKey: () => new NotFoundError('artifact not found'),
      },
    );
  }

  getVersion(id: string): Promise<ArtifactVersion | null> {
    return this.#run('get version', async () => {
      const row = await this.#db.selectFrom('versions').selectAll().where('id', '=', id).executeTakeFirst();
      return row === undefined ? null : versionFromRow(row);
    });
  }

  getVersionByNumber(artifactId: string, number: number): Promise<ArtifactVersion | null> {
    return this.#run('get version', async () => {
      const row = await this.#db
        .selectFrom('versions')
        .selectAll()
        .where('artifact_id', '=', artifactId)
        .where('number', '=', number)
        .executeTakeFirst();
      return row === undefined ? null : versionFromRow(row);
    });
  }

  latestVersionNumber(artifactId: string): Promise<number> {
    return this.#run('latest version', async () => {
      const row = await this.#db
        .selectFrom('versions')
        .select((eb) => eb.fn.max('number').as('latest'))
        .where('artifact_id', '=', artifactId)
        .executeTakeFirst();
      return row?.latest === null || row?.latest === undefined ? 0 : toNumber(row.latest);
    });
  }

  listVersions(artifactId: string, options: ListOptions = {}): Promise<Page<ArtifactVersion>> {
    return this.#run('list versions', async () => {
      const limit = pageSize(options.limit);
      const after = options.cursor ? decodeCursor(options.cursor, 'number') : null;
      let q = this.#db.selectFrom('versions').selectAll().where('artifact_id', '=', artifactId);
      if (after !== null) q = q.where('number', '>', after);
      const rows = await q.orderBy('number').limit(limit + 1).execute();
      return page(rows.map(versionFromRow), limit, (v) => v.number);
    });
  }

  /** Versions still holding a data key wrapped under another term, by id, after `after`; shredded versions are skipped. */
  listVersionsNotUnderTerm(term: number, limit: number, after: string | null = null): Promise<ArtifactVersion[]> {
    return this.#run('list versions to rewrap', async () => {
      const n = pageSize(limit);
      let q = this.#db.selectFrom('versions').selectAll().where('key_term', '<>', term).where('wrapped_key', 'is not', null);
      // keyset paging: `id >` and `order by id` compare under the same collation
      if (after !== null) q = q.where('id', '>', after);
      const rows = await q.orderBy('id').limit(n).execute();
      return rows.map(versionFromRow);
    });
  }

  rewrapVersionKey(id: string, expectedTerm: number, wrappedKey: Uint8Array, term: number): Promise<boolean> {
    return this.#run('rewrap version key', async () => {
      const r = await this.#db
        .updateTable('versions')
        .set({ wrapped_key: toBuffer(wrappedKey), key_term: term })
        .where('id', '=', id)
        .where('key_term', '=', expectedTerm)
        // a shredded key stays shredded
        .where('wrapped_key', 'is not', null)
        .executeTakeFirst();
      return r.numUpdatedRows > 0n;
    });
  }

  hasBlobKey(blobKey: string): Promise<boolean> {
    return this.#run('find blob key', async () => {
      const row = await this.#db.selectFrom('versions').select('id').where('blob_key', '=', blobKey).limit(1).executeTakeFirst();
      return row !== undefined;
    });
  }

  // ---- gate verdicts ----

  claimVersionsToScan(now: number, leaseMs: number, limit: number): Promise<ArtifactVersion[]> {
    return this.#run('claim versions to scan', () =>
      this.#flavor.writeTransaction(this.#db, async (trx) => {
        const rows = await trx
          .selectFrom('versions')
          .selectAll()
          .where('scan_state', 'is', null)
          .where((eb) => eb.or([eb('scan_claimed_until', 'is', null), eb('scan_claimed_until', '<=', now)]))
          .orderBy('created_at')
          .orderBy('id')
          .limit(pageSize(limit))
          .execute();
        const claimed: ArtifactVersion[] = [];
        for (const row of rows) {
          // INVARIANT: one node holds a version's lease at a time: the claim re-checks the lapse
          const r = await trx
            .updateTable('versions')
            .set({ scan_claimed_until: now + leaseMs })
            .where('id', '=', row.id)
            .where('scan_state', 'is', null)
            .where((eb) => eb.or([eb('scan_claimed_until', 'is', null), eb('scan_claimed_until', '<=', now)]))
            .executeTakeFirst();
          if (Number(r.numUpdatedRows) === 1) claimed.push(versionFromRow(row));
        }
        return claimed;
      }),
    );
  }

  claimVersionToScan(id: string, now: number, leaseMs: number): Promise<ArtifactVersion | null> {
    return this.#run('claim version to scan', () =>
      this.#flavor.writeTransaction(this.#db, async (trx) => {
        const r = await trx
          .updateTable('versions')
          .set({ scan_claimed_until: now + leaseMs })
          .where('id', '=', id)
          .where('scan_state', 'is', null)
          .where((eb) => eb.or([eb('scan_claimed_until', 'is', null), eb('scan_claimed_until', '<=', now)]))
          .executeTakeFirst();
        if (Number(r.numUpdatedRows) !== 1) return null;
        const row = await trx.selectFrom('versions').selectAll().where('id', '=', id).executeTakeFirst();
        return row === undefined ? null : versionFromRow(row);
      }),
    );
  }

  recordVersionScan(id: string, scan: VersionScan, report: string): Promise<boolean> {
    return this.#run('record version scan', () =>
      this.#flavor.writeTransaction(this.#db, async (trx) => {
        const r = await trx
          .updateTable('versions')
          .set({ scan_state: scan.state, scan_flags: scanFlags(scan), scan_at: scan.scannedAt, scan_claimed_until: null })
          .where('id', '=', id)
          // INVARIANT: a verdict is written once; a late second scanner cannot replace it
          .where('scan_state', 'is', null)
          .executeTakeFirst();
        if (Number(r.numUpdatedRows) !== 1) return false;
        await trx.insertInto('version_scan_reports').values({ version_id: id, report }).execute();
        return true;
      }),
    );
  }

  getVersionScanReport(id: string): Promise<string | null> {
    return this.#run('get version scan report', async () => {
      const row = await this.#db.selectFrom('version_scan_reports').select('report').where('version_id', '=', id).executeTakeFirst();
      return row?.report ?? null;
    });
  }

  // ---- grants ----

  createGrant(g: Grant): Promise<void> {
    return this.#run(
      'create grant',
      async () => {
        await this.#db.insertInto('grants').values(grantToRow(g)).execute();
      },
      {
        unique: () => new AlreadyExistsError('grant already exists'),
        foreignKey: () => new NotFoundError('principal not found'),
      },
    );
  }

  getGrant(id: string): Promise<Grant | null> {
    return this.#run('get grant', async () => {
      const row = await this.#db.selectFrom('grants').selectAll().where('id', '=', id).executeTakeFirst();
      return row === undefined ? null : grantFromRow(row);
    });
  }

  /** Deletes the grant; NotFoundError if there is none with that id. */
  deleteGrant(id: string): Promise<void> {
    return this.#run('delete grant', async () => {
      const r = await this.#db.deleteFrom('grants').where('id', '=', id).executeTakeFirst();
      if (r.numDeletedRows === 0n) throw new NotFoundError('grant not found');
    });
  }

  listGrantsForPrincipals(principalIds: string[]): Promise<Grant[]> {
    if (principalIds.length === 0) return Promise.resolve([]);
    return this.#run('list grants', async () => {
      const rows = await this.#db
        .selectFrom('grants')
        .selectAll()
        .where('principal_id', 'in', [...new Set(principalIds)])
        .orderBy('id')
        .execute();
      return rows.map(grantFromRow);
    });
  }

  listGrantsOnScope(scopeKind: Grant['scopeKind'], scopeId: string): Promise<Grant[]> {
    return this.#run('list grants', async () => {
      const rows = await this.#db
        .selectFrom('grants')
        .selectAll()
        .where('scope_kind', '=', scopeKind)
        .where('scope_id', '=', scopeId)
        .orderBy('id')
        .execute();
      return rows.map(grantFromRow);
    });
  }

  listAllGrants(): Promise<Grant[]> {
    return this.#run('list grants', async () => {
      const rows = await this.#db.selectFrom('grants').selectAll().orderBy('id').execute();
      return rows.map(grantFromRow);
    });
  }

  // ---- audit log ----

  /**
   * Also checks that the built records continue the chain (consecutive seq, each
   * prevHash equal to the hash before it) and rejects with ConflictError otherwise.
   */
  appendAudit(build: (tail: StoredAuditRecord | null) => StoredAuditRecord[]): Promise<void> {
    const direct = this.#directAudit;
    if (direct !== null) {
      return this.#run(
        'append audit',
        // the connection is held, so no other transaction of this process is open on it meanwhile
        () => this.#db.connection().execute(() => Promise.resolve(direct((tail) => {
          const records = build(tail);
          assertContinues(tail, records);
          return records;
        }))),
        { unique: () => new ConflictError('audit record already exists: concurrent append') },
      );
    }
    return this.#run(
      'append audit',
      () =>
        this.#flavor.writeTransaction(this.#db, async (trx) => {
          // INVARIANT: the lock is held before the tail is read, so no two appenders see the same tail
          await this.#flavor.lockAudit(trx);
          const row = await trx.selectFrom('audit_records').selectAll().orderBy('seq', 'desc').limit(1).executeTakeFirst();
          const tail = row === undefined ? null : auditFromRow(row);
          const records = build(tail);
          assertContinues(tail, records);
          for (let i = 0; i < records.length; i += AUDIT_INSERT_CHUNK) {
            await trx
              .insertInto('audit_records')
              .values(records.slice(i, i + AUDIT_INSERT_CHUNK).map(auditToRow))
              .execute();
          }
        }),
      { unique: () => new ConflictError('audit record already exists: concurrent append') },
    );
  }

  async *iterateAudit(fromSeq = 0): AsyncIterable<StoredAuditRecord> {
    let after = fromSeq - 1;
    for (;;) {
      const rows = await this.#run('read audit', () =>
        this.#db.selectFrom('audit_records').selectAll().where('seq', '>', after).orderBy('seq').limit(AUDIT_PAGE).execute(),
      );
      for (const row of rows) {
        const record = auditFromRow(row);
        after = record.seq;
        yield record;
      }
      if (rows.length < AUDIT_PAGE) return;
    }
  }

  lastAudit(): Promise<StoredAuditRecord | null> {
    return this.#run('read audit', async () => {
      const row = await this.#db.selectFrom('audit_records').selectAll().orderBy('seq', 'desc').limit(1).executeTakeFirst();
      return row === undefined ? null : auditFromRow(row);
    });
  }

  putAuditCheckpoint(c: StoredAuditCheckpoint): Promise<void> {
    return this.#run(
      'put audit checkpoint',
      async () => {
        await this.#db.insertInto('audit_checkpoints').values({ seq: c.seq, hash: c.hash, signature: c.signature, created_at: c.createdAt }).execute();
      },
      { unique: () => new AlreadyExistsError(`audit checkpoint at ${c.seq} already exists`) },
    );
  }

  listAuditCheckpoints(): Promise<StoredAuditCheckpoint[]> {
    return this.#run('list audit checkpoints', async () => {
      const rows = await this.#db.selectFrom('audit_checkpoints').selectAll().orderBy('seq').execute();
      return rows.map(checkpointFromRow);
    });
  }

  // ---- plumbing ----

  async #run<T>(operation: string, fn: () => Promise<T>, rules: ViolationRules = {}): Promise<T> {
    if (this.#closed && operation !== 'close') throw new StorageError(undefined, { detail: `metadata store: ${operation}: store is closed` });
    try {
      return await fn();
    } catch (err) {
      throw this.#translate(err, operation, rules);
    }
  }

  #translate(err: unknown, operation: string, rules: ViolationRules = {}): CofferError {
    if (isCofferError(err)) return err;
    const failure = classifyDbError(err);
    if (failure.kind === 'unique') return rules.unique?.(failure) ?? new AlreadyExistsError();
    if (failure.kind === 'foreign-key') return rules.foreignKey?.(failure) ?? new NotFoundError();
    return storageFailure(failure, operation, err);
  }
}

function page<T>(items: T[], limit: number, sortKey: (item: T) => string | number): Page<T> {
  if (items.length <= limit) return { items, next: null };
  const kept = items.slice(0, limit);
  return { items: kept, next: encodeCursor(sortKey(kept[kept.length - 1]!)) };
}

function assertContinues(tail: StoredAuditRecord | null, records: StoredAuditRecord[]): void {
  let prev = tail;
  for (const r of records) {
    const ok =
      Number.isSafeInteger(r.seq) &&
      r.seq >= 0 &&
      typeof r.body === 'string' &&
      typeof r.hash === 'string' &&
      (prev === null || (r.seq === prev.seq + 1 && r.prevHash === prev.hash));
    if (!ok) {
      throw new ConflictError('audit records do not continue the chain', {
        detail: `record seq ${String(r.seq)} after ${prev === null ? 'an empty log' : `seq ${prev.seq}`}`,
      });
    }
    prev = r;
  }
}
