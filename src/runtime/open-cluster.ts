import { hostname } from 'node:os';
import type { Kysely } from 'kysely';
import type { ChangeFeed } from '../store/change-feed.js';
import { LocalLeases, type Leases, type SingletonStart } from '../store/leases.js';
import { PgAdvisoryLeases } from '../store/postgres/pg-advisory-leases.js';
import { pgNotifications } from '../store/postgres/pg-notifications.js';
import { publishChanges, type ChangeRule } from '../store/publish-changes.js';
import { SqlChangeFeed } from '../store/sql/sql-change-feed.js';
import type { SqlMetadataStore } from '../store/sql/sql-metadata-store.js';
import { KEYRING_SETTING } from '../vault/index.js';

/** What a node needs to share a database with other nodes. */
export interface Cluster {
  /** Invalidation of what nodes cache. */
  changes: ChangeFeed;
  /** Singleton jobs. */
  leases: Leases;
  /** The metadata store, publishing its writes that change cached state (locks, keyring, identity keys). */
  store: SqlMetadataStore;
  /** Wraps another store of a feature module so its writes publish their topics too. */
  publishing<T extends object>(target: T, rules: { [K in keyof T]?: ChangeRule }): T;
  close(): Promise<void>;
}

/** The name this node gives its lease connection (visible in pg_stat_activity). */
export function nodeName(): string {
  return `${process.pid}@${hostname()}`;
}

/**
 * Opens the change feed (PostgreSQL: LISTEN/NOTIFY plus the polled version table;
 * SQLite: in process plus the poll) and the leases (PostgreSQL advisory locks; SQLite:
 * this node holds them all), and wraps the store so its writes publish.
 */
export async function openCluster(store: SqlMetadataStore, databaseUrl: string | null, warn: (message: string, detail: Record<string, unknown>) => void): Promise<Cluster> {
  const changes = new SqlChangeFeed({
    db: store.kysely as unknown as Kysely<unknown>,
    dialect: store.dialect,
    ...(databaseUrl !== null ? { notifications: pgNotifications(databaseUrl, warn) } : {}),
    warn,
  });
  await changes.start();
  const leases: Leases = databaseUrl !== null ? new PgAdvisoryLeases(databaseUrl, { node: nodeName(), warn }) : new LocalLeases();
  const publishing = <T extends object>(target: T, rules: { [K in keyof T]?: ChangeRule }): T => publishChanges(target, changes, rules, warn);
  return {
    changes,
    leases,
    store: publishing(store, {
      // INVARIANT: every lock or disable goes through this write; every node then cuts the principal's downloads
      setPrincipalDisabled: (args) => (args[1] === true ? 'locks' : null),
      putSetting: (args, result) => (result === false ? null : settingTopic(String(args[0]))),
    }),
    publishing,
    async close() {
      await leases.close();
      await changes.close();
    },
  };
}

/** The topic a settings row belongs to, if nodes cache it. */
function settingTopic(key: string) {
  if (key === KEYRING_SETTING) return 'keyring' as const;
  if (key.startsWith('identity-key/') || key.startsWith('identity/')) return 'identity-keys' as const;
  return null;
}

/** A singleton job that runs `fn` every `everyMs` (never two runs at once); failures wait for the next run. */
export function timerJob(everyMs: number, fn: () => Promise<unknown>): SingletonStart {
  return () => {
    let running: Promise<unknown> | null = null;
    const timer = setInterval(() => {
      if (running !== null) return;
      running = fn()
        .catch(() => undefined)
        .finally(() => (running = null));
    }, everyMs);
    timer.unref();
    return async () => {
      clearInterval(timer);
      await running;
    };
  };
}
