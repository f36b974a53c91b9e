import type { Kysely, Selectable } from 'kysely';
import { ConflictError, NotFoundError, isCofferError, type CofferError } from '../../domain/errors.js';
import type { Artifact, ArtifactVersion, Project } from '../../domain/types.js';
import type { ListOptions, Page } from '../metadata-store.js';
import type { CatalogCandidates, PolicyActivationRecord, PolicyStore, PolicyVersionRecord, PolicyVersionSummary, StoredPolicySource } from '../policy-store.js';
import type { ArtifactsTable, ProjectsTable, VersionsTable } from './database.js';
import { decodeCursor, encodeCursor, pageSize } from './cursor.js';
import type { SqlMetadataStore } from './sql-metadata-store.js';
import type { Int8 } from './database.js';
import { classifyDbError, storageFailure } from './db-errors.js';
import { artifactFromRow, projectFromRow, toNumber, versionFromRow } from './rows.js';

interface PolicyTables {
  policy_versions: { version: number; sources: string; digest: string; policy_count: number; message: string; created_by: string; created_at: Int8 };
  policy_activations: { seq: number; version: number; kind: string; activated_by: string; activated_at: Int8 };
  // core tables, read only (impact analysis, listings by permission)
  audit_records: { seq: Int8; body: string };
  projects: ProjectsTable;
  artifacts: ArtifactsTable;
  versions: VersionsTable;
}

/** Ids per `IN (...)` list: well under the parameter limits of SQLite and PostgreSQL. */
const ID_CHUNK = 500;

type Db = Kysely<PolicyTables>;

/**
 * PolicyStore on the Kysely instance of the core SQL store (SQLite or PostgreSQL, one
 * code path). Tables come from migration `006_policy`. Version and activation numbers
 * are primary keys taken as max + 1 inside a transaction: two nodes applying at the
 * same moment collide on the key and one gets ConflictError, never a silent overwrite.
 */
export class SqlPolicyStore implements PolicyStore, CatalogCandidates {
  readonly #db: Db;

  constructor(core: SqlMetadataStore) {
    // the policy tables live in the same database; typed here, not in the core Database
    this.#db = core.kysely as unknown as Db;
  }

