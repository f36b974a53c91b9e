/**
 * Harness of the S3 integration tests: a real Coffer (SQLite + disk in a temp dir)
 * with its REST listener and its S3 listener on 127.0.0.1 (ephemeral ports), an admin,
 * and helpers to make users, grants and temporary S3 credentials.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import pg from 'pg';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CofferClient } from '../../src/client/index.js';
import { S3CredentialsClient, type S3Credentials } from '../../src/client/s3-client.js';
import { loadConfig } from '../../src/config/index.js';
import { startServer } from '../../src/main.js';
import { openRuntime, type Runtime } from '../../src/runtime/open-runtime.js';
import { buildApp } from '../../src/server/app.js';
import { listenS3 } from '../../src/server/s3-app.js';

/** A running Coffer with its S3 endpoint. */
export interface S3Harness {
  url: string;
  s3Url: string;
  dir: string;
  runtime: Runtime;
  adminToken: string;
  admin: CofferClient;
  /** Creates a user and returns an API token of it. */
  user(name: string): Promise<string>;
  /** Temporary S3 credentials for the holder of `token`. */
  credentials(token: string, ttlSeconds?: number): Promise<S3Credentials>;
  /** Every audit record so far (JSON Lines of the export, parsed). */
  audit(): Promise<Array<{ body: { action: string; resource: string; outcome: string; decision: string; actor: { name: string } | null; reason: string | null; context: Record<string, unknown>; requestId: string } }>>;
  close(): Promise<void>;
}

/** Starts Coffer in this process. With `clock`, time can be moved (credential expiry). */
export async function startS3Harness(options: { clock?: () => number; flags?: Record<string, unknown>; postgresUrl?: string } = {}): Promise<S3Harness> {
  const dir = mkdtempSync(join(tmpdir(), 'coffer-s3-'));
  const database = options.postgresUrl === undefined ? null : await freshDatabase(options.postgresUrl);
  const config = loadConfig({ flags: { dataDir: join(dir, 'data'), listen: '127.0.0.1:0', logLevel: 'silent', ...(database ? { databaseUrl: database.url } : {}), ...options.flags } });
  let url: string;
  let s3Url: string;
  let runtime: Runtime;
  let setupToken: string | null = null;
  let stop: () => Promise<void>;
  if (options.clock === undefined) {
    const server = await startServer(config, { printSetupToken: (t) => (setupToken = t) });
    url = server.url;
    s3Url = server.s3Url!;
    runtime = server.runtime;
    stop = async () => {
      server.app.server.closeAllConnections();
      await server.close();
    };
  } else {
    runtime = await openRuntime(config, { clock: options.clock, warn: () => undefined });
    setupToken = runtime.setupToken;
    const app = await buildApp({ service: runtime.service, ready: () => runtime.store.ping(), logLevel: 'silent', maxJsonBytes: config.maxJsonBytes, extensions: runtime.routes, publicRoutes: runtime.publicRoutes });
    await app.listen({ host: '127.0.0.1', port: 0 });
    const address = app.server.address();
    url = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`;
    const s3 = (await listenS3(runtime.s3, config))!;
    s3Url = s3.url;
    const r = runtime;
    stop = async () => {
      for (const a of [s3.app, app]) {
        a.server.closeAllConnections();
        await a.close();
      }
      await r.close();
    };
  }
  const { token: adminToken } = await new CofferClient({ baseUrl: url }).bootstrap({ setupToken: setupToken!, name: 'admin' });
  const admin = new CofferClient({ baseUrl: url, token: adminToken });
  let closed: Promise<void> | null = null;
  const rt = runtime;
  return {
    url,
    s3Url,
    dir,
    runtime,
    adminToken,
    admin,
    async user(name: string) {
      await admin.createPrincipal({ kind: 'user', name });
      return (await admin.createToken({ principal: name })).token;
    },
    credentials: (token: string, ttlSeconds?: number) => new S3CredentialsClient({ baseUrl: url, token }).issue({ ...(ttlSeconds ? { ttlSeconds } : {}) }),
    async audit() {
      await rt.audit.flush().catch(() => undefined);
      const stream = await admin.exportAudit(1);
      let text = '';
      for await (const chunk of stream) text += String(chunk);
      return text
        .split('\n')
        .filter((l) => l.trim() !== '')
        .map((l) => JSON.parse(l) as { checkpoint?: unknown; body: never })
        .filter((r) => r.checkpoint === undefined);
    },
    close: () =>
      (closed ??= (async () => {
        await rt.audit.flush().catch(() => undefined);
        await stop();
        await database?.drop();
        rmSync(dir, { recursive: true, force: true });
      })()),
  };
}

/** A database created next to `url`'s for one harness, dropped at close. */
async function freshDatabase(url: string): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `coffer_s3e_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  await admin.query(`create database ${name}`).finally(() => admin.end());
  const fresh = new URL(url);
  fresh.pathname = `/${name}`;
  return {
    url: fresh.toString(),
    drop: async () => {
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      await c.query(`drop database if exists ${name} with (force)`).finally(() => c.end());
    },
  };
}
