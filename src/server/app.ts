import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import Fastify from 'fastify';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import swagger from '@fastify/swagger';
import { Ajv } from 'ajv';
import addFormats from 'ajv-formats';
import type { CofferService, RequestMeta } from '../service/index.js';
import { AuditUnavailableError, RouteNotFoundError } from '../domain/errors.js';
import { auditedFrameworkErrors, registerAuditOutcome } from './audit-outcome.js';
import { errorHandler } from './error-handler.js';
import { logUrl, redactUrl } from './share-links.js';
import { ServerMetrics } from './metrics.js';
import { registerMetricsRoute } from './metrics-endpoint.js';
import type { Registry } from 'prom-client';
import { v1Routes } from './routes-v1.js';
import type { AuthenticatedRoutes } from './routes-v1.js';

/** What the HTTP layer needs from the composition root. */
export interface AppDeps {
  service: CofferService;
  /** Readiness: resolves when the database answers. */
  ready: () => Promise<void>;
  metrics?: ServerMetrics;
  logLevel?: string;
  maxJsonBytes?: number;
  tls?: { certFile: string; keyFile: string } | null;
  /** Where logs go (default stdout); tests pass a stream to inspect them. */
  logStream?: NodeJS.WritableStream;
  /** Feature routes registered in the authenticated /v1 scope. */
  extensions?: AuthenticatedRoutes[];
  /** Feature routes outside the authenticated scope (login, token endpoint, JWKS, SCIM, login pages); each authenticates what it needs itself. */
  publicRoutes?: PublicRoutes[];
  /** Prometheus registries of feature modules, served with the server's own at /metrics. */
  metricRegistries?: Registry[];
  /** The token `/metrics` asks for (`metricsToken`); absent or null: `/metrics` is not served here (see metrics-endpoint.ts). */
  metricsToken?: string | null;
  /** Reverse proxies whose `X-Forwarded-For` gives the client address (`trustProxy`); default none. */
  trustProxy?: readonly string[];
}

/** Paths whose values must never reach a log line. */
const REDACT = ['req.headers.authorization', 'req.headers.cookie', 'req.headers["x-coffer-setup-token"]', 'setupToken', 'token'];

/**
 * Builds the Fastify app: REST under /v1, health, readiness, metrics, OpenAPI.
 * No socket is opened here (tests use `app.inject()`); main.ts calls listen.
 */
