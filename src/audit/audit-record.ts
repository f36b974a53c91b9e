import { createHash } from 'node:crypto';
import { ValidationError } from '../domain/errors.js';
import type { AuditEvent } from './audit-event.js';
import { hmacSensitive, type AuditKeys } from './audit-keys.js';
import { canonicalJson } from './canonical-json.js';

/** Format version of record bodies (`v`). Bump it for any change to the body or hash. */
export const AUDIT_FORMAT_VERSION = 1;

/** The previous hash of record 1: 64 zeros. */
export const GENESIS_HASH = '0'.repeat(64);

/** A record body of format version 1, as stored (canonical JSON of this object). */
export interface AuditBodyV1 {
  v: 1;
  seq: number;
  time: number;
  requestId: string;
  actor: { id: string; name: string; kind: string } | null;
  action: string;
  resource: string;
  decision: 'allow' | 'deny';
  policies: string[];
  outcome: 'attempt' | 'success' | 'failure' | 'denied';
  bytes: number | null;
  reason: string | null;
  context: Record<string, unknown>;
  /** Name -> `hmac-sha256:` + hex HMAC of the value. */
  sensitive: Record<string, string>;
}

const BODY_KEYS = [
  'action', 'actor', 'bytes', 'context', 'decision', 'outcome', 'policies', 'reason', 'requestId', 'resource', 'seq', 'sensitive', 'time', 'v',
].sort();

/**
 * The body of record `seq` for `event`, without its seq yet: every value the event
 * carries, sensitive values replaced by their HMAC. Absent optional fields are `null`
 * so every body has the same keys. Throws ValidationError if the event holds a value
 * JSON cannot represent exactly (see canonicalJson).
 */
export function auditBodyOf(event: AuditEvent, keys: Pick<AuditKeys, 'hmacKey'>): Omit<AuditBodyV1, 'seq'> {
  const sensitive: Record<string, string> = {};
  for (const [name, value] of Object.entries(event.sensitive ?? {})) {
    if (typeof value !== 'string') throw new ValidationError('audit event is not valid', { detail: `sensitive value \`${name}\` is not a string` });
    // only the keyed HMAC reaches the record: the value itself is never stored
    sensitive[name] = hmacSensitive(keys, value);
  }
  const body: Omit<AuditBodyV1, 'seq'> = {
    v: AUDIT_FORMAT_VERSION,
    time: event.time,
    requestId: event.requestId,
    actor: event.actor === null ? null : { id: event.actor.id, name: event.actor.name, kind: event.actor.kind },
    action: event.action,
    resource: event.resource,
    decision: event.decision,
    policies: [...event.policies],
    outcome: event.outcome,
    bytes: event.bytes ?? null,
    reason: event.reason ?? null,
    context: event.context,
    sensitive,
  };
  canonicalJson(body);
  const error = checkBodyFields({ ...body, seq: 1 });
  // a body that verification would call malformed must never enter the chain
  if (error !== null) throw new ValidationError('audit event is not valid', { detail: error });
  return body;
}

/** Canonical JSON text of a body with its seq. */
export function serializeAuditBody(body: Omit<AuditBodyV1, 'seq'>, seq: number): string {
  return canonicalJson({ ...body, seq });
}

/** `hash = SHA-256(body bytes (UTF-8) || previous hash bytes)`, lowercase hex. */
export function hashAuditRecord(body: string, prevHash: string): string {
  return createHash('sha256').update(body, 'utf8').update(Buffer.from(prevHash, 'hex')).digest('hex');
}

/** True if `s` is 64 lowercase hex digits. */
export function isHash(s: unknown): s is string {
  return typeof s === 'string' && /^[0-9a-f]{64}$/.test(s);
}

/**
 * Parses a stored body: the body if it is the canonical JSON of a valid v1 record,
 * else a short reason (for verification).
 */
export function parseAuditBody(text: string): { body: AuditBodyV1 } | { error: string } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return { error: 'body is not json' };
  }
  const error = checkBodyFields(parsed);
  if (error !== null) return { error };
  try {
    // a body that is valid JSON but not canonical was not written by Coffer
    if (canonicalJson(parsed) !== text) return { error: 'body is not canonical json' };
  } catch {
    return { error: 'body cannot be canonicalized' };
  }
  return { body: parsed as AuditBodyV1 };
}

/** Null if `parsed` has exactly the fields and types of a v1 body, else why not. */
function checkBodyFields(parsed: unknown): string | null {
  if (!isPlainObject(parsed)) return 'body is not an object';
  const o = parsed;
  if (o.v !== AUDIT_FORMAT_VERSION) return `unknown format version \`${String(o.v)}\``;
  const keys = Object.keys(o).sort();
  if (keys.length !== BODY_KEYS.length || keys.some((k, i) => k !== BODY_KEYS[i])) return 'body does not have the fields of a v1 record';
  const ok =
    Number.isSafeInteger(o.seq) && (o.seq as number) > 0 &&
    typeof o.time === 'number' && typeof o.requestId === 'string' &&
    (o.actor === null || isActor(o.actor)) &&
    typeof o.action === 'string' && typeof o.resource === 'string' &&
    (o.decision === 'allow' || o.decision === 'deny') &&
    Array.isArray(o.policies) && o.policies.every((p) => typeof p === 'string') &&
    (o.outcome === 'attempt' || o.outcome === 'success' || o.outcome === 'failure' || o.outcome === 'denied') &&
    (o.bytes === null || typeof o.bytes === 'number') &&
    (o.reason === null || typeof o.reason === 'string') &&
    isPlainObject(o.context) &&
    isPlainObject(o.sensitive) && Object.values(o.sensitive).every((s) => typeof s === 'string');
  return ok ? null : 'body fields do not have the types of a v1 record';
}

function isActor(a: unknown): boolean {
  if (!isPlainObject(a)) return false;
  const o = a;
  return Object.keys(o).length === 3 && typeof o.id === 'string' && typeof o.name === 'string' && typeof o.kind === 'string';
}

function isPlainObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}
