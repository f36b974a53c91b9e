import type { Finding, RuleId } from '../finding.js';
import type { MonitorEvent } from '../monitor-event.js';
import type { MonitorRules } from '../rules.js';
import type { EvidenceRing } from '../window/evidence-ring.js';

/** What a detector step sees besides its own state and the event. */
export interface StepContext {
  rules: MonitorRules;
  /**
   * The principal's clock: the latest record time seen so far (never earlier than the
   * event's). Windows move on it, so a record stamped a little before the previous one
   * (concurrent requests) is counted as at the latest time, never in a past slot.
   */
  now: number;
  /** The principal's newest download records (evidence of volume findings), this one included. */
  downloads: EvidenceRing;
}

/**
 * A detector over the audit stream, per principal. Time is the records', never the
 * wall clock, so a simulation can replay days in seconds and a restart can rebuild
 * state by replaying records.
 *
 * INVARIANT: `step` updates `state` in place in O(1) amortized per record (sliding sums
 * over time slots, bounded queues: never a rebuild of a window) and keeps it within a
 * size that does not depend on the traffic. `decode(encode(s))` continues exactly as
 * `s` would: a state saved anywhere and restored gives the same findings as an
 * uninterrupted run. `decode` throws StateFormatError on anything else.
 */
export interface Detector<S> {
  readonly rule: RuleId;
  initial(): S;
  /** Runs on one record of the principal; returns what it found. */
  step(state: S, event: MonitorEvent, ctx: StepContext): Finding[];
  /** Forgets the short windows and cooldowns (after an administrator's review); keeps what was learned. */
  clearWindows(state: S): void;
  /** Plain JSON data. */
  encode(state: S): unknown;
  decode(json: unknown): S;
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
