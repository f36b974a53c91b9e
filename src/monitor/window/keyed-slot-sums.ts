import { Deque } from './deque.js';
import { arr, num, str, StateFormatError } from './state-format.js';

interface Entry {
  sum: number;
  /** [slot, value] of the key's non-empty slots in the window, oldest first. */
  slots: Deque<[number, number]>;
  /** Tells this life of the key from an earlier one (evicted, then seen again) in the expiry queue. */
  gen: number;
}

/**
 * Per-key sums (bytes per dataset, say) over a sliding window of time slots, for at
 * most `capacity` keys, with the largest sum: what "spread bytes" (everything but the
 * largest dataset) and "distinct datasets" need, in O(1) amortized per record.
 *
 * - Each key keeps a queue of its non-empty slots; one queue of (slot, key) in time
 *   order says which key loses which slot when the window moves, so every slot is
 *   added once and expired once.
 * - The largest sum is kept as records add to it and recomputed (O(keys)) only when
 *   the key holding it loses bytes: at most once per slot of that key.
 * - Keys are held in order of last sighting; beyond `capacity` the least recently seen
 *   key is dropped with its bytes (and the queue is rebuilt before the dropped keys'
 *   entries outnumber the live ones, so memory stays within capacity x window slots).
 *
 * Accuracy: with a clock that never goes back, `size` = min(distinct keys in the
 * window, capacity) exactly (as {@link RecentKeys}), and while at most `capacity` keys
 * are in the window every sum and the maximum are exact. Beyond that, a dropped key's
 * bytes are missing from the maximum, so `total - max` can only be overestimated (more
 * alerts, never fewer), and only while more distinct keys are in the window than any
 * distinct cap below `capacity` allows.
 */
export class KeyedSlotSums {
  readonly #keys = new Map<string, Entry>();
  readonly #queue = new Deque<[number, string, number]>();
  #gen = 0;
  /** Slots held by the keys: the live part of the expiry queue. */
  #live = 0;
  #total = 0;
  #max = 0;
  #maxKey: string | null = null;
  #maxStale = false;

  constructor(readonly capacity: number) {}

  /** Adds `value` (>= 0) to `key` in `slot` (the key's newest slot or a later one); a value of 0 still counts the key. */
  add(key: string, slot: number, value: number): void {
    let e = this.#keys.get(key);
    if (e === undefined) e = { sum: 0, slots: new Deque(), gen: ++this.#gen };
    else this.#keys.delete(key);
    this.#keys.set(key, e);
    const back = e.slots.back();
    if (back !== undefined && back[0] >= slot) back[1] += value;
    else {
      e.slots.push([slot, value]);
      this.#queue.push([slot, key, e.gen]);
      this.#live++;
    }
    e.sum += value;
    this.#total += value;
    if (!this.#maxStale && (this.#maxKey === null || e.sum >= this.#max)) {
      this.#max = e.sum;
      this.#maxKey = key;
    }
    if (this.#keys.size > this.capacity) {
      const [oldest, dropped] = this.#keys.entries().next().value!;
      this.#keys.delete(oldest);
      this.#total -= dropped.sum;
      this.#live -= dropped.slots.length;
      if (oldest === this.#maxKey) this.#maxStale = true;
      // the dropped key's entries stay in the queue until they expire: rebuild it before they outnumber the live ones
      if (this.#queue.length > 2 * this.#live + 64) this.#rebuildQueue();
    }
  }

  /** The expiry queue from the keys' slots, in time order (ties in any order: they expire together). */
  #rebuildQueue(): void {
    const queued: Array<[number, string, number]> = [];
    for (const [k, e] of this.#keys) for (const [s] of e.slots) queued.push([s, k, e.gen]);
    queued.sort((a, b) => a[0] - b[0]);
    this.#queue.clear();
    for (const q of queued) this.#queue.push(q);
  }

  /** Drops the slots before `minSlot` (and the keys left with none). */
  expire(minSlot: number): void {
    for (let q = this.#queue.front(); q !== undefined && q[0] < minSlot; q = this.#queue.front()) {
      this.#queue.shift();
      const [, key, gen] = q;
      const e = this.#keys.get(key);
      if (e === undefined || e.gen !== gen) continue;
      const [, value] = e.slots.shift()!;
      this.#live--;
      e.sum -= value;
      this.#total -= value;
      if (key === this.#maxKey) this.#maxStale = true;
      if (e.slots.length === 0) this.#keys.delete(key);
    }
  }

  /** Distinct keys held (see the class comment). */
  get size(): number {
    return this.#keys.size;
  }

  /** Entries of the expiry queue (at most twice the slots held, plus 64): memory, for tests. */
  get queued(): number {
    return this.#queue.length;
  }

  /** Sum over the keys held. */
  get total(): number {
    return this.#total;
  }

  /** The largest sum of one key (0 when empty). */
  max(): number {
    if (this.#maxStale) {
      this.#maxStale = false;
      this.#max = 0;
      this.#maxKey = null;
      for (const [k, e] of this.#keys) {
        if (this.#maxKey === null || e.sum >= this.#max) {
          this.#max = e.sum;
          this.#maxKey = k;
        }
      }
    }
    return this.#keys.size === 0 ? 0 : this.#max;
  }

  /** The sum of `key` (0 if not held). */
  sumOf(key: string): number {
    return this.#keys.get(key)?.sum ?? 0;
  }

  /** Keys, least recently seen first. */
  keys(): IterableIterator<string> {
    return this.#keys.keys();
  }

  clear(): void {
    this.#keys.clear();
    this.#queue.clear();
    this.#live = 0;
    this.#total = 0;
    this.#max = 0;
    this.#maxKey = null;
    this.#maxStale = false;
  }

  /** `[[key, slot, value, slot, value, ...], ...]`, least recently seen first. */
  encode(): Array<Array<string | number>> {
    const out: Array<Array<string | number>> = [];
    for (const [k, e] of this.#keys) {
      const row: Array<string | number> = [k];
      for (const [s, v] of e.slots) row.push(s, v);
      out.push(row);
    }
    return out;
  }

  static decode(json: unknown, capacity: number, what: string): KeyedSlotSums {
    const out = new KeyedSlotSums(capacity);
    for (const [i, raw] of arr(json, what).entries()) {
      const row = arr(raw, `${what}[${i}]`);
      const key = str(row[0], `${what}[${i}]`);
      if (row.length < 3 || row.length % 2 !== 1 || out.#keys.has(key)) throw new StateFormatError(`${what}[${i}] is not a key's slots`);
      const e: Entry = { sum: 0, slots: new Deque(), gen: ++out.#gen };
      for (let j = 1; j < row.length; j += 2) {
        const s = num(row[j], `${what}[${i}]`);
        const v = num(row[j + 1], `${what}[${i}]`);
        if (e.slots.length > 0 && !(s > e.slots.back()![0])) throw new StateFormatError(`${what}[${i}] slots are out of order`);
        e.slots.push([s, v]);
        e.sum += v;
        out.#live++;
      }
      out.#keys.set(key, e);
      out.#total += e.sum;
    }
    if (out.#keys.size > capacity) throw new StateFormatError(`${what} holds more than ${capacity} keys`);
    out.#rebuildQueue();
    out.#maxStale = true;
    return out;
  }
}
