import { ColumnNode, TableNode, type OperationNode } from 'kysely';
import type { KyselyPlugin, PluginTransformQueryArgs, PluginTransformResultArgs, QueryResult, RootOperationNode, UnknownRow } from 'kysely';

/**
 * Tables whose writes can never change who a credential belongs to, whether it still
 * works, or which groups and grants its principal has: the audit log, object bytes'
 * metadata (versions, S3 objects and uploads) and the monitor's usage counters. A write
 * to any other table (tokens, principals, memberships, grants, settings, monitor locks,
 * sessions, devices, policies, and every table added later) moves the change counter.
 */
const NEUTRAL_TABLES: ReadonlySet<string> = new Set([
  'audit_records',
  'audit_checkpoints',
  'versions',
  's3_objects',
  's3_uploads',
  's3_upload_parts',
  's3_delete_markers',
  'monitor_principal_use',
  'monitor_grant_use',
  'monitor_state',
  'monitor_meta',
  'monitor_alerts',
]);

/** Raw statements that never write: transaction control and reads. */
const NEUTRAL_RAW = /^\s*(select|begin|commit|rollback|savepoint|release|pragma\s+data_version)\b/i;

/**
 * A counter that moves whenever data a credential cache may hold may have changed:
 * a Kysely plugin on the store's one Kysely instance (every sub-store shares it) sees
 * every statement and moves the counter before and after each write that is not to a
 * neutral table; `external` reports writes by other processes (SQLite: `PRAGMA
 * data_version`), and a change of it moves the counter too.
 *
 * INVARIANT: fail closed: a statement whose table cannot be told (raw SQL, DDL, a
 * join) counts as a change.
 *
 * Sound for one SQLite connection (Kysely's SQLite driver serializes every query on
 * it, so a read that starts after a write's post-move sees that write committed); a
 * pooled PostgreSQL store cannot tell when another connection commits, nor what other
 * nodes write, so it has no counter (its version is null: no cache is trusted) until
 * cross-node invalidation plugs in through {@link StoreChanges}.
 */
export class ChangeCounter implements KyselyPlugin {
  #local = 0;
  #lastExternal: number | null = null;
  readonly #writes = new WeakSet<object>();
  readonly #external: () => number;

  /** `external`: a number that changes when another process commits (never called during a query). */
  constructor(external: () => number) {
    this.#external = external;
  }

  /** The current version; any two equal readings mean no relevant write happened in between. */
  version(): number {
    const ext = this.#external();
    if (ext !== this.#lastExternal) {
      this.#lastExternal = ext;
      this.#local++;
    }
    return this.#local;
  }

  /** Moves the counter by hand (a change the statements do not show). */
  bump(): void {
    this.#local++;
  }

  transformQuery(args: PluginTransformQueryArgs): RootOperationNode {
    if (isChange(args.node)) {
      this.#local++;
      this.#writes.add(args.queryId);
    }
    return args.node;
  }

  transformResult(args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
    if (this.#writes.has(args.queryId)) this.#local++;
    return Promise.resolve(args.result);
  }
}

/** What a cache of store data asks the store: has anything it may hold changed? */
export interface StoreChanges {
  /**
   * A number that differs from any earlier reading once a write that may change
   * credentials, principals, memberships or grants is visible; null when the store
   * cannot tell (then nothing may be cached).
   */
  changeVersion(): number | null;
}

function isChange(node: RootOperationNode): boolean {
  switch (node.kind) {
    case 'SelectQueryNode':
      return false;
    case 'RawNode':
      return !NEUTRAL_RAW.test(node.sqlFragments[0] ?? '');
    case 'InsertQueryNode':
      return !neutral(node.into?.table.identifier.name);
    case 'UpdateQueryNode': {
      if (node.from !== undefined) return true;
      const table = tableName(node.table);
      if (neutral(table)) return false;
      // a token's last use (touchToken) is advisory: it never decides anything
      const columns = (node.updates ?? []).map((u) => (ColumnNode.is(u.column) ? u.column.column.name : ''));
      return !(table === 'tokens' && columns.length > 0 && columns.every((c) => c === 'last_used_at'));
    }
    case 'DeleteQueryNode':
      return node.from.froms.length !== 1 || !neutral(tableName(node.from.froms[0]));
    default:
      return true;
  }
}

/** The name of a plain table node; undefined for anything else (an alias, a join), which then counts as a change. */
function tableName(node: OperationNode | undefined): string | undefined {
  return node !== undefined && TableNode.is(node) ? node.table.identifier.name : undefined;
}

function neutral(table: string | undefined): boolean {
  return table !== undefined && NEUTRAL_TABLES.has(table);
}
