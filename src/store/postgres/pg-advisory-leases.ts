import { createHash } from 'node:crypto';
import type { Leases, SingletonStart } from '../leases.js';
import { PgSession } from './pg-session.js';

/** How often a node that does not hold a lease tries to take it (ms). */
export const LEASE_RETRY_MS = 1000;

/** The advisory lock key of lease `name`: 64 bits of SHA-256 (signed, as PostgreSQL's bigint). */
export function leaseKey(name: string): string {
  return createHash('sha256').update(`coffer-lease:${name}`).digest().readBigInt64BE(0).toString();
}

/**
 * Leases as PostgreSQL session-level advisory locks on one dedicated connection per
 * node. A lock is held for as long as the connection lives: a node killed with -9 (or
 * cut off) loses its connection, the server drops its locks, and another node's next
 * try (every {@link LEASE_RETRY_MS}) takes them. The connection's `application_name`
 * names the node, so `pg_locks` joined with `pg_stat_activity` shows who runs what.
 */
export class PgAdvisoryLeases implements Leases {
  readonly #jobs = new Map<string, SingletonStart>();
  readonly #stops = new Map<string, () => Promise<void>>();
  readonly #session: PgSession;
  readonly #retryMs: number;
  #timer: NodeJS.Timeout | null = null;
  #trying: Promise<void> | null = null;
  #closed = false;

  constructor(url: string, options: { node: string; retryMs?: number; warn: (message: string, detail: Record<string, unknown>) => void }) {
    this.#retryMs = options.retryMs ?? LEASE_RETRY_MS;
    this.#session = new PgSession(url, {
      name: `leases-${options.node}`.slice(0, 60),
      warn: options.warn,
      onConnect: async () => this.#tryAll(),
      // INVARIANT: without the connection the locks are gone: every job stops now
      onLost: () => void this.#stopAll(),
    });
  }

  run(name: string, start: SingletonStart): void {
    this.#jobs.set(name, start);
    void this.#tryAll();
  }

  holds(name: string): boolean {
    return this.#stops.has(name);
  }

  async start(): Promise<void> {
    await this.#session.start();
    this.#timer = setInterval(() => void this.#tryAll(), this.#retryMs);
    this.#timer.unref();
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer !== null) clearInterval(this.#timer);
    await this.#trying;
    await this.#stopAll();
    // ending the session releases every advisory lock it holds
    await this.#session.close();
  }

  #tryAll(): Promise<void> {
    if (this.#trying !== null) return this.#trying;
    const attempt = (async () => {
      try {
        for (const [name, start] of this.#jobs) {
          const client = this.#session.client;
          if (this.#closed || client === null) return;
          if (this.#stops.has(name)) continue;
          const r = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1::bigint) AS ok', [leaseKey(name)]);
          if (r.rows[0]?.ok === true && !this.#closed && this.#session.client === client) this.#stops.set(name, start());
        }
      } catch {
        // a failed try is retried on the next tick; a dropped connection stops the jobs (onLost)
      }
    })();
    // INVARIANT: cleared only after it is set (an attempt that ends at once must not leave itself in place)
    this.#trying = attempt.finally(() => {
      if (this.#trying === tracked) this.#trying = null;
    });
    const tracked = this.#trying;
    return tracked;
  }

  async #stopAll(): Promise<void> {
    const stops = [...this.#stops.values()].reverse();
    this.#stops.clear();
    for (const stop of stops) await stop().catch(() => undefined);
  }
}
