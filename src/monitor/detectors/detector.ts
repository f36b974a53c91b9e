import type { Finding, RuleId } from '../finding.js';
import type { MonitorEvent } from '../monitor-event.js';
import type { MonitorRules } from '../rules.js';

/** What one step of a detector returns: its next state and what it found. */
export interface StepResult<S> {
  state: S;
  findings: Finding[];
}

/**
 * A detector: a pure function over (state, event) -> (state, findings), per principal.
 * Time is the event's, never the wall clock, so a simulation can replay days in
 * seconds and a restart can rebuild state by replaying records.
 * INVARIANT: `step` never mutates `state`; states are plain JSON data.
 */
export interface Detector<S> {
  readonly rule: RuleId;
  initial(): S;
  step(state: S, event: MonitorEvent, rules: MonitorRules): StepResult<S>;
}

export const MINUTE = 60_000;
export const HOUR = 3_600_000;
export const DAY = 86_400_000;

/** Human form of a byte count (for summaries). */
export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(1)} ${units[i]}`;
}
