import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import Fastify from 'fastify';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { S3HttpRequest, S3HttpResponse, S3Service } from '../s3/index.js';
import { ServerMetrics } from './metrics.js';
import { AuditUnavailableError, S3RequestError, isCofferError } from '../domain/errors.js';
import { errorResponse, toS3Error } from '../s3/s3-errors.js';
import { RequestAudit } from '../service/request-audit.js';
import { auditedFrameworkErrors, closeOutcome, noteRefusal, registerAuditOutcome } from './audit-outcome.js';
import { RequestBody } from './request-body.js';
import { destroySafely } from '../streams/index.js';

/** What the S3 listener needs. */
export interface S3AppDeps {
  s3: S3Service;
  logLevel?: string;
  logStream?: NodeJS.WritableStream;
  tls?: { certFile: string; keyFile: string } | null;
  metrics?: ServerMetrics;
  /** Reverse proxies whose `X-Forwarded-For` gives the client address (`trustProxy`); default none. */
  trustProxy?: readonly string[];
}

/** S3-style request id: 16 uppercase hex characters. */
function requestId(): string {
  return randomBytes(8).toString('hex').toUpperCase();
}

/**
 * The S3-compatible endpoint: a Fastify instance of its own (its own address, see
 * config `s3Listen`), path-style addressing, every method on every path handed to
 * the S3 service. Bodies are never parsed here: the raw request stream goes to the
 * service (signature, aws-chunked and checksum checks happen there, streaming).
 * `Expect: 100-continue` is answered only when the service starts reading the body,
 * so a refused request never uploads its body. Logs never carry query strings
 * (presigned signatures and session tokens live there) nor authorization headers.
 */
