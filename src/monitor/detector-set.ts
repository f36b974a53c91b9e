import type { Finding } from './finding.js';
import type { MonitorEvent } from './monitor-event.js';
import type { MonitorRules } from './rules.js';
import { newSourceDetector, type NewSourceState } from './detectors/new-source.js';
import { offHoursDetector, type OffHoursState } from './detectors/off-hours.js';
import { probingDetector, probingIdle, type ProbingState } from './detectors/probing.js';
import { slowAndLowDetector, type SlowAndLowState } from './detectors/slow-and-low.js';
import { volumeDetector, type VolumeState } from './detectors/volume.js';

/** Version of {@link PrincipalState}; state of another version is dropped and rebuilt. */
export const STATE_VERSION = 1;

/** Everything the detectors know of one principal. Plain JSON data (persisted as is). */
export interface PrincipalState {
  v: typeof STATE_VERSION;
  volume: VolumeState;
  slowAndLow: SlowAndLowState;
  offHours: OffHoursState;
  newSource: NewSourceState;
  probing: ProbingState;
}

/** A principal nobody has seen yet. */
export function initialPrincipalState(): PrincipalState {
  return {
    v: STATE_VERSION,
    volume: volumeDetector.initial(),
    slowAndLow: slowAndLowDetector.initial(),
    offHours: offHoursDetector.initial(),
    newSource: newSourceDetector.initial(),
    probing: probingDetector.initial(),
  };
}

/**
 * Runs every enabled detector on one event of the principal: a pure function, so
 * replaying the same records from the same state always gives the same findings.
 * Unauthenticated traffic (no actor) only feeds the probing detector.
 */
export function stepPrincipal(state: PrincipalState, event: MonitorEvent, rules: MonitorRules): { state: PrincipalState; findings: Finding[] } {
  const findings: Finding[] = [];
  const run = <S>(enabled: boolean, step: () => { state: S; findings: Finding[] }, current: S): S => {
    if (!enabled) return current;
    const r = step();
    findings.push(...r.findings);
    return r.state;
  };
  const authenticated = event.actor !== null;
  const next: PrincipalState = {
    v: STATE_VERSION,
    volume: run(authenticated && rules.volume.action !== 'off', () => volumeDetector.step(state.volume, event, rules), state.volume),
    slowAndLow: run(authenticated && rules.slowAndLow.action !== 'off', () => slowAndLowDetector.step(state.slowAndLow, event, rules), state.slowAndLow),
    offHours: run(authenticated && rules.offHours.action !== 'off', () => offHoursDetector.step(state.offHours, event, rules), state.offHours),
    newSource: run(authenticated && rules.newSource.action !== 'off', () => newSourceDetector.step(state.newSource, event, rules), state.newSource),
    probing: run(rules.probing.action !== 'off', () => probingDetector.step(state.probing, event, rules), state.probing),
  };
  return { state: next, findings };
}

/**
 * The state after an administrator reviewed the principal: short windows and
 * cooldowns are cleared (the events that fired were looked at), what was learned of
 * its habits (baselines, hours, networks) is kept.
 */
export function clearWindows(s: PrincipalState): PrincipalState {
  return {
    ...s,
    volume: { ...s.volume, window: [], lastFinding: null },
    slowAndLow: { ...s.slowAndLow, hours: [], recent: [], lastFinding: null },
    offHours: { ...s.offHours, lastFinding: null },
    probing: { denials: [], reads: [], lastFinding: null },
  };
}

/** True if an unauthenticated source's state can be dropped (nothing in its windows any more). */
export function isIdleSource(s: PrincipalState, now: number, rules: MonitorRules): boolean {
  return probingIdle(s.probing, now, rules);
}
