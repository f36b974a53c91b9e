import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { resolve } from 'node:path';
import { ConfigInvalidError } from '../domain/errors.js';

/** Coffer's configuration, parsed once at start and frozen. */
export interface Config {
  /** Everything the embedded default keeps: SQLite database, blobs, root key file. */
  readonly dataDir: string;
  readonly listen: { readonly host: string; readonly port: number };
  /** Address of the S3-compatible endpoint (docs/s3.md); null = disabled. An ephemeral main port (0) makes it ephemeral too. */
  readonly s3Listen: { readonly host: string; readonly port: number } | null;
  /**
   * `/metrics` (docs/monitoring.md): the bearer token a scraper presents (null = `/metrics`
   * is not served on the main listener), and a separate listener that serves only
   * `/metrics` (null = none; it asks for the token too when one is set).
   */
  readonly metrics: { readonly token: string | null; readonly listen: { readonly host: string; readonly port: number } | null };
  /** PostgreSQL URL; null means SQLite in `dataDir` (the embedded default). */
  readonly databaseUrl: string | null;
  /** TLS from PEM files; both or neither. */
  readonly tls: { readonly certFile: string; readonly keyFile: string } | null;
  readonly logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /** Largest JSON request body in bytes. */
  readonly maxJsonBytes: number;
  /** Largest artifact version in bytes. */
  readonly maxUploadBytes: number;
  /**
   * Longest an upload may take (REST push, S3 PutObject, UploadPart, copies, the re-seal of
   * CompleteMultipartUpload); a longer one is cut. Also what makes a blob surely orphaned:
   * the sweep removes unreferenced blobs older than this plus a commit margin.
   */
  readonly maxUploadSeconds: number;
  /** Plaintext segment size of the encrypted object format. */
  readonly segmentSize: number;
  /** Versions the artifact gate scans at once on this node (each scan is CPU-bound; docs/gate.md). */
  readonly gateScanConcurrency: number;
  /** A signed audit checkpoint every this many records. */
  readonly auditCheckpointEvery: number;
  /** Also a checkpoint every this many seconds when records were added (0 = by count only); and one at shutdown. */
  readonly auditCheckpointSeconds: number;
  /**
   * Where checkpoints are witnessed outside the database (docs/security.md): an
   * append-only file (null = none; default `<dataDir>/audit-witness.jsonl`), and
   * optionally a signed webhook and a syslog receiver.
   */
  readonly auditWitness: { readonly file: string | null; readonly webhookUrl: string | null; readonly webhookSecret: string | null; readonly syslog: string | null };
  /** Root key as base64 (32 bytes) instead of the generated key file (`keyProvider` `env`). */
  readonly rootKey: string | null;
  /** Where ciphertext is stored: `dataDir/blobs` (default) or an S3-compatible bucket (docs/deploy.md). */
  readonly blobStore: BlobStoreConfig;
  /** What holds the root key that seals the keyring (docs/deploy.md). */
  readonly keyProvider: KeyProviderConfig;
  /** Default lifetime of API tokens in seconds; 0 = no expiry. */
  readonly tokenTtlSeconds: number;
  /**
   * Unauthenticated traffic per source address (IPv6: per /64) and minute: refusals
   * before further requests without a credential are answered 429 (0 = no limit), and
   * refusals recorded one by one before the rest are coalesced into one audit record.
   */
  readonly unauthenticated: { readonly refusalsPerMinute: number; readonly recordedPerMinute: number };
  /** Addresses or CIDRs of reverse proxies whose `X-Forwarded-For` gives the client address; empty = none trusted. */
  readonly trustProxy: readonly string[];
  /** IANA time zone of the organisation: policies see `context.localHour`/`localWeekday` in it (docs/policy.md). */
  readonly timeZone: string;
  /** CIDRs restricted items and prod changes are reachable from (docs/policy.md); default: every address. */
  readonly trustedNetworks: readonly string[];
  /** Just-in-time access, break-glass, promotions, share links and their webhook (docs/access.md). */
  readonly access: AccessConfig;
  /** Sessions, access tokens, WebAuthn, service-account tokens (docs/identity.md). */
  readonly identity: IdentityConfig;
  /** Detectors over the audit stream, alerts, locks, access reviews, recommendations (docs/monitoring.md). */
  readonly monitor: MonitorConfig;
}

/** The blob store (keys `blobStore`, `blobS3*`). */
export type BlobStoreConfig =
  | { readonly kind: 'fs' }
  | {
      readonly kind: 's3';
      /** `http(s)://host[:port]`; null = AWS S3 in `region`. */
      readonly endpoint: string | null;
      readonly region: string;
      readonly bucket: string;
      /** Empty or ending in `/`. */
      readonly prefix: string;
      readonly forcePathStyle: boolean;
      /** null = the AWS SDK's default credential chain. */
      readonly credentials: { readonly accessKeyId: string; readonly secretAccessKey: string; readonly sessionToken?: string } | null;
      readonly conditionalCreate: 'auto' | 'all' | 'put' | 'none';
      readonly partSize: number;
      readonly concurrency: number;
    };

/**
 * The key provider (keys `keyProvider`, `rootKey`, `pkcs11*`, `kms*`), and `rootKeyPrevious`:
 * the local root key (base64) the keyring is still sealed under when moving to a new key
 * or to another provider (it only opens; `coffer keys rotate-root` rewraps).
 */
