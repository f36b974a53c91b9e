import type { Finding } from '../finding.js';
import type { MonitorEvent } from '../monitor-event.js';
import type { MonitorRules } from '../rules.js';
import { ReferenceSlowAndLow } from './reference-slow-and-low.js';
import { ReferenceNewSource, ReferenceOffHours, ReferenceProbing } from './reference-sources.js';
import { ReferenceVolume } from './reference-volume.js';

interface Principal {
  clock: number;
  volume: ReferenceVolume;
  slowAndLow: ReferenceSlowAndLow;
  offHours: ReferenceOffHours;
  newSource: ReferenceNewSource;
  probing: ReferenceProbing;
}

/**
 * The detectors as straightforward reference implementations (reference/): what the
 * differential tests hold MonitorEngine to, and what the benchmark measures it against.
 * Same interface, same order of detectors, same clock per principal; O(window) or
 * O(history) per record. Never used by the server.
 */
export class ReferenceEngine {
  readonly #principals = new Map<string, Principal>();
  #lastSeq = 0;

  constructor(readonly rules: MonitorRules) {}

  process(e: MonitorEvent): Finding[] {
    if (e.seq <= this.#lastSeq) return [];
    this.#lastSeq = e.seq;
    let p = this.#principals.get(e.principalKey);
    if (p === undefined) {
      p = { clock: 0, volume: new ReferenceVolume(), slowAndLow: new ReferenceSlowAndLow(), offHours: new ReferenceOffHours(), newSource: new ReferenceNewSource(), probing: new ReferenceProbing() };
      this.#principals.set(e.principalKey, p);
    }
    p.clock = Math.max(p.clock, e.time);
    const r = this.rules;
    const authenticated = e.actor !== null;
    const out: Finding[] = [];
    if (authenticated && r.volume.action !== 'off') out.push(...p.volume.step(e, p.clock, r));
    if (authenticated && r.slowAndLow.action !== 'off') out.push(...p.slowAndLow.step(e, p.clock, r));
    if (authenticated && r.offHours.action !== 'off') out.push(...p.offHours.step(e, r));
    if (authenticated && r.newSource.action !== 'off') out.push(...p.newSource.step(e, p.clock, r));
    if (r.probing.action !== 'off') out.push(...p.probing.step(e, p.clock, r));
    return out;
  }

  /** As MonitorEngine.clearWindows: the records so far are reviewed. */
  clearWindows(key: string): void {
    const p = this.#principals.get(key);
    if (p === undefined) return;
    for (const d of [p.volume, p.slowAndLow, p.offHours, p.newSource, p.probing]) d.clearWindows(this.#lastSeq);
  }
}
