import { Deque } from './deque.js';
import { arr, nums, StateFormatError } from './state-format.js';

/**
 * Sums of a few counters (bytes per tier, say) over a sliding window of time slots (a
 * minute, an hour): a queue of the non-empty slots, oldest first, and running totals.
 * Adding and expiring cost O(counters) amortized per record whatever the traffic, and
 * the state never holds more slots than the window spans.
 *
 * Slots are integers (`floor(time / slot width)`); the caller expires, then adds, with
 * a clock that never goes back (see `PrincipalState.clock`).
 */
export class SlotSums {
  readonly #slots = new Deque<{ s: number; v: number[] }>();
  readonly #totals: number[];

  constructor(readonly width: number) {
    this.#totals = new Array<number>(width).fill(0);
  }

  /** Drops the slots before `minSlot` from the window. */
  expire(minSlot: number): void {
    for (let f = this.#slots.front(); f !== undefined && f.s < minSlot; f = this.#slots.front()) {
      this.#slots.shift();
      for (let i = 0; i < this.width; i++) this.#totals[i]! -= f.v[i]!;
    }
  }

  /** Adds `value` to counter `i` in slot `slot` (the newest slot, or a new one after it). */
  add(slot: number, i: number, value: number): void {
    let b = this.#slots.back();
    if (b === undefined || b.s < slot) {
      b = { s: slot, v: new Array<number>(this.width).fill(0) };
      this.#slots.push(b);
    }
    // a slot older than the newest one cannot come from a monotone clock: it counts in the newest
    b.v[i]! += value;
    this.#totals[i]! += value;
  }

  /** Counter `i` summed over the window. */
  total(i: number): number {
    return this.#totals[i]!;
  }

  /** Every counter summed over the window. */
  sum(): number {
    let s = 0;
    for (const v of this.#totals) s += v;
    return s;
  }

  /** Non-empty slots held. */
  get slots(): number {
    return this.#slots.length;
  }

  clear(): void {
    this.#slots.clear();
    this.#totals.fill(0);
  }

  /** `[[slot, counter 0, counter 1, ...], ...]`, oldest first. */
  encode(): number[][] {
    return this.#slots.toArray().map((b) => [b.s, ...b.v]);
  }

  static decode(json: unknown, width: number, what: string): SlotSums {
    const out = new SlotSums(width);
    let last = -Infinity;
    for (const [k, row] of arr(json, what).entries()) {
      const [s, ...v] = nums(row, `${what}[${k}]`);
      if (s === undefined || v.length !== width || !(s > last)) throw new StateFormatError(`${what}[${k}] is not a slot`);
      last = s;
      out.#slots.push({ s, v });
      for (let i = 0; i < width; i++) out.#totals[i]! += v[i]!;
    }
    return out;
  }
}
