import { TIERS } from '../domain/types.js';
import type { Tier } from '../domain/types.js';
import { ID_PREFIX } from '../domain/ids.js';
import { deviceKey, sourceNetwork } from './network.js';

/** The actor the monitor writes its own audit records under; its records are never analysed. */
export const MONITOR_ACTOR = { id: 'system:monitor', name: 'coffer-monitor', kind: 'system' } as const;

/** The catalog item an audit record names, from its resource path. */
export interface ResourceTarget {
  project: string;
  artifact: string | null;
  /** A version number or `latest`, as requested. */
  version: string | null;
}

/**
 * An audit record body (format v1) as the detectors read it. The fields are the
 * record's own; `network`, `device`, `target` and `grantIds` are derived from it, and
 * `tier` and `kind` are looked up (the record names the artifact, not its tier).
 */
export interface MonitorEvent {
  seq: number;
  /** Epoch ms, from the record: detectors never read the wall clock. */
  time: number;
  /** Whose behaviour this is: the actor id, or `ip:<source ip>` for an unauthenticated request. */
  principalKey: string;
  actor: { id: string; name: string; kind: string } | null;
  action: string;
  resource: string;
  decision: 'allow' | 'deny';
  outcome: 'attempt' | 'success' | 'failure' | 'denied';
  bytes: number | null;
  reason: string | null;
  sourceIp: string;
  network: string;
  device: string;
  target: ResourceTarget | null;
  tier: Tier | null;
  /** Catalog kind of the artifact (`other` for unclassified S3 keys); null if it names none or is unknown. */
  kind: string | null;
  /** Grants among the determining policies (a grant's link id is its id). */
  grantIds: string[];
  /**
   * How many requests the record stands for: a coalesced record of unauthenticated
   * refusals (audit/anonymous-traffic.ts) counts as many denials as it carries; absent = 1.
   */
  weight?: number;
}

/** A parsed record before its artifact's tier and kind are known. */
export type ParsedEvent = Omit<MonitorEvent, 'tier' | 'kind'>;

const OUTCOMES = new Set(['attempt', 'success', 'failure', 'denied']);

/**
 * Parses a stored audit record (`seq` and its canonical JSON body). Null for a body
 * that is not a v1 record, and for the monitor's own records: the chain is verified
 * elsewhere; the monitor only needs to read what it can trust to be well formed.
 */
export function parseAuditRecord(seq: number, body: string): ParsedEvent | null {
  let o: Record<string, unknown>;
  try {
    const v: unknown = JSON.parse(body);
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return null;
    o = v as Record<string, unknown>;
  } catch {
    return null;
  }
  if (o.v !== 1 || typeof o.time !== 'number' || typeof o.action !== 'string' || typeof o.resource !== 'string') return null;
  if ((o.decision !== 'allow' && o.decision !== 'deny') || typeof o.outcome !== 'string' || !OUTCOMES.has(o.outcome)) return null;
  const named = parseActor(o.actor);
  if (named === undefined) return null;
  if (named !== null && named.kind === MONITOR_ACTOR.kind) return null;
  // INVARIANT: a refused authentication is an outsider's attempt, never the behaviour of the account it named
  // (records written before failed logins had no actor carried the victim); it counts against its source address
  const actor = o.decision === 'deny' && AUTHENTICATION_ACTIONS.has(o.action) ? null : named;
  const context = typeof o.context === 'object' && o.context !== null && !Array.isArray(o.context) ? (o.context as Record<string, unknown>) : {};
  const sourceIp = typeof context.sourceIp === 'string' ? context.sourceIp : '';
  const policies = Array.isArray(o.policies) ? o.policies.filter((p): p is string => typeof p === 'string') : [];
  return {
    seq,
    time: o.time,
    principalKey: actor === null ? `ip:${sourceIp}` : actor.id,
    actor,
    action: o.action,
    resource: o.resource,
    decision: o.decision,
    outcome: o.outcome as MonitorEvent['outcome'],
    bytes: typeof o.bytes === 'number' ? o.bytes : null,
    reason: typeof o.reason === 'string' ? o.reason : null,
    sourceIp,
    network: sourceNetwork(sourceIp),
    device: deviceKey(context),
    target: parseResource(o.resource),
    grantIds: policies.filter((p) => p.startsWith(`${ID_PREFIX.grant}_`)),
    ...(o.action === 'coalesced-refusals' && typeof context.count === 'number' && Number.isSafeInteger(context.count) && context.count > 0 ? { weight: context.count } : {}),
  };
}

/** Actions of authentication itself (logins, step-ups, token exchanges...). */
const AUTHENTICATION_ACTIONS: ReadonlySet<string> = new Set(['login', 'authenticate', 'step-up', 'refresh', 'token-exchange', 'sso-login', 'bootstrap']);

function parseActor(a: unknown): MonitorEvent['actor'] | undefined {
  if (a === null) return null;
  if (typeof a !== 'object' || Array.isArray(a)) return undefined;
  const o = a as Record<string, unknown>;
  if (typeof o.id !== 'string' || typeof o.name !== 'string' || typeof o.kind !== 'string') return undefined;
  return { id: o.id, name: o.name, kind: o.kind };
}

/**
 * The catalog item of a resource path: `project/P`, `project/P/artifact/A` or
 * `project/P/artifact/A@V` (artifact names never hold `@`). Null for anything else
 * (`projects`, `principal/x`, `grant/...`, `audit`).
 */
export function parseResource(resource: string): ResourceTarget | null {
  const m = /^project\/([^/]+)(?:\/artifact\/(.+))?$/.exec(resource);
  if (m === null) return null;
  const project = m[1]!;
  const rest = m[2];
  if (rest === undefined) return { project, artifact: null, version: null };
  const at = rest.lastIndexOf('@');
  if (at < 0) return { project, artifact: rest, version: null };
  return { project, artifact: rest.slice(0, at), version: rest.slice(at + 1) };
}

/** The key of an artifact in detector state: `project/artifact`. */
export function artifactKey(t: ResourceTarget): string | null {
  return t.artifact === null ? null : `${t.project}/${t.artifact}`;
}

/** Completes a parsed record with the tier and kind of its artifact (null if it names none, or an unknown one). */
export function withCatalog(e: ParsedEvent, info: { tier: string; kind: string } | null): MonitorEvent {
  const tier = info !== null && (TIERS as readonly string[]).includes(info.tier) ? (info.tier as Tier) : null;
  return { ...e, tier, kind: info?.kind ?? null };
}
