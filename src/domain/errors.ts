/**
 * The error catalog. Every failure Coffer reports to a caller is a subclass of
 * {@link CofferError} with a stable `code`, on the class and on the instance, so
 * `switch (err.code)` narrows. Codes are never reused; every code is listed in
 * docs/errors.md and a test checks that list against this file.
 *
 * Domain errors know nothing of HTTP: server/error-handler.ts maps codes to statuses.
 * `message` is public (lowercase, no final period, user input in backticks);
 * `detail` is private and goes to the log only.
 */
export abstract class CofferError extends Error {
  static readonly code: string;
  abstract readonly code: string;
  /** Private detail for the log; never sent to a caller. */
  readonly detail: string | undefined;

  constructor(message: string, options?: { detail?: string; cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.detail = options?.detail;
  }
}

/** Builds a catalog class with a stable code and a fixed default message. */
function define<C extends string>(code: C, defaultMessage: string) {
  return class extends CofferError {
    static override readonly code: C = code;
    readonly code: C = code;
    constructor(message: string = defaultMessage, options?: { detail?: string; cause?: unknown }) {
      super(message, options);
    }
  };
}

// ---- request and input -------------------------------------------------------
export class ValidationError extends define('COFFER_VALIDATION_FAILED', 'request is not valid') {}
export class InvalidNameError extends define('COFFER_INVALID_NAME', 'name is not valid') {}
export class PayloadTooLargeError extends define('COFFER_PAYLOAD_TOO_LARGE', 'request body is too large') {}
export class ContentLengthMismatchError extends define('COFFER_CONTENT_LENGTH_MISMATCH', 'request body length does not match content-length') {}
export class DigestMismatchError extends define('COFFER_DIGEST_MISMATCH', 'uploaded content does not match the declared digest') {}
export class RangeNotSatisfiableError extends define('COFFER_RANGE_NOT_SATISFIABLE', 'requested range is not satisfiable') {}
export class UploadAbortedError extends define('COFFER_UPLOAD_ABORTED', 'upload was aborted') {}
/** The caller gave up (its AbortSignal fired) before the operation finished. */
export class RequestAbortedError extends define('COFFER_REQUEST_ABORTED', 'request was aborted') {}
export class RouteNotFoundError extends define('COFFER_ROUTE_NOT_FOUND', 'no such route') {}
export class UnsupportedMediaTypeError extends define('COFFER_UNSUPPORTED_MEDIA_TYPE', 'unsupported content type') {}

// ---- configuration -----------------------------------------------------------
export class ConfigInvalidError extends define('COFFER_CONFIG_INVALID', 'configuration is not valid') {}

// ---- authentication ----------------------------------------------------------
export class AuthRequiredError extends define('COFFER_AUTH_REQUIRED', 'authentication required') {}
export class TokenInvalidError extends define('COFFER_AUTH_TOKEN_INVALID', 'token is not valid') {}
export class TokenExpiredError extends define('COFFER_AUTH_TOKEN_EXPIRED', 'token has expired') {}
export class TokenRevokedError extends define('COFFER_AUTH_TOKEN_REVOKED', 'token has been revoked') {}
export class PrincipalDisabledError extends define('COFFER_AUTH_PRINCIPAL_DISABLED', 'account is disabled') {}
export class SetupTokenInvalidError extends define('COFFER_SETUP_TOKEN_INVALID', 'setup token is not valid or was already used') {}

// ---- authorization -----------------------------------------------------------
export class ForbiddenError extends define('COFFER_FORBIDDEN', 'access denied') {}
export class PolicyEvaluationError extends define('COFFER_POLICY_EVALUATION_FAILED', 'access denied: policy evaluation failed') {}
export class PolicyInvalidError extends define('COFFER_POLICY_INVALID', 'policy is not valid') {}

// ---- catalog -----------------------------------------------------------------
export class NotFoundError extends define('COFFER_NOT_FOUND', 'not found') {}
export class AlreadyExistsError extends define('COFFER_ALREADY_EXISTS', 'already exists') {}
export class ConflictError extends define('COFFER_CONFLICT', 'conflicting change') {}
export class VersionImmutableError extends define('COFFER_VERSION_IMMUTABLE', 'artifact versions are immutable') {}

// ---- crypto and storage ------------------------------------------------------
/** Every decryption failure looks the same, whatever its cause (wrong key, bit flip, truncation). */
export class DecryptionFailedError extends define('COFFER_DECRYPTION_FAILED', 'stored data could not be decrypted') {}
export class KeyringError extends define('COFFER_KEYRING_UNAVAILABLE', 'keyring is not available') {}
export class StorageError extends define('COFFER_STORAGE_FAILED', 'storage failure') {}
export class StorageFullError extends define('COFFER_STORAGE_FULL', 'storage is full') {}

// ---- audit -------------------------------------------------------------------
/** The audit record could not be written: the request is refused and nothing happens (fail closed). */
export class AuditUnavailableError extends define('COFFER_AUDIT_UNAVAILABLE', 'audit log is unavailable: request refused') {}
export class AuditChainBrokenError extends define('COFFER_AUDIT_CHAIN_BROKEN', 'audit chain verification failed') {}

// ---- server ------------------------------------------------------------------
export class RateLimitedError extends define('COFFER_RATE_LIMITED', 'too many requests') {}
export class InternalError extends define('COFFER_INTERNAL', 'internal error') {}
export class NotReadyError extends define('COFFER_NOT_READY', 'service is not ready') {}

/** True if `err` is a catalog error. */
export function isCofferError(err: unknown): err is CofferError {
  return err instanceof CofferError;
}
