import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { isCofferError } from '../domain/errors.js';
import type { CofferError } from '../domain/errors.js';
import { RangeNotSatisfiable } from '../service/index.js';
import { noteRefusal } from './audit-outcome.js';

/**
 * The one table from error code to HTTP status. Statuses are never chosen by matching
 * message text. Codes absent here are 500.
 */
const STATUS: Record<string, number> = {
  COFFER_VALIDATION_FAILED: 400,
  COFFER_INVALID_NAME: 400,
  COFFER_CONTENT_LENGTH_MISMATCH: 400,
  COFFER_DIGEST_MISMATCH: 400,
  COFFER_UPLOAD_ABORTED: 400,
  COFFER_UPLOAD_TIMEOUT: 408,
  COFFER_REQUEST_ABORTED: 400,
  COFFER_CONFIG_INVALID: 400,
  COFFER_DATA_DIR_IN_USE: 409,
  COFFER_MIGRATION_TARGET_NOT_EMPTY: 409,
  COFFER_MIGRATION_SOURCE_INVALID: 409,
  COFFER_MIGRATION_VERIFY_FAILED: 500,
  COFFER_POLICY_INVALID: 400,
  COFFER_IAC_PLAN_INVALID: 400,
  COFFER_IAC_RULE_INVALID: 400,
  COFFER_AUTH_REQUIRED: 401,
  COFFER_AUTH_TOKEN_INVALID: 401,
  COFFER_AUTH_TOKEN_EXPIRED: 401,
  COFFER_AUTH_TOKEN_REVOKED: 401,
  COFFER_AUTH_PRINCIPAL_DISABLED: 401,
  COFFER_SETUP_TOKEN_INVALID: 401,
  COFFER_AUTH_INVALID_CREDENTIALS: 401,
  COFFER_AUTH_WEAK_PASSWORD: 400,
  COFFER_AUTH_STEP_UP_REQUIRED: 401,
  COFFER_AUTH_ENROLLMENT_REQUIRED: 403,
  COFFER_AUTH_TOKEN_NOT_YET_VALID: 401,
  COFFER_AUTH_TOKEN_WRONG_AUDIENCE: 401,
  COFFER_AUTH_REFRESH_REUSED: 401,
  COFFER_AUTH_LONG_LIVED_TOKEN_DISABLED: 403,
  COFFER_AUTH_DEVICE_SIGNATURE_INVALID: 401,
  COFFER_FORBIDDEN: 403,
  COFFER_POLICY_EVALUATION_FAILED: 403,
  COFFER_PROMOTION_REQUIRED: 403,
  COFFER_NOT_FOUND: 404,
  COFFER_ROUTE_NOT_FOUND: 404,
  COFFER_ALREADY_EXISTS: 409,
  COFFER_CONFLICT: 409,
  COFFER_VERSION_IMMUTABLE: 409,
  COFFER_PAYLOAD_TOO_LARGE: 413,
  COFFER_UNSUPPORTED_MEDIA_TYPE: 415,
  COFFER_RANGE_NOT_SATISFIABLE: 416,
  COFFER_RATE_LIMITED: 429,
  COFFER_ACCESS_DURATION_INVALID: 400,
  COFFER_ACCESS_REQUEST_CLOSED: 409,
  COFFER_ACCESS_SELF_APPROVAL: 403,
  COFFER_PROMOTION_CHECK_FAILED: 422,
  COFFER_MODEL_SIGNATURE_INVALID: 422,
  COFFER_GATE_BLOCKED: 403,
  COFFER_SHARE_LINK_INVALID: 404,
  COFFER_SHARE_LINK_UNAVAILABLE: 410,
  COFFER_S3_SIGNATURE_MISMATCH: 403,
  COFFER_S3_REQUEST_TIME_SKEWED: 403,
  COFFER_S3_REQUEST_EXPIRED: 403,
  COFFER_S3_REQUEST_REFUSED: 400,
  COFFER_DECRYPTION_FAILED: 500,
  COFFER_KEYRING_UNAVAILABLE: 500,
  COFFER_STORAGE_FAILED: 500,
  COFFER_AUDIT_CHAIN_BROKEN: 500,
  COFFER_INTERNAL: 500,
  COFFER_AUDIT_UNAVAILABLE: 503,
  COFFER_STORAGE_FULL: 507,
  COFFER_NOT_READY: 503,
  COFFER_ACCOUNT_LOCKED: 423,
};

/** HTTP status of a catalog code. */
export function statusOf(code: string): number {
  return STATUS[code] ?? 500;
}

/** Every catalog code the table maps (a test checks that none is forgotten). */
export const MAPPED_CODES = Object.keys(STATUS);

/** Turns Fastify's own errors (body parsing, schema validation, limits) into catalog codes. */
function fromFastify(err: FastifyError): { code: string; message: string } | null {
  if (err.validation) return { code: 'COFFER_VALIDATION_FAILED', message: `request is not valid: ${err.message}` };
  switch (err.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return { code: 'COFFER_PAYLOAD_TOO_LARGE', message: 'request body is too large' };
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return { code: 'COFFER_UNSUPPORTED_MEDIA_TYPE', message: 'unsupported content type' };
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return { code: 'COFFER_VALIDATION_FAILED', message: 'request body is not valid JSON' };
    default:
      break;
  }
  if (err.statusCode !== undefined && err.statusCode >= 400 && err.statusCode < 500 && typeof err.code === 'string' && err.code.startsWith('FST_')) {
    return { code: 'COFFER_VALIDATION_FAILED', message: 'request is not valid' };
  }
  if (err instanceof SyntaxError && (err as { statusCode?: number }).statusCode === 400) {
    return { code: 'COFFER_VALIDATION_FAILED', message: 'request body is not valid JSON' };
  }
  return null;
}

/**
 * The error handler: `{ error: { code, message, requestId } }`. 5xx answers carry a
 * generic message; the detail goes to the log (never secrets: catalog details are
 * written to be loggable).
 */
export function errorHandler(err: FastifyError | CofferError | Error, request: FastifyRequest, reply: FastifyReply): void {
  let code: string;
  let message: string;
  if (isCofferError(err)) {
    code = err.code;
    message = err.message;
  } else {
    const mapped = fromFastify(err as FastifyError);
    code = mapped?.code ?? 'COFFER_INTERNAL';
    message = mapped?.message ?? 'internal error';
  }
  const status = statusOf(code);
  noteRefusal(request, code);
  if (status >= 500) {
    request.log.error({ code, err, detail: isCofferError(err) ? err.detail : undefined }, 'request failed');
    // expose only what is safe: decryption failures keep their (generic) message, others become generic
    if (code !== 'COFFER_AUDIT_UNAVAILABLE' && code !== 'COFFER_DECRYPTION_FAILED' && code !== 'COFFER_STORAGE_FULL' && code !== 'COFFER_NOT_READY') message = 'internal error';
  } else {
    request.log.info({ code }, 'request refused');
  }
  if (err instanceof RangeNotSatisfiable) void reply.header('content-range', `bytes */${err.objectSize}`);
  if (status === 401) void reply.header('www-authenticate', 'Bearer realm="coffer"');
  // a body we stopped reading cannot be drained safely: close the connection after answering
  if (!request.raw.complete) void reply.header('connection', 'close');
  if (reply.sent || reply.raw.headersSent) {
    // a streamed body failed half-way: the only honest signal left is to cut the connection
    reply.raw.destroy();
    return;
  }
  void reply.code(status).type('application/json; charset=utf-8').send({ error: { code, message, requestId: request.id } });
}
