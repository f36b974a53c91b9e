import type { Tier } from '../domain/types.js';
import type { MonitorEvent } from './monitor-event.js';
import { parseResource } from './monitor-event.js';
import { deviceKey, sourceNetwork } from './network.js';

/** Test helper: a MonitorEvent with sensible defaults (a download attempt by `dana`). */
/** Overrides of {@link ev}: any event field, plus the source `ip` and user agent `ua`. */
export type EventSpec = Partial<MonitorEvent> & { seq: number; time: number; ip?: string; ua?: string };

export function ev(over: EventSpec): MonitorEvent {
  const actor = over.actor === undefined ? { id: 'prn_dana', name: 'dana', kind: 'user' } : over.actor;
  const resource = over.resource ?? 'project/vision/artifact/datasets/a@1';
  const ip = over.ip ?? '10.1.2.3';
  const e: MonitorEvent = {
    seq: over.seq,
    time: over.time,
    principalKey: over.principalKey ?? (actor === null ? `ip:${ip}` : actor.id),
    actor,
    action: over.action ?? 'download',
    resource,
    decision: over.decision ?? 'allow',
    outcome: over.outcome ?? 'attempt',
    bytes: over.bytes ?? null,
    reason: over.reason ?? null,
    sourceIp: ip,
    network: over.network ?? sourceNetwork(ip),
    device: over.device ?? deviceKey({ userAgent: over.ua ?? 'coffer-cli/0.1.0' }),
    target: over.target === undefined ? parseResource(resource) : over.target,
    tier: over.tier === undefined ? 'internal' : over.tier,
    grantIds: over.grantIds ?? [],
  };
  return e;
}

/** A download (attempt then completion `ms` later) of `bytes` of artifact `art` at `time`; seqs from `seq`. */
export function download(seq: number, time: number, art: string, bytes: number, extra: { tier?: Tier | null; ms?: number; ip?: string; actor?: MonitorEvent['actor'] } = {}): MonitorEvent[] {
  const resource = `project/vision/artifact/${art}@1`;
  const base = { resource, ...(extra.tier !== undefined ? { tier: extra.tier } : {}), ...(extra.ip ? { ip: extra.ip } : {}), ...(extra.actor !== undefined ? { actor: extra.actor } : {}) };
  return [ev({ ...base, seq, time }), ev({ ...base, seq: seq + 1, time: time + (extra.ms ?? 1000), outcome: 'success', bytes })];
}

/** Deep-freezes a value (tests check detectors never mutate their input state). */
export function frozen<T>(o: T): T {
  if (typeof o === 'object' && o !== null) {
    for (const v of Object.values(o)) frozen(v);
    Object.freeze(o);
  }
  return o;
}
