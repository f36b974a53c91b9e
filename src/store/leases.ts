/** Starts a singleton job on the node that just took its lease; returns the function that stops it. */
export type SingletonStart = () => () => Promise<void>;

/**
 * Singleton jobs (detectors, sweepers, reminders, checkpoints, expiry): each runs on one
 * node at a time, the one holding its lease. Every node registers every job; the nodes
 * that do not hold a lease keep trying, so when the holder dies another takes the job
 * over within a retry period.
 *
 * INVARIANT: a job runs only while its lease is held; when the lease is lost (the
 * connection that holds it drops) the job is stopped at once.
 */
export interface Leases {
  /** Registers `start` to run under lease `name` (a short stable name such as `monitor`). */
  run(name: string, start: SingletonStart): void;
  /** Whether this node holds lease `name` now. */
  holds(name: string): boolean;
  /** Starts taking leases. */
  start(): Promise<void>;
  /** Stops every job this node runs and gives its leases up. */
  close(): Promise<void>;
}

/** Leases of a single-node install (SQLite): this node holds every lease. */
export class LocalLeases implements Leases {
  readonly #jobs = new Map<string, SingletonStart>();
  readonly #stops = new Map<string, () => Promise<void>>();
  #started = false;

  run(name: string, start: SingletonStart): void {
    this.#jobs.set(name, start);
    if (this.#started) this.#stops.set(name, start());
  }

  holds(name: string): boolean {
    return this.#stops.has(name);
  }

  async start(): Promise<void> {
    this.#started = true;
    for (const [name, start] of this.#jobs) if (!this.#stops.has(name)) this.#stops.set(name, start());
  }

  async close(): Promise<void> {
    const stops = [...this.#stops.values()].reverse();
    this.#stops.clear();
    for (const stop of stops) await stop().catch(() => undefined);
  }
}
