import { datasetOf } from './dataset.js';
import type { Detector, StepContext } from './detectors/detector.js';
import { newSourceDetector, type NewSourceState } from './detectors/new-source.js';
import { offHoursDetector, type OffHoursState } from './detectors/off-hours.js';
import { probingDetector, probingIdle, type ProbingState } from './detectors/probing.js';
import { slowAndLowDetector, type SlowAndLowState } from './detectors/slow-and-low.js';
import { volumeDetector, type VolumeState } from './detectors/volume.js';
import type { Finding } from './finding.js';
import type { MonitorEvent } from './monitor-event.js';
import type { MonitorRules } from './rules.js';
import { upgradeStateV1 } from './state-upgrade.js';
import { EvidenceRing } from './window/evidence-ring.js';
import { num, obj, StateFormatError } from './window/state-format.js';

/** Version of the stored {@link PrincipalState}; version 1 (before O(1) detectors) is upgraded, others are dropped and rebuilt. */
export const STATE_VERSION = 2;

/** Everything the detectors know of one principal. Updated in place; stored with {@link encodePrincipal}. */
export interface PrincipalState {
  /** The latest record time seen: the principal's clock, which never goes back (see StepContext.now). */
  clock: number;
  /** Its newest download records, the evidence of volume and slow-and-low findings. */
  downloads: EvidenceRing;
  volume: VolumeState;
  slowAndLow: SlowAndLowState;
  offHours: OffHoursState;
  newSource: NewSourceState;
  probing: ProbingState;
}

/** The detectors, by their key in PrincipalState, with the rules key that turns each off. */
const DETECTORS = [
  ['volume', volumeDetector, 'volume'],
  ['slowAndLow', slowAndLowDetector, 'slowAndLow'],
  ['offHours', offHoursDetector, 'offHours'],
  ['newSource', newSourceDetector, 'newSource'],
  ['probing', probingDetector, 'probing'],
] as const;

type DetectorKey = (typeof DETECTORS)[number][0];

/** A principal nobody has seen yet. */
export function initialPrincipalState(): PrincipalState {
  return {
    clock: 0,
    downloads: new EvidenceRing(),
    volume: volumeDetector.initial(),
    slowAndLow: slowAndLowDetector.initial(),
    offHours: offHoursDetector.initial(),
    newSource: newSourceDetector.initial(),
    probing: probingDetector.initial(),
  };
}

/**
 * Runs every enabled detector on one event of the principal, updating `state` in
 * place. Deterministic: replaying the same records from the same state always gives
 * the same findings. Unauthenticated traffic (no actor) only feeds the probing detector.
 */
export function stepPrincipal(state: PrincipalState, event: MonitorEvent, rules: MonitorRules): Finding[] {
  state.clock = Math.max(state.clock, event.time);
  const authenticated = event.actor !== null;
  if (authenticated && event.action === 'download' && event.decision === 'allow' && datasetOf(event) !== null) state.downloads.push(state.clock, event.seq);
  const ctx: StepContext = { rules, now: state.clock, downloads: state.downloads };
  const findings: Finding[] = [];
  for (const [key, detector, rulesKey] of DETECTORS) {
    if (rules[rulesKey].action === 'off' || (!authenticated && key !== 'probing')) continue;
    const found = (detector as Detector<PrincipalState[DetectorKey]>).step(state[key], event, ctx);
    for (const f of found) findings.push(f);
  }
  return findings;
}

/**
 * After an administrator reviewed the principal: short windows and cooldowns are
 * cleared (the events that fired were looked at), what was learned of its habits
 * (baselines, hours, networks) is kept.
 */
export function clearWindows(s: PrincipalState): void {
  s.downloads.clear();
  for (const [key, detector] of DETECTORS) (detector as Detector<PrincipalState[DetectorKey]>).clearWindows(s[key]);
}

/** True if an unauthenticated source's state can be dropped (nothing in its windows any more). */
export function isIdleSource(s: PrincipalState, now: number, rules: MonitorRules): boolean {
  return probingIdle(s.probing, now, rules);
}

/** The stored form: JSON of plain data, bounded like the state. */
export function encodePrincipal(s: PrincipalState): string {
  const out: Record<string, unknown> = { v: STATE_VERSION, clock: s.clock, downloads: s.downloads.encode() };
  for (const [key, detector] of DETECTORS) out[key] = (detector as Detector<PrincipalState[DetectorKey]>).encode(s[key]);
  return JSON.stringify(out);
}

/**
 * A stored state, decoded; version 1 is upgraded (see state-upgrade.ts). Throws
 * StateFormatError (or SyntaxError) on a state that cannot be read: the caller drops it
 * and the principal is learned again from new records.
 */
export function decodePrincipal(json: string): PrincipalState {
  const o = obj(JSON.parse(json), 'state');
  if (o.v === 1) return upgradeStateV1(o, initialPrincipalState());
  if (o.v !== STATE_VERSION) throw new StateFormatError(`version ${String(o.v)} is not ${STATE_VERSION}`);
  const s = initialPrincipalState();
  s.clock = num(o.clock, 'clock');
  s.downloads = EvidenceRing.decode(o.downloads, 'downloads');
  s.volume = volumeDetector.decode(o.volume);
  s.slowAndLow = slowAndLowDetector.decode(o.slowAndLow);
  s.offHours = offHoursDetector.decode(o.offHours);
  s.newSource = newSourceDetector.decode(o.newSource);
  s.probing = probingDetector.decode(o.probing);
  return s;
}
