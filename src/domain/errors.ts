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
/** An upload ran longer than `maxUploadSeconds` (the bound the orphaned-blob sweep relies on). */
export class UploadTimeoutError extends define('COFFER_UPLOAD_TIMEOUT', 'upload took longer than the server allows') {}
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
/** Login failed; one message whatever the cause (unknown account, wrong password or code, disabled). */
export class InvalidCredentialsError extends define('COFFER_AUTH_INVALID_CREDENTIALS', 'invalid credentials') {}
export class WeakPasswordError extends define('COFFER_AUTH_WEAK_PASSWORD', 'password does not meet the requirements') {}
/** The action needs a recent WebAuthn assertion on this session (RFC 9470 style step-up). */
export class StepUpRequiredError extends define('COFFER_AUTH_STEP_UP_REQUIRED', 'step-up required: confirm with your security key') {}
/** A first password (or factor) asked for with a bearer credential alone: it needs an enrollment ticket from an administrator, or a recent second factor. */
export class EnrollmentRequiredError extends define('COFFER_AUTH_ENROLLMENT_REQUIRED', 'enrolling a first password needs an enrollment ticket from an administrator') {}
export class TokenNotYetValidError extends define('COFFER_AUTH_TOKEN_NOT_YET_VALID', 'token is not valid yet') {}
export class TokenAudienceError extends define('COFFER_AUTH_TOKEN_WRONG_AUDIENCE', 'token was issued for another audience') {}
/** A refresh token was presented twice: its whole session is revoked. */
export class RefreshTokenReusedError extends define('COFFER_AUTH_REFRESH_REUSED', 'refresh token was already used: session revoked') {}
export class LongLivedTokenDisabledError extends define('COFFER_AUTH_LONG_LIVED_TOKEN_DISABLED', 'long-lived tokens are disabled for service accounts') {}
export class DeviceSignatureInvalidError extends define('COFFER_AUTH_DEVICE_SIGNATURE_INVALID', 'device signature is not valid') {}

// ---- authorization -----------------------------------------------------------
export class ForbiddenError extends define('COFFER_FORBIDDEN', 'access denied') {}
export class PolicyEvaluationError extends define('COFFER_POLICY_EVALUATION_FAILED', 'access denied: policy evaluation failed') {}
export class PolicyInvalidError extends define('COFFER_POLICY_INVALID', 'policy is not valid') {}
/** Putting a version into prod, or hiding one there, other than by a promotion, without a policy that permits `bypass-promotion`. */
export class PromotionRequiredError extends define('COFFER_PROMOTION_REQUIRED', 'prod is reached only through a promotion') {}

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

// ---- install migration (coffer migrate) -------------------------------------------
/** The data directory is held by a running Coffer server (or a migration): its lock file is taken. */
export class DataDirInUseError extends define('COFFER_DATA_DIR_IN_USE', 'data directory is in use by a running Coffer process') {}
/** The migration target already holds data that is not from an earlier run of this very migration. */
export class MigrationTargetNotEmptyError extends define('COFFER_MIGRATION_TARGET_NOT_EMPTY', 'migration target is not empty') {}
/** The migration source cannot be trusted (its audit chain does not verify) or changed since an interrupted run. */
export class MigrationSourceInvalidError extends define('COFFER_MIGRATION_SOURCE_INVALID', 'migration source is not valid') {}
/** After the copy, the target does not hold exactly what the source holds. */
export class MigrationVerifyFailedError extends define('COFFER_MIGRATION_VERIFY_FAILED', 'migration verification failed') {}

