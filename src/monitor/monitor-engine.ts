import { STATE_VERSION, clearWindows, decodePrincipal, encodePrincipal, initialPrincipalState, isIdleSource, stepPrincipal } from './detector-set.js';
import type { PrincipalState } from './detector-set.js';
import type { Finding } from './finding.js';
import type { MonitorEvent } from './monitor-event.js';
import type { MonitorRules } from './rules.js';

/** How often (in record time) idle unauthenticated sources are forgotten. */
const SWEEP_EVERY_MS = 5 * 60_000;
/**
 * Unauthenticated sources (`ip:<address>`) held at most. Anyone can make one per address
 * (an IPv6 /64 holds 2^64), so without a bound a spray of failed authentications from
 * fresh addresses would grow the state, and the server's memory, until the next sweep.
 * Beyond it the least recently active source is forgotten: a source that sends one
 * request per address never reaches a per-address threshold anyway.
 */
export const MAX_UNAUTHENTICATED_SOURCES = 10_000;

/** The states changed since the last save: what {@link MonitorEngine.changes} hands to the store, and back to `commit`. */
export interface StateChanges {
  /** The last record the states account for. */
  seq: number;
  /** [principal key, stored JSON, or null for a state dropped]. */
  states: Array<[string, string | null]>;
  /** The change counter of each key when it was encoded (a key changed again since stays dirty). */
  readonly versions: ReadonlyMap<string, number>;
}

/**
 * The detectors' state for every principal, fed one event at a time in seq order.
 * Keeps which principals changed since the last save, so only those are persisted
 * (one row per principal, each bounded whatever its traffic). Used as is by the live
 * monitor and by the simulation.
 */
export class MonitorEngine {
  readonly #states = new Map<string, PrincipalState>();
  /** The unauthenticated source keys held, least recently active first. */
  readonly #sources = new Map<string, true>();
  /** Principal key -> change counter at its last change, for the keys not yet saved since. */
  readonly #dirty = new Map<string, number>();
  /** Principal key -> bytes of its last saved state. */
  readonly #stored = new Map<string, number>();
  #storedBytes = 0;
  #changes = 0;
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

  /** Bytes of the states as last saved (the state stored in the database). */
  get storedBytes(): number {
    return this.#storedBytes;
  }

  /** Bytes of the largest state as last saved (O(principals): for metrics scrapes). */
  largestStoredState(): number {
    let max = 0;
    for (const n of this.#stored.values()) if (n > max) max = n;
    return max;
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
    let state = this.#states.get(key);
    if (state === undefined) {
      state = initialPrincipalState();
      this.#states.set(key, state);
    }
    if (key.startsWith('ip:')) this.#touchSource(key);
    const findings = stepPrincipal(state, event, this.rules);
    this.#dirty.set(key, ++this.#changes);
    if (event.time - this.#sweptAt >= SWEEP_EVERY_MS) this.#sweep(event.time);
    return findings;
  }

  /** Moves `key` to the back of the sources (most recently active); forgets the least recently active beyond the bound. */
  #touchSource(key: string): void {
    this.#sources.delete(key);
    this.#sources.set(key, true);
    if (this.#sources.size <= MAX_UNAUTHENTICATED_SOURCES) return;
    const oldest = this.#sources.keys().next().value as string;
    this.#forget(oldest);
  }

  #forget(key: string): void {
    this.#states.delete(key);
    this.#sources.delete(key);
    this.#dirty.set(key, ++this.#changes);
  }

  /** Drops unauthenticated sources with nothing left in their windows: they are many and short-lived. */
  #sweep(now: number): void {
    this.#sweptAt = now;
    for (const key of [...this.#sources.keys()]) {
      if (isIdleSource(this.#states.get(key)!, now, this.rules)) this.#forget(key);
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
    clearWindows(s);
    this.#dirty.set(key, ++this.#changes);
  }

  /** The state of one principal (a copy: decoded from its stored form), or null. */
  stateOf(key: string): PrincipalState | null {
    const s = this.#states.get(key);
    return s === undefined ? null : decodePrincipal(encodePrincipal(s));
  }

  /** The stored form of one principal's state, or null. */
  snapshotOf(key: string): string | null {
    const s = this.#states.get(key);
    return s === undefined ? null : encodePrincipal(s);
  }

  /** The states changed since the last commit, encoded, and the seq they are valid up to. Call `commit` once they are stored. */
  changes(): StateChanges {
    const states: Array<[string, string | null]> = [];
    const versions = new Map(this.#dirty);
    for (const key of this.#dirty.keys()) {
      const s = this.#states.get(key);
      states.push([key, s === undefined ? null : encodePrincipal(s)]);
    }
    return { seq: this.#lastSeq, states, versions };
  }

  /** Marks stored changes as saved (a key changed again after `changes()` stays dirty). */
  commit(c: StateChanges): void {
    for (const [key, json] of c.states) {
      if (this.#dirty.get(key) === c.versions.get(key)) this.#dirty.delete(key);
      this.#storedBytes -= this.#stored.get(key) ?? 0;
      if (json === null) this.#stored.delete(key);
      else {
        this.#stored.set(key, json.length);
        this.#storedBytes += json.length;
      }
    }
  }

  /**
   * Loads stored states (at start). A state that cannot be read (damaged, or of an
   * unknown version) is dropped: it is rebuilt as events arrive. States of version 1
   * are upgraded, and saved again in the current form at the next save.
   */
  restore(seq: number, states: Iterable<[string, string]>): void {
    this.#states.clear();
    this.#sources.clear();
    this.#dirty.clear();
    this.#stored.clear();
    this.#storedBytes = 0;
    for (const [key, json] of states) {
      try {
        this.#states.set(key, decodePrincipal(json));
        if (key.startsWith('ip:')) this.#touchSource(key);
        this.#stored.set(key, json.length);
        this.#storedBytes += json.length;
        if (!json.startsWith(`{"v":${STATE_VERSION},`)) this.#dirty.set(key, ++this.#changes);
      } catch {
        // a state that cannot be read is rebuilt from new events
      }
    }
    this.#lastSeq = seq;
  }
}