export type KeyProviderConfig = { readonly previousRootKey: string | null } & (
  | { readonly kind: 'file'; readonly path: string }
  | { readonly kind: 'env'; readonly rootKey: string }
  | {
      readonly kind: 'pkcs11';
      /** Path of the PKCS#11 module (`/usr/lib/softhsm/libsofthsm2.so`). */
      readonly module: string;
      readonly tokenLabel: string;
      /** The user PIN, or null to read it from `pinFile`. */
      readonly pin: string | null;
      readonly pinFile: string | null;
      /** Label of the AES-256 root key objects in the token. */
      readonly keyLabel: string;
    }
  | {
      readonly kind: 'kms';
      /** Key id, ARN or alias of a symmetric KMS key. */
      readonly keyId: string;
      readonly region: string;
      /** null = the AWS endpoint of `region`. */
      readonly endpoint: string | null;
      /** null = the AWS SDK's default credential chain. */
      readonly credentials: { readonly accessKeyId: string; readonly secretAccessKey: string; readonly sessionToken?: string } | null;
    }
);

/** Settings of monitoring and reviews (keys `monitor*`, `reviewStaleDays`, `reviewReminderHours`, `recommendWindowDays`). */
export interface MonitorConfig {
  /** Run the detectors on this node (default on). */
  readonly enabled: boolean;
  /** JSON file of rule overrides (thresholds, actions); null = the defaults. */
  readonly rulesFile: string | null;
  /** Alerts are also appended to this JSON Lines file; null = none. */
  readonly alertFile: string | null;
  /** Alerts are POSTed here, signed with HMAC-SHA256 under `webhookSecret`; null = none. */
  readonly webhookUrl: string | null;
  readonly webhookSecret: string | null;
  /** Alerts are sent to this syslog receiver (`udp://host:port`, RFC 5424); null = none. */
  readonly syslog: string | null;
  /** A review campaign revokes grants unused for this many days (0 = never). */
  readonly reviewStaleDays: number;
  /** Reviewers of open campaigns are reminded of their pending items every this many hours (0 = never). */
  readonly reviewReminderHours: number;
  /** Recommendations look at this many days of use. */
  readonly recommendWindowDays: number;
}

/** Settings of the identity module (keys `publicUrl`, `tokenIssuer`, `accessTokenTtlSeconds`, `sessionTtlSeconds`, `servicePatMaxTtlSeconds`). */
export interface IdentityConfig {
  /** External base URL of Coffer (WebAuthn origin and RP id, SSO redirect URI); null = learned from the listener. */
  readonly publicUrl: string | null;
  /** `iss` of access tokens (the same on every node). */
  readonly tokenIssuer: string;
  /** Lifetime of access tokens (at most one hour). */
  readonly accessTokenTtlSeconds: number;
  /** Absolute lifetime of an interactive session (refresh tokens stop working after it). */
  readonly sessionTtlSeconds: number;
  /** Longest lifetime of a service account API token; 0 (default) = service accounts get short-lived tokens only. */
  readonly servicePatMaxTtlSeconds: number;
  /** When true, a user's API token is not exempt from step-up (restricted downloads, admin actions need `coffer step-up`). */
  readonly requireStepUpForUserTokens: boolean;
  /**
   * 0 (default): a credential minted by another (an API token or S3 key minted by a
   * session) never outlives it. N: it may live up to N seconds from its minting past its
   * parent's expiry. Revoking the parent (logout, password change, lock...) ends it either way.
   */
  readonly mintedCredentialMaxTtlSeconds: number;
}

/** Settings of the access module (flat keys `access*`, `breakGlass*`, `share*`, `promotion*`, `webhook*`, `stepUp*`). */
export interface AccessConfig {
  /** Longest grant a request may ask for, per role, in seconds. */
  readonly maxSeconds: { readonly reader: number; readonly writer: number; readonly owner: number };
  /** A pending request expires after this; an approved promotion stays usable this long. */
  readonly requestTtlSeconds: number;
  /** Distinct approvers a request needs: restricted artifacts, and everything else. */
  readonly approvals: number;
  readonly approvalsRestricted: number;
  /** Reader requests on artifacts of this tier or lower are approved at once (`none` = never). */
  readonly autoApproveTier: 'none' | 'public' | 'internal' | 'confidential';
  readonly breakGlassMaxSeconds: number;
  /** Break-glass needs an authentication (token) younger than this (the WebAuthn seam, see docs/access.md). */
  readonly stepUpMaxAgeSeconds: number;
  /** Longest share link lifetime (an admin setting). */
  readonly shareMaxSeconds: number;
  /** Approvals a promotion to staging / prod needs (0 = none). */
  readonly promotionApprovals: { readonly staging: number; readonly prod: number };
  /** Webhook for requests, approvals, break-glass and expiries; null = none. */
  readonly webhookUrl: string | null;
  /** HMAC-SHA256 key of the webhook signature (required with a URL). */
  readonly webhookSecret: string | null;
  readonly webhookFormat: 'coffer' | 'slack';
}

type Kind = 'string' | 'nullable-string' | 'int' | 'level' | 'hostport' | 'string-list';

interface Field {
  kind: Kind;
  env: string;
  default: unknown;
  min?: number;
  max?: number;
  /** Allowed values of a `string` field. */
  choices?: readonly string[];
}

const LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/** The one schema: every key, its type, its default and its environment variable. */
const SCHEMA: Record<string, Field> = {
  dataDir: { kind: 'string', env: 'COFFER_DATA_DIR', default: './coffer-data' },
  listen: { kind: 'hostport', env: 'COFFER_LISTEN', default: '127.0.0.1:7070' },
  s3Listen: { kind: 'nullable-string', env: 'COFFER_S3_LISTEN', default: '127.0.0.1:7072' },
  metricsToken: { kind: 'nullable-string', env: 'COFFER_METRICS_TOKEN', default: null },
  metricsListen: { kind: 'nullable-string', env: 'COFFER_METRICS_LISTEN', default: null },
  databaseUrl: { kind: 'nullable-string', env: 'COFFER_DATABASE_URL', default: null },
  tlsCertFile: { kind: 'nullable-string', env: 'COFFER_TLS_CERT_FILE', default: null },
  tlsKeyFile: { kind: 'nullable-string', env: 'COFFER_TLS_KEY_FILE', default: null },
  logLevel: { kind: 'level', env: 'COFFER_LOG_LEVEL', default: 'info' },
  maxJsonBytes: { kind: 'int', env: 'COFFER_MAX_JSON_BYTES', default: 1024 * 1024, min: 1024, max: 64 * 1024 * 1024 },
  maxUploadBytes: { kind: 'int', env: 'COFFER_MAX_UPLOAD_BYTES', default: 1024 ** 4, min: 1, max: Number.MAX_SAFE_INTEGER },
  maxUploadSeconds: { kind: 'int', env: 'COFFER_MAX_UPLOAD_SECONDS', default: 24 * 3600, min: 1, max: 7 * 24 * 3600 },
  gateScanConcurrency: { kind: 'int', env: 'COFFER_GATE_SCAN_CONCURRENCY', default: 1, min: 1, max: 64 },
  segmentSize: { kind: 'int', env: 'COFFER_SEGMENT_SIZE', default: 64 * 1024, min: 4096, max: 16 * 1024 * 1024 },
  auditCheckpointEvery: { kind: 'int', env: 'COFFER_AUDIT_CHECKPOINT_EVERY', default: 1000, min: 1, max: 1_000_000 },
  auditCheckpointSeconds: { kind: 'int', env: 'COFFER_AUDIT_CHECKPOINT_SECONDS', default: 60, min: 0, max: 86_400 },
  auditWitnessFile: { kind: 'nullable-string', env: 'COFFER_AUDIT_WITNESS_FILE', default: null },
  auditWitnessWebhookUrl: { kind: 'nullable-string', env: 'COFFER_AUDIT_WITNESS_WEBHOOK_URL', default: null },
  auditWitnessWebhookSecret: { kind: 'nullable-string', env: 'COFFER_AUDIT_WITNESS_WEBHOOK_SECRET', default: null },
  auditWitnessSyslog: { kind: 'nullable-string', env: 'COFFER_AUDIT_WITNESS_SYSLOG', default: null },
  rootKey: { kind: 'nullable-string', env: 'COFFER_ROOT_KEY', default: null },
  // blob store (src/store/s3, docs/deploy.md)
  blobStore: { kind: 'string', env: 'COFFER_BLOB_STORE', default: 'fs', choices: ['fs', 's3'] },
  blobS3Endpoint: { kind: 'nullable-string', env: 'COFFER_BLOB_S3_ENDPOINT', default: null },
  blobS3Region: { kind: 'string', env: 'COFFER_BLOB_S3_REGION', default: 'us-east-1' },
  blobS3Bucket: { kind: 'nullable-string', env: 'COFFER_BLOB_S3_BUCKET', default: null },
  blobS3Prefix: { kind: 'nullable-string', env: 'COFFER_BLOB_S3_PREFIX', default: null },
  blobS3PathStyle: { kind: 'int', env: 'COFFER_BLOB_S3_PATH_STYLE', default: 0, min: 0, max: 1 },
  blobS3AccessKeyId: { kind: 'nullable-string', env: 'COFFER_BLOB_S3_ACCESS_KEY_ID', default: null },
  blobS3SecretAccessKey: { kind: 'nullable-string', env: 'COFFER_BLOB_S3_SECRET_ACCESS_KEY', default: null },
  blobS3SessionToken: { kind: 'nullable-string', env: 'COFFER_BLOB_S3_SESSION_TOKEN', default: null },
  blobS3ConditionalCreate: { kind: 'string', env: 'COFFER_BLOB_S3_CONDITIONAL_CREATE', default: 'auto', choices: ['auto', 'all', 'put', 'none'] },
  blobS3PartSize: { kind: 'int', env: 'COFFER_BLOB_S3_PART_SIZE', default: 16 * 1024 * 1024, min: 5 * 1024 * 1024, max: 5 * 1024 * 1024 * 1024 },
  blobS3Concurrency: { kind: 'int', env: 'COFFER_BLOB_S3_CONCURRENCY', default: 4, min: 1, max: 16 },
  // key provider (src/crypto, docs/deploy.md)
  keyProvider: { kind: 'string', env: 'COFFER_KEY_PROVIDER', default: 'auto', choices: ['auto', 'file', 'env', 'pkcs11', 'kms'] },
  rootKeyPrevious: { kind: 'nullable-string', env: 'COFFER_ROOT_KEY_PREVIOUS', default: null },
  pkcs11Module: { kind: 'nullable-string', env: 'COFFER_PKCS11_MODULE', default: null },
  pkcs11TokenLabel: { kind: 'nullable-string', env: 'COFFER_PKCS11_TOKEN_LABEL', default: null },
  pkcs11Pin: { kind: 'nullable-string', env: 'COFFER_PKCS11_PIN', default: null },
  pkcs11PinFile: { kind: 'nullable-string', env: 'COFFER_PKCS11_PIN_FILE', default: null },
  pkcs11KeyLabel: { kind: 'string', env: 'COFFER_PKCS11_KEY_LABEL', default: 'coffer-root-key' },
  kmsKeyId: { kind: 'nullable-string', env: 'COFFER_KMS_KEY_ID', default: null },
  kmsRegion: { kind: 'string', env: 'COFFER_KMS_REGION', default: 'us-east-1' },
  kmsEndpoint: { kind: 'nullable-string', env: 'COFFER_KMS_ENDPOINT', default: null },
  kmsAccessKeyId: { kind: 'nullable-string', env: 'COFFER_KMS_ACCESS_KEY_ID', default: null },
  kmsSecretAccessKey: { kind: 'nullable-string', env: 'COFFER_KMS_SECRET_ACCESS_KEY', default: null },
  kmsSessionToken: { kind: 'nullable-string', env: 'COFFER_KMS_SESSION_TOKEN', default: null },
  tokenTtlSeconds: { kind: 'int', env: 'COFFER_TOKEN_TTL_SECONDS', default: 90 * 24 * 3600, min: 0, max: 10 * 365 * 24 * 3600 },
  unauthenticatedRefusalsPerMinute: { kind: 'int', env: 'COFFER_UNAUTHENTICATED_REFUSALS_PER_MINUTE', default: 120, min: 0, max: 1_000_000 },
  unauthenticatedRecordedPerMinute: { kind: 'int', env: 'COFFER_UNAUTHENTICATED_RECORDED_PER_MINUTE', default: 20, min: 1, max: 1_000_000 },
  trustProxy: { kind: 'string-list', env: 'COFFER_TRUST_PROXY', default: ['none'] },
  accessMaxReaderSeconds: { kind: 'int', env: 'COFFER_ACCESS_MAX_READER_SECONDS', default: 7 * 24 * 3600, min: 60, max: 365 * 24 * 3600 },
  accessMaxWriterSeconds: { kind: 'int', env: 'COFFER_ACCESS_MAX_WRITER_SECONDS', default: 24 * 3600, min: 60, max: 365 * 24 * 3600 },
  accessMaxOwnerSeconds: { kind: 'int', env: 'COFFER_ACCESS_MAX_OWNER_SECONDS', default: 8 * 3600, min: 60, max: 365 * 24 * 3600 },
  accessRequestTtlSeconds: { kind: 'int', env: 'COFFER_ACCESS_REQUEST_TTL_SECONDS', default: 3 * 24 * 3600, min: 60, max: 90 * 24 * 3600 },
  accessApprovals: { kind: 'int', env: 'COFFER_ACCESS_APPROVALS', default: 1, min: 1, max: 10 },
  accessApprovalsRestricted: { kind: 'int', env: 'COFFER_ACCESS_APPROVALS_RESTRICTED', default: 1, min: 1, max: 10 },
  accessAutoApproveTier: { kind: 'string', env: 'COFFER_ACCESS_AUTO_APPROVE_TIER', default: 'none', choices: ['none', 'public', 'internal', 'confidential'] },
  breakGlassMaxSeconds: { kind: 'int', env: 'COFFER_BREAK_GLASS_MAX_SECONDS', default: 3600, min: 60, max: 24 * 3600 },
  stepUpMaxAgeSeconds: { kind: 'int', env: 'COFFER_STEP_UP_MAX_AGE_SECONDS', default: 900, min: 30, max: 24 * 3600 },
  shareMaxSeconds: { kind: 'int', env: 'COFFER_SHARE_MAX_SECONDS', default: 24 * 3600, min: 60, max: 30 * 24 * 3600 },
  promotionApprovalsStaging: { kind: 'int', env: 'COFFER_PROMOTION_APPROVALS_STAGING', default: 0, min: 0, max: 10 },
  promotionApprovalsProd: { kind: 'int', env: 'COFFER_PROMOTION_APPROVALS_PROD', default: 1, min: 0, max: 10 },
  webhookUrl: { kind: 'nullable-string', env: 'COFFER_WEBHOOK_URL', default: null },
  webhookSecret: { kind: 'nullable-string', env: 'COFFER_WEBHOOK_SECRET', default: null },
  webhookFormat: { kind: 'string', env: 'COFFER_WEBHOOK_FORMAT', default: 'coffer', choices: ['coffer', 'slack'] },
  // policy context (src/policy, docs/policy.md): checked when the policy engine starts
  timeZone: { kind: 'string', env: 'COFFER_TIME_ZONE', default: 'UTC' },
  trustedNetworks: { kind: 'string-list', env: 'COFFER_TRUSTED_NETWORKS', default: ['0.0.0.0/0', '::/0'] },
  publicUrl: { kind: 'nullable-string', env: 'COFFER_PUBLIC_URL', default: null },
  tokenIssuer: { kind: 'string', env: 'COFFER_TOKEN_ISSUER', default: 'urn:coffer' },
  accessTokenTtlSeconds: { kind: 'int', env: 'COFFER_ACCESS_TOKEN_TTL_SECONDS', default: 900, min: 60, max: 3600 },
  sessionTtlSeconds: { kind: 'int', env: 'COFFER_SESSION_TTL_SECONDS', default: 12 * 3600, min: 300, max: 30 * 24 * 3600 },
  servicePatMaxTtlSeconds: { kind: 'int', env: 'COFFER_SERVICE_PAT_MAX_TTL_SECONDS', default: 0, min: 0, max: 365 * 24 * 3600 },
  requireStepUpForUserTokens: { kind: 'int', env: 'COFFER_REQUIRE_STEP_UP_FOR_USER_TOKENS', default: 0, min: 0, max: 1 },
  mintedCredentialMaxTtlSeconds: { kind: 'int', env: 'COFFER_MINTED_CREDENTIAL_MAX_TTL_SECONDS', default: 0, min: 0, max: 365 * 24 * 3600 },
  // monitoring and reviews (src/monitor, src/review, docs/monitoring.md)
  monitorEnabled: { kind: 'int', env: 'COFFER_MONITOR_ENABLED', default: 1, min: 0, max: 1 },
  monitorRulesFile: { kind: 'nullable-string', env: 'COFFER_MONITOR_RULES_FILE', default: null },
  monitorAlertFile: { kind: 'nullable-string', env: 'COFFER_MONITOR_ALERT_FILE', default: null },
  monitorWebhookUrl: { kind: 'nullable-string', env: 'COFFER_MONITOR_WEBHOOK_URL', default: null },
  monitorWebhookSecret: { kind: 'nullable-string', env: 'COFFER_MONITOR_WEBHOOK_SECRET', default: null },
  monitorSyslog: { kind: 'nullable-string', env: 'COFFER_MONITOR_SYSLOG', default: null },
  reviewStaleDays: { kind: 'int', env: 'COFFER_REVIEW_STALE_DAYS', default: 90, min: 0, max: 3650 },
  reviewReminderHours: { kind: 'int', env: 'COFFER_REVIEW_REMINDER_HOURS', default: 24, min: 0, max: 8760 },
  recommendWindowDays: { kind: 'int', env: 'COFFER_RECOMMEND_WINDOW_DAYS', default: 30, min: 1, max: 365 },
};

