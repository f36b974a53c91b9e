import { sql, type Kysely } from 'kysely';
import type { ChangeFeed, ChangeListener, ChangeTopic } from '../change-feed.js';
import { CHANGE_TOPICS } from '../change-feed.js';

/** The PostgreSQL channel the feed notifies on; the payload is `topic:version`. */
export const CHANGE_CHANNEL = 'coffer_changes';

/** How often a node reads the version table when no notification came (ms). */
export const CHANGE_POLL_MS = 1000;

/** A source of pushed notifications (PostgreSQL LISTEN); none on SQLite. */
export interface ChangeNotifications {
  /** Starts delivering `topic:version` payloads to `onPayload`; `onReconnect` runs after each (re)connection. */
  start(onPayload: (payload: string) => void, onReconnect: () => void): Promise<void>;
  close(): Promise<void>;
}

/** Options of {@link SqlChangeFeed}. */
export interface SqlChangeFeedOptions {
  // the feed's table is outside the typed schema: it is read and written with raw SQL
  db: Kysely<unknown>;
  dialect: 'sqlite' | 'postgres';
  /** Pushed notifications (PostgreSQL LISTEN/NOTIFY); the polled table alone without. */
  notifications?: ChangeNotifications;
  /** Poll period of the version table (default {@link CHANGE_POLL_MS}). */
  pollMs?: number;
  /** Told of failures (a poll, a listener); the feed goes on. */
  warn: (message: string, detail: Record<string, unknown>) => void;
}

/**
 * The change feed on the metadata database: `change_versions` holds one version per
 * topic, bumped by `publish`; on PostgreSQL the same statement NOTIFYs every node
 * (delivered at commit), and every node also polls the table, so a lost notification
 * (LISTEN connection down, a node reconnecting) delays a change by one poll period at
 * most. On SQLite the feed is in process plus the poll (other processes on the file).
 *
 * INVARIANT: a topic's listeners run only for a version higher than the last they ran
 * for, so a change seen both by NOTIFY and by the poll (or by the local publish) runs
 * them once.
 */
export class SqlChangeFeed implements ChangeFeed {
  readonly #o: SqlChangeFeedOptions;
  readonly #seen = new Map<ChangeTopic, number>();
  readonly #listeners = new Map<ChangeTopic, Set<ChangeListener>>();
  #timer: NodeJS.Timeout | null = null;
  #polling: Promise<void> | null = null;
  #closed = false;

  constructor(options: SqlChangeFeedOptions) {
    this.#o = options;
  }

  async publish(topic: ChangeTopic): Promise<void> {
    const { db, dialect } = this.#o;
    let version: number;
    if (dialect === 'postgres') {
      // one statement: the bump and the notification commit together (NOTIFY is sent at commit)
      const r = await sql<{ version: string }>`
        WITH v AS (
          INSERT INTO change_versions (topic, version) VALUES (${topic}, 1)
          ON CONFLICT (topic) DO UPDATE SET version = change_versions.version + 1
          RETURNING version
        )
        SELECT v.version, pg_notify(${CHANGE_CHANNEL}, ${topic} || ':' || v.version::text) FROM v`.execute(db);
      version = Number(r.rows[0]!.version);
    } else {
      const r = await sql<{ version: number | bigint }>`
        INSERT INTO change_versions (topic, version) VALUES (${topic}, 1)
        ON CONFLICT (topic) DO UPDATE SET version = change_versions.version + 1
        RETURNING version`.execute(db);
      version = Number(r.rows[0]!.version);
    }
    // this node learns at once, whatever the notification path does
    this.#deliver(topic, version);
  }

  subscribe(topic: ChangeTopic, listener: ChangeListener): () => void {
    let set = this.#listeners.get(topic);
    if (set === undefined) this.#listeners.set(topic, (set = new Set()));
    set.add(listener);
    return () => set.delete(listener);
  }

  async start(): Promise<void> {
    for (const [topic, version] of await this.#read()) this.#seen.set(topic, version);
    this.#timer = setInterval(() => void this.poll(), this.#o.pollMs ?? CHANGE_POLL_MS);
    this.#timer.unref();
    await this.#o.notifications?.start(
      (payload) => {
        const at = payload.lastIndexOf(':');
        const topic = payload.slice(0, at) as ChangeTopic;
        const version = Number(payload.slice(at + 1));
        if (CHANGE_TOPICS.includes(topic) && Number.isSafeInteger(version)) this.#deliver(topic, version);
      },
      // changes made while the connection was down are in the table
      () => void this.poll(),
    );
  }

  /** Reads the version table once and runs the listeners of every topic that moved (the fallback path). */
  poll(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#polling ??= (async () => {
      try {
        for (const [topic, version] of await this.#read()) this.#deliver(topic, version);
      } catch (err) {
        this.#o.warn('change feed poll failed', { message: err instanceof Error ? err.message : String(err) });
      } finally {
        this.#polling = null;
      }
    })();
    return this.#polling;
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
    await this.#polling;
    await this.#o.notifications?.close();
  }

  async #read(): Promise<Array<[ChangeTopic, number]>> {
    const r = await sql<{ topic: string; version: string | number | bigint }>`SELECT topic, version FROM change_versions`.execute(this.#o.db);
    return r.rows.filter((row) => CHANGE_TOPICS.includes(row.topic as ChangeTopic)).map((row) => [row.topic as ChangeTopic, Number(row.version)]);
  }

  #deliver(topic: ChangeTopic, version: number): void {
    if (this.#closed || version <= (this.#seen.get(topic) ?? 0)) return;
    this.#seen.set(topic, version);
    for (const listener of this.#listeners.get(topic) ?? []) {
      try {
        listener(topic, version);
      } catch (err) {
        this.#o.warn('change feed listener failed', { topic, message: err instanceof Error ? err.message : String(err) });
      }
    }
  }
}
