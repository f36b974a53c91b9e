import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { RateLimitedError } from '../domain/errors.js';
import type { Caller, RequestMeta } from '../service/index.js';
import { actorOf, auditContext } from '../service/index.js';
import type { RequestAudit } from '../service/request-audit.js';

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
  const caller = options.callerOf(request);
  try {
    await options.requests.closeRequest({
      requestId: request.id,
      actor: caller === null ? null : actorOf(caller.subject.principal),
      resource: options.resourceOf(request),
      status,
      reason: reason ?? refusals.get(request) ?? (status >= 400 ? `HTTP_${status}` : null),
      context: auditContext(options.metaOf(request), caller?.context),
    });
    return true;
  } catch {
    return false;
  }
}
