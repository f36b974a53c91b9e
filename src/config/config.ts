import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { ConfigInvalidError } from '../domain/errors.js';

/** Coffer's configuration, parsed once at start and frozen. */
export interface Config {
  /** Everything the embedded default keeps: SQLite database, blobs, root key file. */
  readonly dataDir: string;
  readonly listen: { readonly host: string; readonly port: number };
  /** PostgreSQL URL; null means SQLite in `dataDir` (the embedded default). */
  readonly databaseUrl: string | null;
  /** TLS from PEM files; both or neither. */
  readonly tls: { readonly certFile: string; readonly keyFile: string } | null;
  readonly logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /** Largest JSON request body in bytes. */
  readonly maxJsonBytes: number;
  /** Largest artifact version in bytes. */
  readonly maxUploadBytes: number;
  /** Plaintext segment size of the encrypted object format. */
  readonly segmentSize: number;
  /** A signed audit checkpoint every this many records. */
  readonly auditCheckpointEvery: number;
  /** Root key as base64 (32 bytes) instead of the generated key file. */
  readonly rootKey: string | null;
  /** Default lifetime of API tokens in seconds; 0 = no expiry. */
  readonly tokenTtlSeconds: number;
}

type Kind = 'string' | 'nullable-string' | 'int' | 'level' | 'hostport';

interface Field {
  kind: Kind;
  env: string;
  default: unknown;
  min?: number;
  max?: number;
}

const LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/** The one schema: every key, its type, its default and its environment variable. */
const SCHEMA: Record<string, Field> = {
  dataDir: { kind: 'string', env: 'COFFER_DATA_DIR', default: './coffer-data' },
  listen: { kind: 'hostport', env: 'COFFER_LISTEN', default: '127.0.0.1:7070' },
  databaseUrl: { kind: 'nullable-string', env: 'COFFER_DATABASE_URL', default: null },
  tlsCertFile: { kind: 'nullable-string', env: 'COFFER_TLS_CERT_FILE', default: null },
  tlsKeyFile: { kind: 'nullable-string', env: 'COFFER_TLS_KEY_FILE', default: null },
  logLevel: { kind: 'level', env: 'COFFER_LOG_LEVEL', default: 'info' },
  maxJsonBytes: { kind: 'int', env: 'COFFER_MAX_JSON_BYTES', default: 1024 * 1024, min: 1024, max: 64 * 1024 * 1024 },
  maxUploadBytes: { kind: 'int', env: 'COFFER_MAX_UPLOAD_BYTES', default: 1024 ** 4, min: 1, max: Number.MAX_SAFE_INTEGER },
  segmentSize: { kind: 'int', env: 'COFFER_SEGMENT_SIZE', default: 64 * 1024, min: 4096, max: 16 * 1024 * 1024 },
  auditCheckpointEvery: { kind: 'int', env: 'COFFER_AUDIT_CHECKPOINT_EVERY', default: 1000, min: 1, max: 1_000_000 },
  rootKey: { kind: 'nullable-string', env: 'COFFER_ROOT_KEY', default: null },
  tokenTtlSeconds: { kind: 'int', env: 'COFFER_TOKEN_TTL_SECONDS', default: 90 * 24 * 3600, min: 0, max: 10 * 365 * 24 * 3600 },
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
  const config: Config = {
    dataDir: resolve(raw.dataDir as string),
    listen,
    databaseUrl: raw.databaseUrl as string | null,
    tls: cert !== null && key !== null ? Object.freeze({ certFile: cert, keyFile: key }) : null,
    logLevel: raw.logLevel as Config['logLevel'],
    maxJsonBytes: raw.maxJsonBytes as number,
    maxUploadBytes: raw.maxUploadBytes as number,
    segmentSize: raw.segmentSize as number,
    auditCheckpointEvery: raw.auditCheckpointEvery as number,
    rootKey: raw.rootKey as string | null,
    tokenTtlSeconds: raw.tokenTtlSeconds as number,
  };
  return Object.freeze(config);
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