/** Keys accepted in a config file and as flags (flags use the same names). */
export const CONFIG_KEYS = Object.keys(SCHEMA);

export interface ConfigSources {
  /** Path of a JSON config file (lowest precedence). */
  file?: string | undefined;
  /** Environment (middle precedence); only `COFFER_*` variables are read. */
  env?: Record<string, string | undefined>;
  /** Flags (highest precedence), keyed by schema key. */
  flags?: Record<string, unknown>;
}

/**
 * Builds the frozen Config: defaults < file < environment < flags. Unknown keys in the
 * file or flags, and unknown `COFFER_*` variables, are errors with a clear message.
 */
export function loadConfig(sources: ConfigSources = {}): Config {
  const raw: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(SCHEMA)) raw[key] = field.default;

  if (sources.file !== undefined) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(sources.file, 'utf8'));
    } catch (err) {
      throw new ConfigInvalidError(`config file \`${sources.file}\` could not be read: ${(err as Error).message}`);
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      throw new ConfigInvalidError(`config file \`${sources.file}\` must hold a JSON object`);
    }
    assign(raw, parsed as Record<string, unknown>, `config file \`${sources.file}\``);
  }

  const env = sources.env ?? {};
  const byEnv = new Map(Object.entries(SCHEMA).map(([k, f]) => [f.env, k]));
  const fromEnv: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith('COFFER_') || value === undefined) continue;
    const key = byEnv.get(name);
    if (key === undefined) {
      if (CLIENT_ENV.has(name) || name.startsWith('COFFER_TEST_')) continue;
      throw new ConfigInvalidError(`unknown environment variable \`${name}\`: known are ${[...byEnv.keys()].join(', ')}`);
    }
    fromEnv[key] = value;
  }
  assign(raw, fromEnv, 'environment');

  if (sources.flags !== undefined) {
    const flags = Object.fromEntries(Object.entries(sources.flags).filter(([, v]) => v !== undefined));
    assign(raw, flags, 'flags');
  }

  const listen = parseHostPort(raw.listen);
  const cert = raw.tlsCertFile as string | null;
  const key = raw.tlsKeyFile as string | null;
  if ((cert === null) !== (key === null)) {
    throw new ConfigInvalidError('tlsCertFile and tlsKeyFile must be given together');
  }
  const dataDir = resolve(raw.dataDir as string);
  const config: Config = {
    dataDir,
    listen,
    s3Listen: raw.s3Listen === null ? null : parseHostPort(raw.s3Listen, 's3Listen'),
    metrics: metricsConfig(raw),
    databaseUrl: raw.databaseUrl as string | null,
    tls: cert !== null && key !== null ? Object.freeze({ certFile: cert, keyFile: key }) : null,
    logLevel: raw.logLevel as Config['logLevel'],
    maxJsonBytes: raw.maxJsonBytes as number,
    maxUploadBytes: raw.maxUploadBytes as number,
    maxUploadSeconds: raw.maxUploadSeconds as number,
    segmentSize: raw.segmentSize as number,
    gateScanConcurrency: raw.gateScanConcurrency as number,
    auditCheckpointEvery: raw.auditCheckpointEvery as number,
    auditCheckpointSeconds: raw.auditCheckpointSeconds as number,
    auditWitness: auditWitnessConfig(raw, resolve(raw.dataDir as string)),
    rootKey: raw.rootKey as string | null,
    blobStore: blobStoreConfig(raw),
    keyProvider: keyProviderConfig(raw, dataDir),
    tokenTtlSeconds: raw.tokenTtlSeconds as number,
    unauthenticated: Object.freeze({ refusalsPerMinute: raw.unauthenticatedRefusalsPerMinute as number, recordedPerMinute: raw.unauthenticatedRecordedPerMinute as number }),
    trustProxy: trustProxyOf(raw.trustProxy as string[]),
    timeZone: raw.timeZone as string,
    trustedNetworks: Object.freeze([...(raw.trustedNetworks as string[])]),
    access: accessConfig(raw),
    identity: identityConfig(raw),
    monitor: monitorConfig(raw),
  };
  return Object.freeze(config);
}