export async function buildS3App(deps: S3AppDeps): Promise<FastifyInstance> {
  const metrics = deps.metrics ?? new ServerMetrics();
  // every request ends in exactly one audit outcome (server/audit-outcome.ts); the S3 service records
  // its own refusals and operations, this closes the rest (a path that is not a path, a method S3 lacks, the rate limit)
  const requests = deps.s3.ctx.deps.audit;
  if (!(requests instanceof RequestAudit)) throw new Error('the S3 service must be built on CofferService.deps (its audit log tracks requests)');
  const outcome = {
    requests,
    callerOf: () => null,
    resourceOf: (request: FastifyRequest) => `s3:${request.method} ${(request.raw.url ?? '/').split('?')[0]!.slice(0, 300)}`,
    metaOf: (request: FastifyRequest) => ({ requestId: request.id, sourceIp: request.ip, userAgent: typeof request.headers['user-agent'] === 'string' ? request.headers['user-agent'].slice(0, 200) : '' }),
  };
  const unavailable = (request: FastifyRequest, reply: FastifyReply) => {
    void reply.type('application/xml');
    return s3ErrorBody(new AuditUnavailableError(), request);
  };
  const app = Fastify({
    // a path that does not even decode (bad escapes, escapes that are not UTF-8 such as `%C3%28` or
    // an overlong `%C0%AE`) is refused (and recorded) before any hook, in S3's format (400 InvalidURI, XML)
    frameworkErrors: auditedFrameworkErrors(() => ({ ...outcome, unavailable }), (error, request, reply) => {
      const badUrl = (error as { code?: string }).code === 'FST_ERR_BAD_URL';
      const refusal = badUrl ? new S3RequestError('couldn\'t parse the specified URI', { s3Code: 'InvalidURI' }) : new S3RequestError('the request is not valid', { s3Code: 'InvalidRequest' });
      void reply.code(400).type('application/xml').send(s3ErrorBody(refusal, request));
    }),
    logger: {
      level: deps.logLevel ?? 'info',
      serializers: {
        req: (req: { method?: string; url?: string; id?: string }) => ({ method: req.method, path: (req.url ?? '').split('?')[0]!.slice(0, 300), id: req.id }),
      },
      redact: { paths: ['req.headers.authorization', 'req.headers["x-amz-security-token"]'], censor: '[redacted]' },
      ...(deps.logStream ? { stream: deps.logStream } : {}),
    },
    genReqId: requestId,
    ...(deps.trustProxy !== undefined && deps.trustProxy.length > 0 ? { trustProxy: [...deps.trustProxy] } : {}),
    requestIdHeader: false,
    exposeHeadRoutes: false,
    return503OnClosing: true,
    // S3 keys may be long and carry any character; the router only sees the wildcard
    routerOptions: { maxParamLength: 4096 },
    ...(deps.tls ? { https: { cert: readFileSync(deps.tls.certFile), key: readFileSync(deps.tls.keyFile) } } : {}),
  });
  // answer `100 Continue` ourselves, once the request has been authenticated and authorized
  app.server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => app.server.emit('request', req, res));

  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_request, _payload, done) => done(null));

  registerAuditOutcome(app, {
    ...outcome,
    clock: deps.s3.ctx.deps.clock,
    hasCredential: (request) => request.headers.authorization !== undefined || /[?&](X-Amz-Signature|Signature)=/i.test(request.url),
    unavailable,
  });
  app.setErrorHandler((err, request, reply) => {
    // refusals of the hooks (rate limit) in S3's own format
    const info = toS3Error(err, 'NoSuchKey');
    noteRefusal(request, isCofferError(err) ? err.code : info.code);
    void reply.code(info.status).type('application/xml').send(s3ErrorBody(err, request));
  });

  const handler = async (request: FastifyRequest, reply: FastifyReply) => {
    const raw = request.raw;
    const url = raw.url ?? '/';
    const q = url.indexOf('?');
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(request.headers)) {
      if (value === undefined) continue;
      headers[name] = Array.isArray(value) ? value.join(',') : value;
    }
    // INVARIANT: the body is owned by one RequestBody from the first byte to the answer (errors
    // handled whatever the service does with it); the client going away aborts the signal
    const body = new RequestBody(raw, reply.raw, { deferContinue: true });
    const s3Request: S3HttpRequest = {
      method: raw.method ?? 'GET',
      rawPath: q < 0 ? url : url.slice(0, q),
      rawQuery: q < 0 ? '' : url.slice(q + 1),
      headers,
      body: body.stream,
      meta: { requestId: request.id, sourceIp: request.ip, userAgent: headers['user-agent'] ?? '' },
      signal: body.signal,
      proceed: () => body.proceed(),
    };
    try {
      let response = await deps.s3.handle(s3Request);
      const code = response.status >= 400 && typeof response.body === 'string' ? /<Code>([^<]{1,64})<\/Code>/.exec(response.body)?.[1] : undefined;
      if (!(await closeOutcome(request, response.status, outcome, code))) {
        // INVARIANT: no outcome on record, no answer (fail closed)
        if (response.body instanceof Readable) destroySafely(response.body);
        response = { status: 503, headers: { 'content-type': 'application/xml' }, body: s3ErrorBody(new AuditUnavailableError(), request) };
      }
      // the service is done with the body: a rest it did not read is discarded before the answer
      const keep = await body.settle();
      reply.hijack();
      await send(reply, s3Request.method, response, metrics, keep);
    } finally {
      body.dispose();
    }
  };
  app.route({ method: ['GET', 'HEAD', 'PUT', 'POST', 'DELETE'], url: '/', handler });
  app.route({ method: ['GET', 'HEAD', 'PUT', 'POST', 'DELETE'], url: '/*', handler });
  app.setNotFoundHandler((request, reply) => {
    noteRefusal(request, 'MethodNotAllowed');
    void reply.code(405).header('content-type', 'application/xml').send('<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>MethodNotAllowed</Code><Message>the specified method is not allowed</Message></Error>');
  });
  return app;
}

/** The S3 XML error document of `err` for `request`. */
function s3ErrorBody(err: unknown, request: FastifyRequest): string {
  const info = toS3Error(err, 'NoSuchKey');
  const body = errorResponse(info, (request.raw.url ?? '/').split('?')[0]!.slice(0, 1024), request.id, 'GET').body;
  return typeof body === 'string' ? body : '';
}

