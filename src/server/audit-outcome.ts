import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { RateLimitedError } from '../domain/errors.js';
import type { Caller, RequestMeta } from '../service/index.js';
import { actorOf, auditContext } from '../service/index.js';
import type { RequestAudit } from '../service/request-audit.js';
import { redactUrl } from './share-links.js';

/** How one listener tells what the audit hook needs about its requests. */
export interface AuditOutcomeOptions {
  requests: RequestAudit;
  clock: () => number;
  /** True if the request presents a credential (bearer token, request signature). */
  hasCredential: (request: FastifyRequest) => boolean;
  /** The authenticated caller, once known (null for public routes and refusals before authentication). */
  callerOf: (request: FastifyRequest) => Caller | null;
  /** What a closing record names: `METHOD /path` without query and with secrets redacted. */
  resourceOf: (request: FastifyRequest) => string;
  metaOf: (request: FastifyRequest) => RequestMeta;
  /** The body of a 503 when the closing record cannot be written, in the listener's format. */
  unavailable: (request: FastifyRequest, reply: FastifyReply) => string;
}

/** Catalog codes of the refusals answered so far, by request (set by the listeners' error handlers). */
const refusals = new WeakMap<FastifyRequest, string>();

/** Remembers the catalog (or S3) code a request was refused with, for its closing record. */
export function noteRefusal(request: FastifyRequest, code: string): void {
  refusals.set(request, code);
}

/**
 * The framework half of "one audit outcome per request", registered once per listener
 * (REST and public routes, S3), so no route can forget it:
 *
 * - onRequest: the request is opened in the ledger (its id goes out as `x-request-id`); a source over its budget of
 *   unauthenticated refusals is answered 429 `COFFER_RATE_LIMITED` (S3: SlowDown)
 *   before anything else runs (with a credential, only past twice the budget).
 * - onSend: a request that ends with no outcome on record (schema validation, unknown
 *   route, rate limit, a lookup that failed before the Gate, a public route) gets
 *   exactly one, written before the answer leaves: if it cannot be written, the answer
 *   becomes 503 `COFFER_AUDIT_UNAVAILABLE` (fail closed).
 * - onResponse: attempts the use cases left without a completion are closed with a
 *   `failure` record, and the request is forgotten.
 *
 * The Gate adds the decisions (attempt, denied, success, failure); this hook only
 * closes what is left open. Answers written by hand (S3 hijacks its replies) call
 * {@link closeOutcome} before writing.
 */
export function registerAuditOutcome(app: FastifyInstance, options: AuditOutcomeOptions): void {
  const { requests } = options;
  app.addHook('onRequest', async (request, reply) => {
    requests.ledger.open(request.id);
    // the id the audit records carry, so a client (or an operator) can find them
    void reply.header('x-request-id', request.id);
    const wait = requests.anonymous.throttled(request.ip, options.hasCredential(request), options.clock());
    if (wait > 0) {
      void reply.header('retry-after', String(wait));
      throw new RateLimitedError('too many unauthenticated requests from your address: try again later');
    }
  });
  app.addHook('onSend', async (request, reply, payload) => {
    if (await closeOutcome(request, reply.statusCode, options)) return payload;
    // INVARIANT: no outcome on record, no answer: fail closed
    void reply.code(503);
    return options.unavailable(request, reply);
  });
  app.addHook('onResponse', async (request, reply) => {
    // a tick later: a download's own completion (meterPlaintext) lands first when the socket closes
    await new Promise<void>((resolve) => setImmediate(resolve));
    await requests.endRequest(request.id, refusals.get(request) ?? (reply.statusCode >= 400 ? `HTTP_${reply.statusCode}` : null));
  });
}

/**
 * Fastify's `frameworkErrors` handler (a URL that does not decode, reached before any
 * hook runs): records the refusal as the hook would, then lets `respond` answer (or
 * answers 503 if the record cannot be written).
 */
