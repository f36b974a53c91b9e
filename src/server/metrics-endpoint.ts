import { createHash, timingSafeEqual } from 'node:crypto';
import Fastify from 'fastify';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Registry } from 'prom-client';
import { AuditUnavailableError, AuthRequiredError, RouteNotFoundError, TokenInvalidError } from '../domain/errors.js';
import type { CofferService } from '../service/index.js';
import { registerAuditOutcome } from './audit-outcome.js';
import { errorHandler } from './error-handler.js';

/** Who may read `/metrics` and what it shows. */
export interface MetricsAccess {
  /** The scrape token (`metricsToken`); null: no token is asked (only on a separate listener). */
  token: string | null;
  /** The registries served, the server's own first. */
  registries: Registry[];
}

const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();

/**
 * Registers `GET /metrics` on `app`. With a token, the request must carry
 * `Authorization: Bearer <token>`: absent is 401 `COFFER_AUTH_REQUIRED`, wrong is 401
 * `COFFER_AUTH_TOKEN_INVALID` (compared as SHA-256 digests in constant time). The
 * counts (locks, alerts, traffic per route) tell an outsider what the server watches
 * and what it is busy with: they are for the operator's scraper only.
 */
export function registerMetricsRoute(app: FastifyInstance, access: MetricsAccess): void {
  const expected = access.token === null ? null : digest(access.token);
  app.get('/metrics', { schema: { hide: true } }, async (request, reply) => {
    if (expected !== null) {
      const h = request.headers.authorization;
      const m = typeof h === 'string' ? /^Bearer\s+(\S+)$/i.exec(h) : null;
      if (m === null) throw new AuthRequiredError('`/metrics` needs the metrics token (Authorization: Bearer)');
      // INVARIANT: constant-time compare of equal-length digests
      if (!timingSafeEqual(digest(m[1]!), expected)) throw new TokenInvalidError();
    }
    const texts = await Promise.all(access.registries.map((r) => r.metrics()));
    return reply.type(access.registries[0]?.contentType ?? 'text/plain; version=0.0.4').send(texts.join('\n'));
  });
}

/**
 * Builds the separate metrics listener (`metricsListen`): `/metrics` and nothing else,
 * audited like every listener (a scraper's requests are coalesced per source and
 * minute, as all unauthenticated successes are).
 */
export async function buildMetricsApp(service: CofferService, access: MetricsAccess, options: { trustProxy?: readonly string[] } = {}): Promise<FastifyInstance> {
  const app = Fastify({ logger: false, ...(options.trustProxy !== undefined && options.trustProxy.length > 0 ? { trustProxy: [...options.trustProxy] } : {}) });
  app.setErrorHandler(errorHandler);
  app.setNotFoundHandler((request, reply) => {
    errorHandler(new RouteNotFoundError('this listener serves `/metrics` only'), request, reply);
  });
  registerAuditOutcome(app, {
    requests: service.requests,
    clock: service.deps.clock,
    hasCredential: (request) => request.headers.authorization !== undefined,
    callerOf: () => null,
    resourceOf: (request: FastifyRequest) => `metrics:${request.method} ${(request.raw.url ?? '/').split('?')[0]!.slice(0, 200)}`,
    metaOf: (request: FastifyRequest) => ({ requestId: request.id, sourceIp: request.ip, userAgent: typeof request.headers['user-agent'] === 'string' ? request.headers['user-agent'].slice(0, 200) : '' }),
    unavailable: (request: FastifyRequest, reply: FastifyReply) => {
      void reply.type('application/json; charset=utf-8');
      const e = new AuditUnavailableError();
      return JSON.stringify({ error: { code: e.code, message: e.message, requestId: request.id } });
    },
  });
  registerMetricsRoute(app, access);
  return app;
}

/** A listening metrics endpoint. */
export interface MetricsListener {
  app: FastifyInstance;
  url: string;
}

/** Starts the metrics listener on `listen` (an ephemeral port when the main listener's is 0, as for S3). */
export async function listenMetrics(service: CofferService, access: MetricsAccess, listen: { host: string; port: number }, mainPort: number, trustProxy: readonly string[]): Promise<MetricsListener> {
  const app = await buildMetricsApp(service, access, { trustProxy });
  try {
    await app.listen({ host: listen.host, port: mainPort === 0 ? 0 : listen.port });
  } catch (err) {
    await app.close();
    throw err;
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : listen.port;
  const host = listen.host.includes(':') ? `[${listen.host}]` : listen.host;
  return { app, url: `http://${host}:${port}` };
}
