import type { Tier } from '../domain/types.js';
import { datasetOf } from './dataset.js';
import type { Detector } from './detectors/detector.js';
import type { Finding } from './finding.js';
import type { MonitorEvent } from './monitor-event.js';
import type { MonitorRules } from './rules.js';
import { EvidenceRing } from './window/evidence-ring.js';
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
    kind: over.kind === undefined ? 'dataset' : over.kind,
    grantIds: over.grantIds ?? [],
  };
  return e;
}

/** A download (attempt then completion `ms` later) of `bytes` of artifact `art` at `time`; seqs from `seq`. */
export function download(seq: number, time: number, art: string, bytes: number, extra: { tier?: Tier | null; kind?: string | null; project?: string; ms?: number; ip?: string; actor?: MonitorEvent['actor'] } = {}): MonitorEvent[] {
  const resource = `project/${extra.project ?? 'vision'}/artifact/${art}@1`;
  const base = {
    resource,
    ...(extra.tier !== undefined ? { tier: extra.tier } : {}),
    ...(extra.kind !== undefined ? { kind: extra.kind } : {}),
    ...(extra.ip ? { ip: extra.ip } : {}),
    ...(extra.actor !== undefined ? { actor: extra.actor } : {}),
  };
  return [ev({ ...base, seq, time }), ev({ ...base, seq: seq + 1, time: time + (extra.ms ?? 1000), outcome: 'success', bytes })];
}

/**
 * Test helper: runs one detector over `events` (updating `state` in place) with the
 * principal's clock and download evidence kept as stepPrincipal keeps them.
 */
export function runDetector<S>(d: Detector<S>, events: MonitorEvent[], rules: MonitorRules, state: S = d.initial(), downloads = new EvidenceRing()): { state: S; findings: Finding[] } {
  const findings: Finding[] = [];
  let clock = 0;
  for (const e of events) {
    clock = Math.max(clock, e.time);
    if (e.actor !== null && e.action === 'download' && e.decision === 'allow' && datasetOf(e) !== null) downloads.push(clock, e.seq);
    findings.push(...d.step(state, e, { rules, now: clock, downloads }));
  }
  return { state, findings };
}
