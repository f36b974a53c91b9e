/**
 * A real Coffer (runtime + Fastify app, SQLite in a temp dir) with a clock the test
 * moves, for the access module's integration tests. Routes: the authenticated /v1
 * scope with feature routes, and the public ones (share-link download), as main.ts
 * wires them. Driven with app.inject(), or listening on 127.0.0.1 when asked.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import { loadConfig } from '../../src/config/index.js';
import type { Config } from '../../src/config/index.js';
import { openRuntime } from '../../src/runtime/open-runtime.js';
import type { Runtime } from '../../src/runtime/open-runtime.js';
import { buildApp } from '../../src/server/app.js';
import { SoftAuthenticator } from './identity-harness.js';

/** The bootstrap administrator's password (set at bootstrap). */
export const ADMIN_PASSWORD = 'granite-compass-delta-5';
const USER_PASSWORD = 'quartz-meadow-falcon-77';

/** The harness: app, runtime, clock and helpers. */
export interface AccessHarness {
  app: FastifyInstance;
  runtime: Runtime;
  config: Config;
  /** Current time of the injected clock (epoch ms). */
  now(): number;
  /** Moves the clock to `t` (epoch ms). */
  setNow(t: number): void;
  advance(ms: number): void;
  logs(): string;
  adminToken: string;
  /** Creates a user (or a service account owned by `owner`) and a token for it. */
  principal(name: string, options?: { kind?: 'user' | 'service-account'; owner?: string }): Promise<string>;
  /** A fresh token for an existing principal (admin-issued). */
  token(name: string, ttlSeconds?: number): Promise<string>;
  /**
   * A session of user `name` that confirmed with its (software) security key just now:
   * a password login (the admin's from bootstrap, another user's set by the admin), the
   * key registered on first use, then a step-up. Returns the access token.
   */
  steppedUp(name: string): Promise<string>;
  call(token: string | null, method: InjectOptions['method'], url: string, payload?: unknown, extra?: Partial<InjectOptions>): Promise<LightMyRequestResponse>;
  /** Uploads `bytes` as a new version. */
  push(token: string, project: string, artifact: string, bytes: Buffer): Promise<{ number: number; sha256: string }>;
  /** Base URL once listen() was called. */
  listen(): Promise<string>;
  close(): Promise<void>;
}