export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const metrics = deps.metrics ?? new ServerMetrics();
  const outcome = {
    requests: deps.service.requests,
    clock: deps.service.deps.clock,
    hasCredential: (request: FastifyRequest) => request.headers.authorization !== undefined || request.headers['x-coffer-setup-token'] !== undefined || /^\/+v1\/+share\//i.test(request.url),
    callerOf: (request: FastifyRequest) => request.caller,
    resourceOf: (request: FastifyRequest) => `${request.method} ${logUrl(request).split('?')[0]!}`,
    metaOf,
    unavailable: (request: FastifyRequest, reply: FastifyReply) => {
      void reply.type('application/json; charset=utf-8');
      const e = new AuditUnavailableError();
      return JSON.stringify({ error: { code: e.code, message: e.message, requestId: request.id } });
    },
  };
  const app = Fastify({
    // a URL that does not even decode is refused (and recorded) before any hook
    // (in the catalog's format, as every error)
    frameworkErrors: auditedFrameworkErrors(() => outcome, (err, request, reply) => errorHandler(err, request, reply)),
    logger: {
      level: deps.logLevel ?? 'info',
      redact: { paths: REDACT, censor: '[redacted]' },
      // share-link URLs carry their secret: log the route pattern instead (server/share-links.ts)
      serializers: {
        req: (request: FastifyRequest) => ({ method: request.method, url: logUrl(request), host: request.host, remoteAddress: request.ip, remotePort: request.socket?.remotePort }),
      },
      ...(deps.logStream ? { stream: deps.logStream } : {}),
    },
    genReqId: () => randomUUID(),
    // the client address (audit, rate limit per source, trusted networks) comes from X-Forwarded-For only via a configured proxy
    ...(deps.trustProxy !== undefined && deps.trustProxy.length > 0 ? { trustProxy: [...deps.trustProxy] } : {}),
    requestIdHeader: false,
    bodyLimit: deps.maxJsonBytes ?? 1024 * 1024,
    exposeHeadRoutes: false,
    return503OnClosing: true,
    // client certificates are asked for but checked in code (identity: device CA), so clients without one still connect
    ...(deps.tls ? { https: { cert: readFileSync(deps.tls.certFile), key: readFileSync(deps.tls.keyFile), requestCert: true, rejectUnauthorized: false } } : {}),
  });

  // JSON bodies are validated without type coercion: `{"name": 12345}` is an error, not "12345".
  // Query strings and path parameters arrive as text, so they keep Fastify's coercing validator.
  const strict = new Ajv({ removeAdditional: false, coerceTypes: false, useDefaults: true, allErrors: false });
  addFormats.default(strict);
  const coercing = new Ajv({ removeAdditional: false, coerceTypes: 'array', useDefaults: true, allErrors: false });
  addFormats.default(coercing);
  app.setValidatorCompiler(({ schema, httpPart }) => (httpPart === 'body' ? strict.compile(schema) : coercing.compile(schema)));

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: 'Coffer API', version: '1', description: 'Zero-trust vault for ML artifacts' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
  });

  app.setErrorHandler(errorHandler);
  app.setNotFoundHandler((request, reply) => {
    errorHandler(new RouteNotFoundError(`no route for \`${request.method} ${redactUrl(request.url).split('?')[0]!.slice(0, 200)}\``), request, reply);
  });

  // every request ends in exactly one audit outcome, refusals before any route included (server/audit-outcome.ts)
  app.decorateRequest('caller', null);
  registerAuditOutcome(app, outcome);

  app.addHook('onRequest', async (_request, reply) => {
    void reply.header('x-content-type-options', 'nosniff');
    void reply.header('cache-control', 'no-store');
  });
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    metrics.requests.inc({ method: request.method, route, status: String(reply.statusCode) });
    metrics.duration.observe({ method: request.method, route }, reply.elapsedTime / 1000);
    if (reply.statusCode === 401 || reply.statusCode === 403 || reply.statusCode === 404) {
      metrics.decisions.inc({ code: String(reply.statusCode) });
    }
  });

  app.get('/v1/health', { schema: { hide: true } }, async () => ({ status: 'ok' }));
  app.get('/v1/ready', { schema: { hide: true } }, async (_request, reply) => {
    try {
      await deps.ready();
      return { status: 'ready' };
    } catch {
      return reply.code(503).send({ status: 'not-ready' });
    }
  });
  // INVARIANT: /metrics on the main listener only with its token (else not served here: a separate listener, or none)
  if (deps.metricsToken != null) registerMetricsRoute(app, { token: deps.metricsToken, registries: [metrics.registry, ...(deps.metricRegistries ?? [])] });
  app.get('/v1/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  await app.register(v1Routes, { prefix: '/v1', service: deps.service, metrics, extensions: deps.extensions ?? [] });
  for (const register of deps.publicRoutes ?? []) await app.register(async (scope: FastifyInstance) => register(scope));
  return app;
}

/**
 * Routes of a feature outside the authenticated /v1 scope, registered at the root in
 * their own encapsulated scope (they may add content-type parsers or hooks there).
 */
export type PublicRoutes = (app: FastifyInstance) => void | Promise<void>;

/** Transport facts of a request for the service layer. */
export function metaOf(request: FastifyRequest): RequestMeta {
  const ua = request.headers['user-agent'];
  const meta: RequestMeta = { requestId: request.id, sourceIp: request.ip, userAgent: typeof ua === 'string' ? ua : '' };
  const device = deviceProofOf(request);
  const clientCertificate = clientCertificateOf(request);
  return { ...meta, ...(device !== undefined ? { device } : {}), ...(clientCertificate !== undefined ? { clientCertificate } : {}) };
}

/** The DER of the TLS client certificate, if the connection is TLS and the client sent one (not yet verified). */
function clientCertificateOf(request: FastifyRequest): Buffer | undefined {
  const socket = request.raw.socket as { getPeerCertificate?: (detailed?: boolean) => { raw?: Buffer } };
  if (typeof socket?.getPeerCertificate !== 'function') return undefined;
  const raw = socket.getPeerCertificate(false).raw;
  return Buffer.isBuffer(raw) && raw.length > 0 && raw.length <= 16_384 ? raw : undefined;
}

/** A managed-device proof from the `x-coffer-device-*` headers, if all three are present. */
function deviceProofOf(request: FastifyRequest): RequestMeta['device'] {
  const h = (name: string) => (typeof request.headers[name] === 'string' ? request.headers[name].slice(0, 256) : undefined);
  const id = h('x-coffer-device-id');
  const time = h('x-coffer-device-time');
  const signature = h('x-coffer-device-signature');
  if (id === undefined || time === undefined || signature === undefined) return undefined;
  return { id, time, signature, method: request.method, path: request.url };
}

/** The bearer token of a request, if any. */
export function bearerOf(request: FastifyRequest): string | undefined {
  const h = request.headers.authorization;
  if (typeof h !== 'string') return undefined;
  const m = /^Bearer\s+(\S+)$/i.exec(h);
  return m ? m[1] : '';
}
