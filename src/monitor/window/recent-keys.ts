import { arr, num, str, StateFormatError } from './state-format.js';

/**
 * The distinct keys seen in a sliding window, at most `capacity` of them: a Map in
 * order of last sighting, least recent first. Touching and expiring cost O(1)
 * amortized.
 *
 * Accuracy: with a clock that never goes back, it holds exactly the `capacity` most
 * recently seen keys of the window, so `size` = min(distinct keys in the window,
 * capacity). A comparison `distinct > cap` with `cap < capacity` is therefore exact;
 * above `capacity` the decision has been made already.
 */
export class RecentKeys {
  readonly #last = new Map<string, number>();

  constructor(readonly capacity: number) {}

  /** Records a sighting of `key` in `slot`; returns the key dropped to stay within capacity, if one was. */
  touch(key: string, slot: number): string | undefined {
    this.#last.delete(key);
    this.#last.set(key, slot);
    if (this.#last.size <= this.capacity) return undefined;
    const oldest = this.#last.keys().next().value!;
    this.#last.delete(oldest);
    return oldest;
  }

  /** Forgets the keys last seen before `minSlot` (telling `onDrop` each one). */
  expire(minSlot: number, onDrop?: (key: string) => void): void {
    for (const [k, s] of this.#last) {
      if (s >= minSlot) break;
      this.#last.delete(k);
      onDrop?.(k);
    }
  }

  /** Slot of the last sighting of `key`, if it is held. */
  lastSeen(key: string): number | undefined {
    return this.#last.get(key);
  }

  delete(key: string): void {
    this.#last.delete(key);
  }

  get size(): number {
    return this.#last.size;
  }

  /** Keys, least recently seen first. */
  keys(): IterableIterator<string> {
    return this.#last.keys();
  }

  clear(): void {
    this.#last.clear();
  }

  /** `[[key, slot], ...]`, least recently seen first. */
  encode(): Array<[string, number]> {
    return [...this.#last];
  }

  static decode(json: unknown, capacity: number, what: string): RecentKeys {
    const out = new RecentKeys(capacity);
    for (const [i, row] of arr(json, what).entries()) {
      const pair = arr(row, `${what}[${i}]`);
      if (pair.length !== 2) throw new StateFormatError(`${what}[${i}] is not a pair`);
      out.touch(str(pair[0], `${what}[${i}]`), num(pair[1], `${what}[${i}]`));
    }
    return out;
  }
}
