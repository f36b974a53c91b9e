import { MAX_EVIDENCE } from '../finding.js';
import { Deque } from './deque.js';
import { nums, StateFormatError } from './state-format.js';

/**
 * The newest {@link MAX_EVIDENCE} records of one kind (downloads) of a principal, as
 * (time, seq): the evidence of a finding is the part of it inside the finding's window.
 * Since a window is a suffix of the records (the clock never goes back), the newest
 * MAX_EVIDENCE of the window are exactly the ring's records inside it. Bounded whatever
 * the traffic; O(1) per record.
 */
export class EvidenceRing {
  readonly #items = new Deque<[number, number]>();

  push(time: number, seq: number): void {
    this.#items.push([time, seq]);
    if (this.#items.length > MAX_EVIDENCE) this.#items.shift();
  }

  /** Seqs of the records at or after `minTime`, ascending. */
  since(minTime: number): number[] {
    const out: number[] = [];
    for (const [t, seq] of this.#items) if (t >= minTime) out.push(seq);
    return out;
  }

  get length(): number {
    return this.#items.length;
  }

  clear(): void {
    this.#items.clear();
  }

  /** Deltas from the previous record: `[t0, seq0, t1 - t0, seq1 - seq0, ...]` (a third of the size of absolute values). */
  encode(): number[] {
    const out: number[] = [];
    let pt = 0;
    let ps = 0;
    for (const [t, s] of this.#items) {
      out.push(t - pt, s - ps);
      pt = t;
      ps = s;
    }
    return out;
  }

  static decode(json: unknown, what: string): EvidenceRing {
    const flat = nums(json, what);
    if (flat.length % 2 !== 0 || flat.length > 2 * MAX_EVIDENCE) throw new StateFormatError(`${what} is not a list of records`);
    const out = new EvidenceRing();
    let t = 0;
    let s = 0;
    for (let i = 0; i < flat.length; i += 2) {
      t += flat[i]!;
      s += flat[i + 1]!;
      out.#items.push([t, s]);
    }
    return out;
  }
}
