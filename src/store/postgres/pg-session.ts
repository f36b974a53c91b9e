import pg from 'pg';

/** How long to wait before connecting again after a dedicated connection was lost (ms). */
export const RECONNECT_MS = 1000;

/**
 * One dedicated PostgreSQL connection (outside the pool), kept open: LISTEN and
 * session-level advisory locks live on a connection, so they need one that is never
 * handed to another query. When it drops, `onLost` runs at once and a new connection
 * is made after {@link RECONNECT_MS}; `onConnect` runs on each new one.
 * TCP keepalive is on, so a dead peer (server or network) is noticed, not waited on.
 */
export class PgSession {
  #client: pg.Client | null = null;
  #closed = false;
  #timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly url: string,
    private readonly hooks: { name: string; onConnect: (client: pg.Client) => Promise<void>; onLost: () => void; warn: (message: string, detail: Record<string, unknown>) => void },
  ) {}

  /** The open connection, or null while (re)connecting. */
  get client(): pg.Client | null {
    return this.#client;
  }

  /** Connects once (resolves even if it fails: it keeps trying in the background). */
  async start(): Promise<void> {
    await this.#connect();
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer !== null) clearTimeout(this.#timer);
    const c = this.#client;
    this.#client = null;
    await c?.end().catch(() => undefined);
  }

  async #connect(): Promise<void> {
    if (this.#closed) return;
    const client = new pg.Client({ connectionString: this.url, application_name: `coffer-${this.hooks.name}`, keepAlive: true, connectionTimeoutMillis: 10_000 });
    let lost = false;
    const drop = (err?: Error) => {
      if (lost) return;
      lost = true;
      if (this.#client === client) this.#client = null;
      client.end().catch(() => undefined);
      if (this.#closed) return;
      this.hooks.warn(`${this.hooks.name} connection lost`, { message: err?.message ?? 'ended' });
      this.hooks.onLost();
      this.#timer = setTimeout(() => void this.#connect(), RECONNECT_MS);
      this.#timer.unref();
    };
    // INVARIANT: an error on this connection never reaches the process as an uncaught event
    client.on('error', drop);
    client.on('end', () => drop());
    try {
      await client.connect();
      if (this.#closed) {
        await client.end().catch(() => undefined);
        return;
      }
      this.#client = client;
      await this.hooks.onConnect(client);
    } catch (err) {
      drop(err instanceof Error ? err : new Error(String(err)));
    }
  }
}