/** Writes an S3 answer on the raw response (exact headers, no body on HEAD or 304). */
async function send(reply: FastifyReply, method: string, response: S3HttpResponse, metrics: ServerMetrics, keepConnection: boolean): Promise<void> {
  const res = reply.raw;
  const headers: Record<string, string> = { server: 'Coffer', ...response.headers };
  // a body we stopped reading cannot be drained safely: close the connection after answering
  if (!keepConnection) headers.connection = 'close';
  const body = response.body;
  const noBody = method === 'HEAD' || response.status === 304 || response.status === 204;
  if (typeof body === 'string' || Buffer.isBuffer(body)) {
    const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
    if (headers['content-length'] === undefined) headers['content-length'] = String(bytes.length);
    res.writeHead(response.status, headers);
    res.end(noBody ? undefined : bytes);
    return;
  }
  if (body instanceof Readable) {
    if (noBody) {
      body.destroy();
      res.writeHead(response.status, headers);
      res.end();
      return;
    }
    if (headers['content-length'] === undefined) headers['transfer-encoding'] = 'chunked';
    res.writeHead(response.status, headers);
    let sent = 0;
    body.on('data', (chunk: Buffer) => (sent += chunk.length));
    try {
      await pipeline(body, res);
      if (method === 'GET') metrics.bytes.inc({ direction: 'out' }, sent);
    } catch {
      // a streamed body failed half-way (client gone, tampered segment): cutting the connection is the only honest signal
      res.destroy();
    }
    return;
  }
  if (method !== 'HEAD' && headers['content-length'] === undefined) headers['content-length'] = '0';
  res.writeHead(response.status, headers);
  res.end();
}

/** A listening S3 endpoint. */
export interface S3Listener {
  app: FastifyInstance;
  /** Base URL for clients' `endpoint_url`, e.g. `http://127.0.0.1:7072`. */
  url: string;
}

/** The default `s3Listen`. */
const DEFAULT_S3 = { host: '127.0.0.1', port: 7072 };

/**
 * Starts the S3 listener on `s3Listen` (null: disabled, returns null). When the main
 * listener uses an ephemeral port (tests), the S3 listener does too. When the default
 * address is taken (a second Coffer on the machine), it warns and returns null; an
 * explicitly configured address that is taken is an error.
 */
export async function listenS3(
  s3: S3Service,
  config: { s3Listen: { host: string; port: number } | null; listen: { port: number }; logLevel: string; tls: { certFile: string; keyFile: string } | null; trustProxy?: readonly string[] },
  options: { logStream?: NodeJS.WritableStream; warn?: (message: string) => void; metrics?: ServerMetrics } = {},
): Promise<S3Listener | null> {
  if (config.s3Listen === null) return null;
  const app = await buildS3App({ s3, logLevel: config.logLevel, tls: config.tls, ...(config.trustProxy ? { trustProxy: config.trustProxy } : {}), ...(options.metrics ? { metrics: options.metrics } : {}), ...(options.logStream ? { logStream: options.logStream } : {}) });
  try {
    await app.listen({ host: config.s3Listen.host, port: config.listen.port === 0 ? 0 : config.s3Listen.port });
  } catch (err) {
    await app.close();
    // the default address taken (another Coffer on this machine): serve without S3 rather than not at all
    if ((err as { code?: string }).code === 'EADDRINUSE' && config.s3Listen.host === DEFAULT_S3.host && config.s3Listen.port === DEFAULT_S3.port) {
      (options.warn ?? ((m: string) => process.emitWarning(m, 'CofferWarning')))(`the S3 endpoint's default address ${DEFAULT_S3.host}:${DEFAULT_S3.port} is in use: S3 endpoint disabled (set s3Listen)`);
      return null;
    }
    throw err;
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : config.s3Listen.port;
  const host = config.s3Listen.host.includes(':') ? `[${config.s3Listen.host}]` : config.s3Listen.host;
  return { app, url: `${config.tls ? 'https' : 'http'}://${host}:${port}` };
}