export function auditedFrameworkErrors(
  options: () => Pick<AuditOutcomeOptions, 'requests' | 'callerOf' | 'resourceOf' | 'metaOf' | 'unavailable'>,
  respond: (error: Error, request: FastifyRequest, reply: FastifyReply) => void,
): (error: Error, request: FastifyRequest, reply: FastifyReply) => void {
  return (error, request, reply) => {
    const o = options();
    o.requests.ledger.open(request.id);
    void reply.header('x-request-id', request.id);
    void closeOutcome(request, 400, o, 'COFFER_VALIDATION_FAILED').then((ok) => {
      if (ok) respond(error, request, reply);
      else void reply.code(503).send(o.unavailable(request, reply));
      void o.requests.endRequest(request.id, null);
    });
  };
}

/**
 * Writes the closing record of a request that has no outcome on record and no attempt
 * open (else nothing). False if it was needed and could not be written.
 */
export async function closeOutcome(request: FastifyRequest, status: number, options: Pick<AuditOutcomeOptions, 'requests' | 'callerOf' | 'resourceOf' | 'metaOf'>, reason?: string): Promise<boolean> {
  const state = options.requests.ledger.state(request.id);
  if (state === null || state.outcomes > 0 || state.open.size > 0) return true;
  // INVARIANT: what the record names is derived without throwing from any request, even one
  // whose URL does not decode (reached before routing: no caller, no route): only a failed write refuses
  const caller = callerSafely(request, options);
  try {
    await options.requests.closeRequest({
      requestId: request.id,
      actor: caller === null ? null : actorOf(caller.subject.principal),
      resource: resourceSafely(request, options),
      status,
      reason: reason ?? refusals.get(request) ?? (status >= 400 ? `HTTP_${status}` : null),
      context: auditContext(metaSafely(request, options), caller?.context),
    });
    return true;
  } catch {
    return false;
  }
}

/** The caller a listener knows for the request; null when it has none (or cannot tell: a request that never reached a route). */
function callerSafely(request: FastifyRequest, options: Pick<AuditOutcomeOptions, 'callerOf'>): Caller | null {
  try {
    return options.callerOf(request) ?? null;
  } catch {
    return null;
  }
}

/**
 * The resource a closing record names: the listener's own name for it when it can derive
 * one, else {@link rawResourceOf}. Never throws.
 */
function resourceSafely(request: FastifyRequest, options: Pick<AuditOutcomeOptions, 'resourceOf'>): string {
  try {
    const named = options.resourceOf(request);
    if (typeof named === 'string' && named !== '') return printable(named);
  } catch {
    // falls through to the raw URL
  }
  return rawResourceOf(request.raw.method, request.raw.url);
}

/**
 * `METHOD /path` from a raw request line, whatever it holds (escapes that do not decode,
 * bytes that are not UTF-8, control characters): the query cut, secrets redacted as in
 * the logs, anything unprintable escaped, at most 300 characters. Never throws.
 */
export function rawResourceOf(method: string | undefined, url: string | undefined): string {
  const path = (url ?? '/').split('?')[0]!.slice(0, 600);
  return printable(`${(method ?? 'UNKNOWN').slice(0, 20)} ${redactUrl(path)}`);
}

/** `text` with control characters and lone surrogates as `%XX` / `\\u{...}` (a record is one printable line), at most 300 characters. */
function printable(text: string): string {
  let out = '';
  for (const ch of text.slice(0, 300)) {
    const c = ch.codePointAt(0)!;
    if (c < 0x20 || (c >= 0x7f && c < 0xa0)) out += `%${c.toString(16).toUpperCase().padStart(2, '0')}`;
    else if (c >= 0xd800 && c <= 0xdfff) out += `\\u{${c.toString(16)}}`;
    else out += ch;
  }
  return out.slice(0, 300);
}

/** The request's meta as the listener derives it, or the least the socket tells. Never throws. */
function metaSafely(request: FastifyRequest, options: Pick<AuditOutcomeOptions, 'metaOf'>): RequestMeta {
  try {
    return options.metaOf(request);
  } catch {
    return { requestId: request.id, sourceIp: request.raw.socket?.remoteAddress ?? '', userAgent: '' };
  }
}