/** Starts a harness. `flags` are config keys (e.g. `accessApprovalsRestricted: 2`). */
export async function openAccessHarness(flags: Record<string, unknown> = {}, start = Date.parse('2030-01-01T00:00:00Z')): Promise<AccessHarness> {
  const dir = mkdtempSync(join(tmpdir(), 'coffer-access-'));
  // service accounts may hold (expiring) API tokens here, so tests can act as one
  const config = loadConfig({ flags: { dataDir: dir, listen: '127.0.0.1:0', logLevel: 'info', servicePatMaxTtlSeconds: 86400, publicUrl: 'http://localhost:7443', ...flags } });
  let now = start;
  const clock = () => now;
  const runtime = await openRuntime(config, { clock, warn: () => undefined });
  const logStream = new PassThrough();
  let logText = '';
  logStream.on('data', (c: Buffer) => (logText += c.toString('utf8')));
  const app = await buildApp({
    service: runtime.service,
    ready: () => runtime.store.ping(),
    logLevel: 'info',
    maxJsonBytes: config.maxJsonBytes,
    logStream,
    extensions: runtime.routes,
    publicRoutes: runtime.publicRoutes,
  });
  const boot = await app.inject({ method: 'POST', url: '/v1/bootstrap', payload: { setupToken: runtime.setupToken, name: 'admin', password: ADMIN_PASSWORD } });
  if (boot.statusCode !== 201) throw new Error(`bootstrap failed: ${boot.body}`);
  const adminToken = boot.json<{ token: string }>().token;
  const auth = (token: string | null) => (token === null ? {} : { authorization: `Bearer ${token}` });
  const call: AccessHarness['call'] = (token, method, url, payload, extra = {}) =>
    app.inject({ ...extra, method, url, headers: { ...auth(token), ...(extra.headers ?? {}) }, ...(payload === undefined ? {} : { payload: payload as InjectOptions['payload'] }) });
  const token = async (name: string, ttlSeconds?: number) => {
    const t = await call(adminToken, 'POST', '/v1/tokens', { principal: name, ...(ttlSeconds ? { ttlSeconds } : {}) });
    if (t.statusCode !== 201) throw new Error(`token create failed: ${t.body}`);
    return t.json<{ token: string }>().token;
  };
  const keys = new Map<string, SoftAuthenticator>();
  const steppedUp = async (name: string): Promise<string> => {
    const must = (r: LightMyRequestResponse, what: string) => {
      if (r.statusCode >= 300) throw new Error(`${what} failed: ${r.statusCode} ${r.body}`);
      return r.body.length > 0 ? r.json<Record<string, unknown>>() : {};
    };
    const password = name === 'admin' ? ADMIN_PASSWORD : USER_PASSWORD;
    let first = await call(null, 'POST', '/v1/auth/login', { name, password });
    if (first.statusCode === 401 && name !== 'admin') {
      // no password yet (setting one ends the user's other credentials, so only when needed)
      must(await call(adminToken, 'PUT', '/v1/auth/password', { principal: name, password }), 'password');
      first = await call(null, 'POST', '/v1/auth/login', { name, password });
    }
    const session = must(first, 'login');
    let key = keys.get(name);
    if (session.status === 'mfa-required' && key !== undefined) {
      // the key is the second login step: the session starts with a fresh assertion
      const begun = must(await call(null, 'POST', '/v1/auth/login/webauthn/begin', { ticket: session.ticket }), 'webauthn login') as { ceremonyId: string; options: { challenge: string } };
      return must(await call(null, 'POST', '/v1/auth/login/webauthn/finish', { ceremonyId: begun.ceremonyId, response: key.assert(begun.options) }), 'webauthn login').accessToken as string;
    }
    const access = session.accessToken as string;
    if (key === undefined) {
      key = new SoftAuthenticator('http://localhost:7443');
      const reg = must(await call(access, 'POST', '/v1/auth/webauthn/registrations'), 'key registration') as { ceremonyId: string; options: { challenge: string; rp: { id?: string } } };
      must(await call(access, 'POST', '/v1/auth/webauthn/registrations/finish', { ceremonyId: reg.ceremonyId, response: key.register(reg.options) }), 'key registration');
      keys.set(name, key);
    }
    const up = must(await call(access, 'POST', '/v1/auth/step-up'), 'step-up') as { ceremonyId: string; options: { challenge: string } };
    must(await call(null, 'POST', '/v1/auth/step-up/finish', { ceremonyId: up.ceremonyId, response: key.assert(up.options) }), 'step-up');
    return access;
  };
  let url: string | null = null;
  return {
    steppedUp,
    app,
    runtime,
    config,
    now: () => now,
    setNow: (t) => (now = t),
    advance: (ms) => (now += ms),
    logs: () => logText,
    adminToken,
    async principal(name, options = {}) {
      const created = await call(adminToken, 'POST', '/v1/principals', { kind: options.kind ?? 'user', name, ...(options.owner ? { owner: options.owner } : {}) });
      if (created.statusCode !== 201) throw new Error(`principal create failed: ${created.body}`);
      return token(name, options.kind === 'service-account' ? 86400 : undefined);
    },
    token,
    call,
    async push(tok, project, artifact, bytes) {
      const r = await app.inject({
        method: 'POST',
        url: `/v1/projects/${project}/artifacts/${encodeURIComponent(artifact)}/versions`,
        headers: { ...auth(tok), 'content-type': 'application/octet-stream' },
        payload: bytes,
      });
      if (r.statusCode !== 201) throw new Error(`push failed: ${r.body}`);
      return r.json<{ number: number; sha256: string }>();
    },
    async listen() {
      if (url === null) {
        await app.listen({ host: '127.0.0.1', port: 0 });
        const address = app.server.address();
        url = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`;
      }
      return url;
    },
    async close() {
      await runtime.audit.flush().catch(() => undefined);
      if (url !== null) app.server.closeAllConnections();
      await app.close();
      await runtime.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A record body of the audit export. */
export interface AuditBody {
  seq: number;
  time: number;
  action: string;
  outcome: string;
  decision: string;
  resource: string;
  policies: string[];
  reason: string | null;
  actor: { id: string; name: string; kind: string } | null;
  context: Record<string, unknown>;
  bytes: number | null;
}

/** Reads the audit log as parsed record bodies. */
export async function auditRecords(runtime: Runtime): Promise<AuditBody[]> {
  await runtime.audit.flush();
  const out: AuditBody[] = [];
  for await (const line of runtime.audit.export(1)) {
    const rec = JSON.parse(line) as { body?: AuditBody };
    if (rec.body !== undefined) out.push(rec.body);
  }
  return out;
}