/** Witnesses of audit checkpoints: the file (`none` disables it), a webhook with its secret, a syslog receiver. */
function auditWitnessConfig(raw: Record<string, unknown>, dataDir: string): Config['auditWitness'] {
  const file = raw.auditWitnessFile as string | null;
  const webhookUrl = raw.auditWitnessWebhookUrl as string | null;
  const webhookSecret = raw.auditWitnessWebhookSecret as string | null;
  const syslog = raw.auditWitnessSyslog as string | null;
  if (webhookUrl !== null) {
    let url: URL | null = null;
    try {
      url = new URL(webhookUrl);
    } catch {
      url = null;
    }
    if (url === null || (url.protocol !== 'https:' && url.protocol !== 'http:')) throw new ConfigInvalidError('configuration key `auditWitnessWebhookUrl` must be an http(s) URL');
    // receivers must be able to tell our checkpoints from forgeries (they are signed anyway)
    if (webhookSecret === null || webhookSecret.length < 16) throw new ConfigInvalidError('configuration key `auditWitnessWebhookSecret` must be set (16 characters or more) with `auditWitnessWebhookUrl`');
  }
  if (syslog !== null && !/^udp:\/\/(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):\d{1,5}$/.test(syslog)) throw new ConfigInvalidError('configuration key `auditWitnessSyslog` must be udp://HOST:PORT');
  return Object.freeze({
    file: file === 'none' ? null : resolve(file ?? `${dataDir}/audit-witness.jsonl`),
    webhookUrl,
    webhookSecret,
    syslog,
  });
}