  createAndActivate(input: Omit<PolicyVersionRecord, 'version'>): Promise<{ version: PolicyVersionRecord; activation: PolicyActivationRecord }> {
    return run('apply policy version', () =>
      this.#db.transaction().execute(async (trx) => {
        const last = await trx.selectFrom('policy_versions').select((eb) => eb.fn.max('version').as('v')).executeTakeFirst();
        const version: PolicyVersionRecord = { ...input, version: Number(last?.v ?? 0) + 1 };
        await trx
          .insertInto('policy_versions')
          .values({
            version: version.version,
            sources: JSON.stringify(version.sources.map((s) => ({ name: s.name, text: s.text }))),
            digest: version.digest,
            policy_count: version.policyCount,
            message: version.message,
            created_by: version.createdBy,
            created_at: version.createdAt,
          })
          .execute();
        const activation = await insertActivation(trx, version.version, 'apply', input.createdBy, input.createdAt);
        return { version, activation };
      }),
    );
  }

  activate(version: number, kind: PolicyActivationRecord['kind'], by: string, at: number): Promise<PolicyActivationRecord> {
    return run('activate policy version', () =>
      this.#db.transaction().execute(async (trx) => {
        if (version !== 0) {
          const exists = await trx.selectFrom('policy_versions').select('version').where('version', '=', version).executeTakeFirst();
          if (exists === undefined) throw new NotFoundError(`policy version ${version} not found`);
        }
        return insertActivation(trx, version, kind, by, at);
      }),
    );
  }

  currentActivation(): Promise<PolicyActivationRecord | null> {
    return run('read policy activation', async () => {
      const row = await this.#db.selectFrom('policy_activations').selectAll().orderBy('seq', 'desc').limit(1).executeTakeFirst();
      return row === undefined ? null : activationFromRow(row);
    });
  }

  listActivations(limit: number): Promise<PolicyActivationRecord[]> {
    return run('list policy activations', async () => {
      const rows = await this.#db.selectFrom('policy_activations').selectAll().orderBy('seq', 'desc').limit(Math.max(1, Math.min(limit, 1000))).execute();
      return rows.map(activationFromRow);
    });
  }

  getVersion(version: number): Promise<PolicyVersionRecord | null> {
    return run('read policy version', async () => {
      const row = await this.#db.selectFrom('policy_versions').selectAll().where('version', '=', version).executeTakeFirst();
      if (row === undefined) return null;
      return { ...summaryFromRow(row), sources: JSON.parse(row.sources) as StoredPolicySource[] };
    });
  }

  listVersions(): Promise<PolicyVersionSummary[]> {
    return run('list policy versions', async () => {
      const rows = await this.#db.selectFrom('policy_versions').select(['version', 'digest', 'policy_count', 'message', 'created_by', 'created_at']).orderBy('version').execute();
      return rows.map(summaryFromRow);
    });
  }

  firstAuditSeqSince(time: number): Promise<number | null> {
    return run('find audit records by time', async () => {
      const bounds = await this.#db
        .selectFrom('audit_records')
        .select((eb) => [eb.fn.min('seq').as('lo'), eb.fn.max('seq').as('hi')])
        .executeTakeFirst();
      if (bounds?.lo === null || bounds?.lo === undefined || bounds.hi === null) return null;
      // first record at or after `seq`, with its time
      const at = async (seq: number) => {
        const row = await this.#db.selectFrom('audit_records').select(['seq', 'body']).where('seq', '>=', seq).orderBy('seq').limit(1).executeTakeFirst();
        return row === undefined ? null : { seq: toNumber(row.seq), time: timeOfBody(row.body) };
      };
      let lo = toNumber(bounds.lo);
      let hi = toNumber(bounds.hi);
      const last = await at(hi);
      if (last === null || last.time < time) return null;
      while (lo < hi) {
        const mid = Math.floor((lo + hi) / 2);
        const r = await at(mid);
        if (r !== null && r.time >= time) hi = mid;
        else lo = mid + 1;
      }
      return (await at(lo))?.seq ?? null;
    });
  }

  projectsByIds(ids: readonly string[], options: ListOptions = {}): Promise<Page<Project>> {
    return run('list projects by id', async () => {
      const keys: { id: string; name: string }[] = [];
      for (const chunk of chunks(ids)) keys.push(...(await this.#db.selectFrom('projects').select(['id', 'name']).where('id', 'in', chunk).execute()));
      const page = pageOf(keys, options);
      const rows = page.ids.length === 0 ? [] : await this.#db.selectFrom('projects').selectAll().where('id', 'in', page.ids).execute();
      return { items: inOrder(rows.map(projectFromRow), page.ids), next: page.next };
    });
  }

  artifactsByIds(projectId: string, ids: readonly string[], options: ListOptions = {}): Promise<Page<Artifact>> {
    return run('list artifacts by id', async () => {
      const keys: { id: string; name: string }[] = [];
      for (const chunk of chunks(ids)) {
        // by primary key only: a condition on the project or the name lets the planner walk the name index instead
        const rows = await this.#db.selectFrom('artifacts').select(['id', 'name', 'project_id']).where('id', 'in', chunk).execute();
        for (const r of rows) if (r.project_id === projectId) keys.push(r);
      }
      const page = pageOf(keys, options);
      const rows = page.ids.length === 0 ? [] : await this.#db.selectFrom('artifacts').selectAll().where('id', 'in', page.ids).execute();
      return { items: inOrder(rows.map(artifactFromRow), page.ids), next: page.next };
    });
  }

  versionsByIds(artifactId: string, ids: readonly string[]): Promise<ArtifactVersion[]> {
    return run('list versions by id', async () => {
      const out: ArtifactVersion[] = [];
      for (const chunk of chunks(ids)) {
        const rows = await this.#db.selectFrom('versions').selectAll().where('artifact_id', '=', artifactId).where('id', 'in', chunk).execute();
        out.push(...rows.map(versionFromRow));
      }
      return out.sort((a, b) => a.number - b.number);
    });
  }
}

function chunks(ids: readonly string[]): string[][] {
  const unique = [...new Set(ids)];
  const out: string[][] = [];
  for (let i = 0; i < unique.length; i += ID_CHUNK) out.push(unique.slice(i, i + ID_CHUNK));
  return out;
}

/**
 * The ids of one page, by name, of the candidate rows `keys` (id and name, read by
 * primary key: an ORDER BY or a condition on the name would make the database walk the
 * name index past every other row). Names sort bytewise, as the databases sort them
 * (`collate "C"` in PostgreSQL); names are unique, so the cursor is the last name.
 */
function pageOf(keys: { id: string; name: string }[], options: ListOptions): { ids: string[]; next: string | null } {
  const limit = pageSize(options.limit);
  const after = options.cursor ? Buffer.from(decodeCursor(options.cursor, 'string')) : null;
  const sorted = keys.map((k) => ({ id: k.id, name: k.name, key: Buffer.from(k.name) })).filter((k) => after === null || Buffer.compare(k.key, after) > 0);
  sorted.sort((a, b) => Buffer.compare(a.key, b.key));
  if (sorted.length <= limit) return { ids: sorted.map((k) => k.id), next: null };
  const kept = sorted.slice(0, limit);
  return { ids: kept.map((k) => k.id), next: encodeCursor(kept[kept.length - 1]!.name) };
}

/** `rows` in the order of `ids`. */
function inOrder<T extends { id: string }>(rows: T[], ids: string[]): T[] {
  const byId = new Map(rows.map((r) => [r.id, r]));
  return ids.map((id) => byId.get(id)).filter((r): r is T => r !== undefined);
}

async function insertActivation(trx: Db, version: number, kind: PolicyActivationRecord['kind'], by: string, at: number): Promise<PolicyActivationRecord> {
  const last = await trx.selectFrom('policy_activations').select((eb) => eb.fn.max('seq').as('s')).executeTakeFirst();
  const activation: PolicyActivationRecord = { seq: Number(last?.s ?? 0) + 1, version, kind, activatedBy: by, activatedAt: at };
  await trx.insertInto('policy_activations').values({ seq: activation.seq, version, kind, activated_by: by, activated_at: at }).execute();
  return activation;
}

function timeOfBody(body: string): number {
  try {
    const t = (JSON.parse(body) as { time?: unknown }).time;
    return typeof t === 'number' ? t : -Infinity;
  } catch {
    return -Infinity;
  }
}

function activationFromRow(row: Selectable<PolicyTables['policy_activations']>): PolicyActivationRecord {
  return { seq: Number(row.seq), version: Number(row.version), kind: row.kind === 'rollback' ? 'rollback' : 'apply', activatedBy: row.activated_by, activatedAt: toNumber(row.activated_at) };
}

function summaryFromRow(row: Omit<Selectable<PolicyTables['policy_versions']>, 'sources'>): PolicyVersionSummary {
  return { version: Number(row.version), digest: row.digest, policyCount: Number(row.policy_count), message: row.message, createdBy: row.created_by, createdAt: toNumber(row.created_at) };
}

async function run<T>(operation: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (isCofferError(err)) throw err;
    const failure = classifyDbError(err);
    // two nodes took the same version or activation number at once
    if (failure.kind === 'unique' || failure.kind === 'busy') throw new ConflictError('policy set changed concurrently: retry', { detail: `${operation}: ${failure.message}`, cause: err }) as CofferError;
    throw storageFailure(failure, operation, err);
  }
}
