import { STATE_VERSION, clearWindows, initialPrincipalState, isIdleSource, stepPrincipal } from './detector-set.js';
import type { PrincipalState } from './detector-set.js';
import type { Finding } from './finding.js';
import type { MonitorEvent } from './monitor-event.js';
import type { MonitorRules } from './rules.js';

/** How often (in record time) idle unauthenticated sources are forgotten. */
const SWEEP_EVERY_MS = 5 * 60_000;

/**
 * The detectors' state for every principal, fed one event at a time in seq order.
 * Holds what changed since the last snapshot so only that is persisted.
 * Used as is by the live monitor and by the simulation.
 */
export class MonitorEngine {
  readonly #states = new Map<string, PrincipalState>();
  readonly #dirty = new Set<string>();
  #lastSeq = 0;
  #sweptAt = 0;

  constructor(readonly rules: MonitorRules) {}

  /** Seq of the last event processed (0 before any). */
  get lastSeq(): number {
    return this.#lastSeq;
  }

  /** Number of principals (and unauthenticated sources) with state. */
  get size(): number {
    return this.#states.size;
  }

  /**
   * Runs the detectors on `event` and returns what they found. Events at or below the
   * last processed seq are ignored (a replay after a restart starts where the snapshot
   * ended, and a record is never counted twice).
   */
  process(event: MonitorEvent): Finding[] {
    if (event.seq <= this.#lastSeq) return [];
    this.#lastSeq = event.seq;
    const key = event.principalKey;
    const before = this.#states.get(key) ?? initialPrincipalState();
    const { state, findings } = stepPrincipal(before, event, this.rules);
    this.#states.set(key, state);
    this.#dirty.add(key);
    if (event.time - this.#sweptAt >= SWEEP_EVERY_MS) this.#sweep(event.time);
    return findings;
  }

  /** Drops unauthenticated sources with nothing left in their windows: they are many and short-lived. */
  #sweep(now: number): void {
    this.#sweptAt = now;
    for (const [key, s] of this.#states) {
      if (key.startsWith('ip:') && isIdleSource(s, now, this.rules)) {
        this.#states.delete(key);
        this.#dirty.add(key);
      }
    }
  }

  /** Skips records that carry nothing for the detectors, so `lastSeq` still moves on. */
  skip(seq: number): void {
    if (seq > this.#lastSeq) this.#lastSeq = seq;
  }

  /** Clears the short windows and cooldowns of a principal (after an administrator's review). */
  clearWindows(key: string): void {
    const s = this.#states.get(key);
    if (s === undefined) return;
    this.#states.set(key, clearWindows(s));
    this.#dirty.add(key);
  }

  /** The state of one principal (a copy), or null. */
  stateOf(key: string): PrincipalState | null {
    const s = this.#states.get(key);
    return s === undefined ? null : (JSON.parse(JSON.stringify(s)) as PrincipalState);
  }

  /**
   * The states changed since the last call, as JSON (null = deleted), and the seq they
   * are valid up to. Call `commit` once they are stored.
   */
  changes(): { seq: number; states: Array<[string, string | null]> } {
    const states: Array<[string, string | null]> = [];
    for (const key of this.#dirty) {
      const s = this.#states.get(key);
      states.push([key, s === undefined ? null : JSON.stringify(s)]);
    }
    return { seq: this.#lastSeq, states };
  }

  /** Marks the given keys as stored (keys changed again since stay dirty if their JSON differs). */
  commit(stored: ReadonlyArray<[string, string | null]>): void {
    for (const [key, json] of stored) {
      const s = this.#states.get(key);
      const now = s === undefined ? null : JSON.stringify(s);
      if (now === json) this.#dirty.delete(key);
    }
  }

  /** Loads stored states (at start). States of another version are dropped: they are rebuilt as events arrive. */
  restore(seq: number, states: Iterable<[string, string]>): void {
    this.#states.clear();
    this.#dirty.clear();
    for (const [key, json] of states) {
      try {
        const s = JSON.parse(json) as PrincipalState;
        if (s.v === STATE_VERSION) this.#states.set(key, s);
      } catch {
        // a state that cannot be read is rebuilt from new events
      }
    }
    this.#lastSeq = seq;
  }
}