/** `/metrics` access: a token of 32 characters or more, and an optional listener of its own. */
function metricsConfig(raw: Record<string, unknown>): Config['metrics'] {
  const token = raw.metricsToken as string | null;
  const listen = raw.metricsListen as string | null;
  // INVARIANT: a guessable scrape token would reopen what it closes
  if (token !== null && (token.length < 32 || /\s/.test(token))) throw new ConfigInvalidError('configuration key `metricsToken` must be 32 characters or more without spaces (e.g. `openssl rand -hex 32`)');
  return Object.freeze({ token, listen: listen === null ? null : parseHostPort(listen, 'metricsListen') });
}

/** `trustProxy`: `none` (the default) or addresses and CIDRs of the proxies in front of Coffer. */
function trustProxyOf(list: string[]): readonly string[] {
  if (list.length === 1 && list[0] === 'none') return Object.freeze([]);
  for (const entry of list) {
    const [address, bits] = entry.split('/');
    if (isIP(address ?? '') === 0 || (bits !== undefined && !/^\d{1,3}$/.test(bits))) throw new ConfigInvalidError(`configuration key \`trustProxy\` must list addresses or CIDRs (or be \`none\`), got \`${entry.slice(0, 60)}\``);
  }
  return Object.freeze([...list]);
}

/** The blob store from the flat `blobS3*` keys; they are refused with the filesystem store. */
function blobStoreConfig(raw: Record<string, unknown>): BlobStoreConfig {
  const s3Keys = ['blobS3Endpoint', 'blobS3Bucket', 'blobS3Prefix', 'blobS3AccessKeyId', 'blobS3SecretAccessKey', 'blobS3SessionToken'];
  if (raw.blobStore === 'fs') {
    const stray = s3Keys.find((k) => raw[k] !== null);
    if (stray !== undefined) throw new ConfigInvalidError(`configuration key \`${stray}\` needs \`blobStore\` = \`s3\``);
    return Object.freeze({ kind: 'fs' });
  }
  const bucket = raw.blobS3Bucket as string | null;
  // the S3 rules for bucket names, so a typo fails at start rather than at the first upload
  if (bucket === null || !/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket) || bucket.includes('..')) {
    throw new ConfigInvalidError('configuration key `blobS3Bucket` must name an S3 bucket (3-63 of a-z 0-9 . -) with `blobStore` = `s3`');
  }
  const prefix = (raw.blobS3Prefix as string | null) ?? '';
  if (!/^(?:(?!\.\.?\/)[A-Za-z0-9._-]+\/)*$/.test(prefix) || prefix.length > 256) throw new ConfigInvalidError('configuration key `blobS3Prefix` must be empty or end with `/`, with segments of A-Z a-z 0-9 . _ - (not `.` or `..`)');
  return Object.freeze({
    kind: 's3',
    endpoint: httpOrigin(raw.blobS3Endpoint as string | null, 'blobS3Endpoint'),
    region: raw.blobS3Region as string,
    bucket,
    prefix,
    forcePathStyle: raw.blobS3PathStyle === 1,
    credentials: awsCredentials(raw, 'blobS3AccessKeyId', 'blobS3SecretAccessKey', 'blobS3SessionToken'),
    conditionalCreate: raw.blobS3ConditionalCreate as 'auto' | 'all' | 'put' | 'none',
    partSize: raw.blobS3PartSize as number,
    concurrency: raw.blobS3Concurrency as number,
  });
}

/**
 * The key provider. `auto` keeps the embedded default: `env` when `rootKey` is set, else
 * the generated `root.key` file in the data directory. Settings of another provider are
 * refused, so a half-configured HSM or KMS never falls back to a key file silently.
 */
