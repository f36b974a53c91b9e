/**
 * A first-in first-out queue with O(1) amortized push and shift: an array and the index
 * of its head, compacted once the consumed head is at least half of the array (so the
 * memory held stays within twice the live items). `Array.prototype.shift` is O(n) on
 * large arrays, which a per-record sliding window cannot afford.
 */
export class Deque<T> {
  #items: T[] = [];
  #head = 0;

  constructor(items: Iterable<T> = []) {
    for (const v of items) this.#items.push(v);
  }

  get length(): number {
    return this.#items.length - this.#head;
  }

  push(v: T): void {
    this.#items.push(v);
  }

  /** The oldest item (undefined when empty). */
  front(): T | undefined {
    return this.#head < this.#items.length ? this.#items[this.#head] : undefined;
  }

  /** The newest item (undefined when empty). */
  back(): T | undefined {
    return this.#head < this.#items.length ? this.#items[this.#items.length - 1] : undefined;
  }

  /** Removes and returns the oldest item. */
  shift(): T | undefined {
    if (this.#head >= this.#items.length) return undefined;
    const v = this.#items[this.#head]!;
    this.#items[this.#head] = undefined as T;
    this.#head++;
    if (this.#head === this.#items.length) {
      this.#items = [];
      this.#head = 0;
    } else if (this.#head >= 64 && this.#head * 2 >= this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
    return v;
  }

  clear(): void {
    this.#items = [];
    this.#head = 0;
  }

  /** Oldest first. */
  *[Symbol.iterator](): IterableIterator<T> {
    for (let i = this.#head; i < this.#items.length; i++) yield this.#items[i]!;
  }

  /** The items, oldest first (a copy). */
  toArray(): T[] {
    return this.#items.slice(this.#head);
  }
}