// ---- s3 endpoint ---------------------------------------------------------------
/** The SigV4/SigV2 signature of an S3 request (or of one of its aws-chunked chunks) is not the one its credential makes. */
export class S3SignatureMismatchError extends define('COFFER_S3_SIGNATURE_MISMATCH', 'request signature does not match') {}
/** The signed request time is more than 15 minutes away from the server's clock. */
export class S3RequestTimeSkewedError extends define('COFFER_S3_REQUEST_TIME_SKEWED', 'request time is too far from the server time') {}
/** A presigned URL past its expiry. */
export class S3RequestExpiredError extends define('COFFER_S3_REQUEST_EXPIRED', 'presigned request has expired') {}
/**
 * An S3 request refused for a protocol reason; `s3Code` is the S3 error code the S3
 * endpoint answers with (`MalformedXML`, `InvalidPart`, `BadDigest`...).
 */
export class S3RequestError extends define('COFFER_S3_REQUEST_REFUSED', 's3 request refused') {
  /** The S3 error code (never shown by the REST API, which answers the Coffer code). */
  readonly s3Code: string;
  constructor(message?: string, options?: { s3Code?: string; detail?: string; cause?: unknown }) {
    super(message, options);
    this.s3Code = options?.s3Code ?? 'InvalidRequest';
  }
}

// ---- access: just-in-time requests, break-glass, promotions, share links ------
/** A requested duration is not positive or exceeds the maximum for its role (or link, or break-glass). */
export class AccessDurationError extends define('COFFER_ACCESS_DURATION_INVALID', 'requested duration is not allowed') {}
/** The access request is no longer pending (already approved, denied, revoked, cancelled or past its deadline). */
export class AccessRequestClosedError extends define('COFFER_ACCESS_REQUEST_CLOSED', 'access request is no longer pending') {}
/** A requester (or its own service account, or its owner) tried to approve its own request or review. */
export class SelfApprovalError extends define('COFFER_ACCESS_SELF_APPROVAL', 'a request cannot be approved by its requester') {}
/** A promotion gate (digest check or a registered check) refused the version. */
export class PromotionCheckFailedError extends define('COFFER_PROMOTION_CHECK_FAILED', 'promotion check failed') {}
/** A model signature (OpenSSF Model Signing bundle) that does not verify, or does not match the files it signs. */
/** A policy of the artifact gate (baseline/gate.cedar) refused the act: the message says which checks failed. */
export class GateBlockedError extends define('COFFER_GATE_BLOCKED', 'blocked by the artifact gate') {}
export class ModelSignatureInvalidError extends define('COFFER_MODEL_SIGNATURE_INVALID', 'model signature is not valid') {}
/** A share link that is malformed, fails its checksum or is unknown. */
export class ShareLinkInvalidError extends define('COFFER_SHARE_LINK_INVALID', 'share link is not valid') {}
/** A share link that exists but can no longer be used (revoked, expired, download limit reached, not approved). */
export class ShareLinkUnavailableError extends define('COFFER_SHARE_LINK_UNAVAILABLE', 'share link can no longer be used') {}

// ---- monitor -----------------------------------------------------------------
/** The monitor locked the account (an alert fired): its requests and downloads in flight stop until an administrator unlocks it. */
export class AccountLockedError extends define('COFFER_ACCOUNT_LOCKED', 'account is locked pending review') {}

// ---- environments: infrastructure-as-code checks -----------------------------
/** A Terraform plan (`terraform show -json`) that cannot be read: malformed, too large, too deep or of the wrong shape. */
export class IacPlanInvalidError extends define('COFFER_IAC_PLAN_INVALID', 'terraform plan is not valid') {}
/** An IaC rule that does not load: wrong fields, an expression that does not compile, a duplicate id. */
export class IacRuleInvalidError extends define('COFFER_IAC_RULE_INVALID', 'iac rule is not valid') {}

// ---- server ------------------------------------------------------------------
export class RateLimitedError extends define('COFFER_RATE_LIMITED', 'too many requests') {}
export class InternalError extends define('COFFER_INTERNAL', 'internal error') {}
export class NotReadyError extends define('COFFER_NOT_READY', 'service is not ready') {}

/** True if `err` is a catalog error. */
export function isCofferError(err: unknown): err is CofferError {
  return err instanceof CofferError;
}