function keyProviderConfig(raw: Record<string, unknown>, dataDir: string): KeyProviderConfig {
  const kind = raw.keyProvider === 'auto' ? (raw.rootKey !== null ? 'env' : 'file') : (raw.keyProvider as 'file' | 'env' | 'pkcs11' | 'kms');
  const owned: Record<typeof kind, string[]> = {
    file: [],
    env: ['rootKey'],
    pkcs11: ['pkcs11Module', 'pkcs11TokenLabel', 'pkcs11Pin', 'pkcs11PinFile'],
    kms: ['kmsKeyId', 'kmsEndpoint', 'kmsAccessKeyId', 'kmsSecretAccessKey', 'kmsSessionToken'],
  };
  for (const [other, keys] of Object.entries(owned)) {
    if (other === kind) continue;
    const stray = keys.find((k) => raw[k] !== null);
    if (stray !== undefined) throw new ConfigInvalidError(`configuration key \`${stray}\` does not apply to \`keyProvider\` = \`${kind}\``);
  }
  const need = (key: string): string => {
    const value = raw[key];
    if (typeof value !== 'string') throw new ConfigInvalidError(`configuration key \`${key}\` must be set with \`keyProvider\` = \`${kind}\``);
    return value;
  };
  const previousRootKey = raw.rootKeyPrevious as string | null;
  switch (kind) {
    case 'file':
      return Object.freeze({ kind, path: resolve(dataDir, 'root.key'), previousRootKey });
    case 'env':
      return Object.freeze({ kind, rootKey: need('rootKey'), previousRootKey });
    case 'pkcs11': {
      const pin = raw.pkcs11Pin as string | null;
      const pinFile = raw.pkcs11PinFile as string | null;
      if ((pin === null) === (pinFile === null)) throw new ConfigInvalidError('exactly one of configuration keys `pkcs11Pin` and `pkcs11PinFile` must be set with `keyProvider` = `pkcs11`');
      return Object.freeze({ kind, module: need('pkcs11Module'), tokenLabel: need('pkcs11TokenLabel'), pin, pinFile, keyLabel: raw.pkcs11KeyLabel as string, previousRootKey });
    }
    case 'kms':
      return Object.freeze({
        kind,
        keyId: need('kmsKeyId'),
        region: raw.kmsRegion as string,
        endpoint: httpOrigin(raw.kmsEndpoint as string | null, 'kmsEndpoint'),
        credentials: awsCredentials(raw, 'kmsAccessKeyId', 'kmsSecretAccessKey', 'kmsSessionToken'),
        previousRootKey,
      });
  }
}

/** An http(s) origin with no credentials, path or query in it (null stays null). */
function httpOrigin(value: string | null, key: string): string | null {
  if (value === null) return null;
  let url: URL | null = null;
  try {
    url = new URL(value);
  } catch {
    url = null;
  }
  // INVARIANT: an endpoint never carries credentials, so it can be logged and shown as is
  if (url === null || (url.protocol !== 'https:' && url.protocol !== 'http:') || url.username !== '' || url.password !== '' || url.pathname !== '/' || url.search !== '' || url.hash !== '') {
    throw new ConfigInvalidError(`configuration key \`${key}\` must be an http(s) origin such as \`https://s3.example.com:9000\`, without credentials or a path`);
  }
  return url.origin;
}

/** Static AWS credentials from three keys: id and secret both or neither; a session token needs them. */
function awsCredentials(raw: Record<string, unknown>, idKey: string, secretKey: string, tokenKey: string): { accessKeyId: string; secretAccessKey: string; sessionToken?: string } | null {
  const accessKeyId = raw[idKey] as string | null;
  const secretAccessKey = raw[secretKey] as string | null;
  const sessionToken = raw[tokenKey] as string | null;
  if ((accessKeyId === null) !== (secretAccessKey === null)) throw new ConfigInvalidError(`configuration keys \`${idKey}\` and \`${secretKey}\` must be given together`);
  if (accessKeyId === null || secretAccessKey === null) {
    if (sessionToken !== null) throw new ConfigInvalidError(`configuration key \`${tokenKey}\` needs \`${idKey}\` and \`${secretKey}\``);
    return null;
  }
  return Object.freeze({ accessKeyId, secretAccessKey, ...(sessionToken === null ? {} : { sessionToken }) });
}

