import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { loadConfig } from '../../src/config/index.js';
import type { Config } from '../../src/config/index.js';
import { openRuntime } from '../../src/runtime/open-runtime.js';
import type { Runtime } from '../../src/runtime/open-runtime.js';
import { buildApp } from '../../src/server/app.js';

/** A real runtime (SQLite + disk in a temp dir) and its Fastify app, driven with inject(). */
export interface AppHarness {
  app: FastifyInstance;
  runtime: Runtime;
  config: Config;
  dir: string;
  /** Everything the server logged. */
  logs: () => string;
  /** Admin token (user `admin`). */
  adminToken: string;
  /** Creates a user and returns a token for it. */
  user(name: string): Promise<string>;
  close(): Promise<void>;
}

export async function openAppHarness(flags: Record<string, unknown> = {}, options: { clock?: () => number } = {}): Promise<AppHarness> {
  const dir = mkdtempSync(join(tmpdir(), 'coffer-app-'));
  const config = loadConfig({ flags: { dataDir: dir, listen: '127.0.0.1:0', logLevel: 'info', ...flags } });
  const runtime = await openRuntime(config, { warn: () => undefined, ...(options.clock ? { clock: options.clock } : {}) });
  const logStream = new PassThrough();
  let logText = '';
  logStream.on('data', (c: Buffer) => (logText += c.toString('utf8')));
  const app = await buildApp({ service: runtime.service, ready: () => runtime.store.ping(), logLevel: 'info', maxJsonBytes: config.maxJsonBytes, logStream, extensions: runtime.routes, publicRoutes: runtime.publicRoutes, metricsToken: config.metrics.token });
  const boot = await app.inject({ method: 'POST', url: '/v1/bootstrap', payload: { setupToken: runtime.setupToken, name: 'admin' } });
  if (boot.statusCode !== 201) throw new Error(`bootstrap failed: ${boot.body}`);
  const adminToken = boot.json<{ token: string }>().token;
  return {
    app,
    runtime,
    config,
    dir,
    logs: () => logText,
    adminToken,
    async user(name: string) {
      const auth = { authorization: `Bearer ${adminToken}` };
      const created = await app.inject({ method: 'POST', url: '/v1/principals', headers: auth, payload: { kind: 'user', name } });
      if (created.statusCode !== 201) throw new Error(`user create failed: ${created.body}`);
      const token = await app.inject({ method: 'POST', url: '/v1/tokens', headers: auth, payload: { principal: name } });
      if (token.statusCode !== 201) throw new Error(`token create failed: ${token.body}`);
      return token.json<{ token: string }>().token;
    },
    async close() {
      await app.close();
      await runtime.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Authorization header for a token. */
export function bearer(token: string): { authorization: string } {
  return { authorization: `Bearer ${token}` };
}