/** The access module's settings from the flat keys; a webhook URL needs its secret. */
function accessConfig(raw: Record<string, unknown>): AccessConfig {
  const webhookUrl = raw.webhookUrl as string | null;
  const webhookSecret = raw.webhookSecret as string | null;
  if (webhookUrl !== null) {
    let url: URL;
    try {
      url = new URL(webhookUrl);
    } catch {
      throw new ConfigInvalidError('configuration key `webhookUrl` must be an http(s) URL');
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new ConfigInvalidError('configuration key `webhookUrl` must be an http(s) URL');
    // receivers must be able to tell our deliveries from forgeries
    if (webhookSecret === null || webhookSecret.length < 16) throw new ConfigInvalidError('configuration key `webhookSecret` must be set (16 characters or more) with `webhookUrl`');
  }
  return Object.freeze({
    maxSeconds: Object.freeze({ reader: raw.accessMaxReaderSeconds as number, writer: raw.accessMaxWriterSeconds as number, owner: raw.accessMaxOwnerSeconds as number }),
    requestTtlSeconds: raw.accessRequestTtlSeconds as number,
    approvals: raw.accessApprovals as number,
    approvalsRestricted: raw.accessApprovalsRestricted as number,
    autoApproveTier: raw.accessAutoApproveTier as AccessConfig['autoApproveTier'],
    breakGlassMaxSeconds: raw.breakGlassMaxSeconds as number,
    stepUpMaxAgeSeconds: raw.stepUpMaxAgeSeconds as number,
    shareMaxSeconds: raw.shareMaxSeconds as number,
    promotionApprovals: Object.freeze({ staging: raw.promotionApprovalsStaging as number, prod: raw.promotionApprovalsProd as number }),
    webhookUrl,
    webhookSecret,
    webhookFormat: raw.webhookFormat as AccessConfig['webhookFormat'],
  });
}

/** Monitoring settings; a webhook URL needs its secret, syslog is `udp://host:port`. */
function monitorConfig(raw: Record<string, unknown>): MonitorConfig {
  const webhookUrl = raw.monitorWebhookUrl as string | null;
  const webhookSecret = raw.monitorWebhookSecret as string | null;
  if (webhookUrl !== null) {
    let url: URL | null = null;
    try {
      url = new URL(webhookUrl);
    } catch {
      url = null;
    }
    if (url === null || (url.protocol !== 'https:' && url.protocol !== 'http:')) throw new ConfigInvalidError('configuration key `monitorWebhookUrl` must be an http(s) URL');
    // receivers must be able to tell our alerts from forgeries
    if (webhookSecret === null || webhookSecret.length < 16) throw new ConfigInvalidError('configuration key `monitorWebhookSecret` must be set (16 characters or more) with `monitorWebhookUrl`');
  }
  const syslog = raw.monitorSyslog as string | null;
  if (syslog !== null && !/^udp:\/\/(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):\d{1,5}$/.test(syslog)) throw new ConfigInvalidError('configuration key `monitorSyslog` must be udp://HOST:PORT');
  return Object.freeze({
    enabled: raw.monitorEnabled === 1,
    rulesFile: raw.monitorRulesFile as string | null,
    alertFile: raw.monitorAlertFile as string | null,
    webhookUrl,
    webhookSecret,
    syslog,
    reviewStaleDays: raw.reviewStaleDays as number,
    reviewReminderHours: raw.reviewReminderHours as number,
    recommendWindowDays: raw.recommendWindowDays as number,
  });
}

/** The identity module's settings; a public URL must be an http(s) origin. */
function identityConfig(raw: Record<string, unknown>): IdentityConfig {
  const publicUrl = raw.publicUrl as string | null;
  if (publicUrl !== null) {
    let url: URL | null = null;
    try {
      url = new URL(publicUrl);
    } catch {
      url = null;
    }
    if (url === null || (url.protocol !== 'https:' && url.protocol !== 'http:') || url.pathname !== '/' || url.search !== '') {
      throw new ConfigInvalidError('configuration key `publicUrl` must be an http(s) origin such as `https://coffer.example.com`');
    }
  }
  return Object.freeze({
    publicUrl: publicUrl === null ? null : new URL(publicUrl).origin,
    tokenIssuer: raw.tokenIssuer as string,
    accessTokenTtlSeconds: raw.accessTokenTtlSeconds as number,
    sessionTtlSeconds: raw.sessionTtlSeconds as number,
    servicePatMaxTtlSeconds: raw.servicePatMaxTtlSeconds as number,
    requireStepUpForUserTokens: raw.requireStepUpForUserTokens === 1,
    mintedCredentialMaxTtlSeconds: raw.mintedCredentialMaxTtlSeconds as number,
  });
}

/** Variables the CLI client reads; the server ignores them. */
const CLIENT_ENV = new Set(['COFFER_URL', 'COFFER_TOKEN', 'COFFER_CONFIG', 'COFFER_CREDENTIALS_FILE', 'COFFER_CA_FILE']);

function assign(target: Record<string, unknown>, source: Record<string, unknown>, where: string): void {
  for (const [key, value] of Object.entries(source)) {
    const field = SCHEMA[key];
    if (field === undefined) {
      throw new ConfigInvalidError(`unknown configuration key \`${key}\` in ${where}: known keys are ${CONFIG_KEYS.join(', ')}`);
    }
    target[key] = coerce(key, field, value, where);
  }
}

function coerce(key: string, field: Field, value: unknown, where: string): unknown {
  const bad = (expected: string) =>
    new ConfigInvalidError(`configuration key \`${key}\` in ${where} must be ${expected}`);
  switch (field.kind) {
    case 'string':
      if (typeof value !== 'string' || value.length === 0) throw bad('a non-empty string');
      if (field.choices !== undefined && !field.choices.includes(value)) throw bad(`one of ${field.choices.join(', ')}`);
      return value;
    case 'nullable-string':
      if (value === null || value === '') return null;
      if (typeof value !== 'string') throw bad('a string');
      return value;
    case 'level':
      if (typeof value !== 'string' || !LEVELS.includes(value)) throw bad(`one of ${LEVELS.join(', ')}`);
      return value;
    case 'hostport':
      if (typeof value !== 'string') throw bad('HOST:PORT');
      parseHostPort(value, key, where);
      return value;
    case 'string-list': {
      // a JSON array in a file, comma-separated in the environment or a flag
      const list = typeof value === 'string' ? value.split(',').map((v) => v.trim()) : value;
      if (!Array.isArray(list) || list.length === 0 || !list.every((v) => typeof v === 'string' && v.length > 0)) throw bad('a non-empty list of strings');
      return list;
    }
    case 'int': {
      const n = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value;
      if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < (field.min ?? 0) || n > (field.max ?? Number.MAX_SAFE_INTEGER)) {
        throw bad(`an integer from ${field.min ?? 0} to ${field.max ?? Number.MAX_SAFE_INTEGER}`);
      }
      return n;
    }
  }
}

function parseHostPort(value: unknown, key = 'listen', where = 'configuration'): { host: string; port: number } {
  const s = String(value);
  const m = /^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(s);
  const port = m ? Number(m[2]) : NaN;
  if (!m || port > 65535) {
    throw new ConfigInvalidError(`configuration key \`${key}\` in ${where} must be HOST:PORT, got \`${s}\``);
  }
  return Object.freeze({ host: m[1]!.replace(/^\[|\]$/g, ''), port });
}
