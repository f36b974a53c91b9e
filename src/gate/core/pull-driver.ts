/**
 * Runs a format parser written as a generator over a byte stream fed chunk by chunk, so a
 * parser reads sequentially ("take 4 bytes, skip n, read a line") while the bytes arrive
 * through a push API (an upload tee) and memory stays bounded: only what a parser asks to
 * `take` (bounded by the parser) or an unfinished `line` (bounded by `max`) is ever held;
 * `skip` and `pipe` pass any number of bytes through without keeping them.
 *
 * Hand-written because the parsers here must be synchronous, push-fed and allocation-free
 * on skipped data; the stream libraries on npm are pull-based (async iterators) or buffer
 * whole records.
 */

/** What a parser asks for next. */
export type Need =
  /** Exactly `n` bytes (resumes with a Uint8Array, valid until the parser's next yield; null at end of input). */
  | { kind: 'take'; n: number }
  /** Discard `n` bytes (resumes with the number discarded: less than `n` at end of input). */
  | { kind: 'skip'; n: number }
  /** Pass `n` bytes to `sink` as they arrive (resumes with the number passed). */
  | { kind: 'pipe'; n: number; sink: (chunk: Uint8Array) => void }
  /** Bytes up to and including the next `\n` (resumes with them, null at end, or LINE_TOO_LONG past `max`). */
  | { kind: 'line'; max: number }
  /** Whatever is available now, 1 to `max` bytes (valid until the next yield; null at end of input). */
  | { kind: 'some'; max: number };

/** Resumption value of a `line` need longer than its `max`. */
export const LINE_TOO_LONG: unique symbol = Symbol('line too long');

/** A parser: yields needs, is resumed with what it asked for. */
export type Parser = Generator<Need, void, unknown>;

/** Asks for exactly `n` bytes; null at end of input. The array is valid until the next yield. */
export function* take(n: number): Generator<Need, Uint8Array | null, unknown> {
  return (yield { kind: 'take', n }) as Uint8Array | null;
}

/** Whatever bytes are available, at most `max` (at least 1); null at end of input. Valid until the next yield. */
export function* some(max: number): Generator<Need, Uint8Array | null, unknown> {
  return (yield { kind: 'some', max }) as Uint8Array | null;
}

/** Discards `n` bytes; returns how many were there. */
export function* skip(n: number): Generator<Need, number, unknown> {
  return (yield { kind: 'skip', n }) as number;
}

/** Forwards `n` bytes to `sink`; returns how many were there. */
export function* pipe(n: number, sink: (chunk: Uint8Array) => void): Generator<Need, number, unknown> {
  return (yield { kind: 'pipe', n, sink }) as number;
}

/** Reads a line (with its `\n`); null at end, LINE_TOO_LONG past `max` bytes. */
export function* line(max: number): Generator<Need, Uint8Array | null | typeof LINE_TOO_LONG, unknown> {
  return (yield { kind: 'line', max }) as Uint8Array | null | typeof LINE_TOO_LONG;
}

const EMPTY = new Uint8Array(0);
/** Needs answered after end of input before the driver declares the parser stuck. */
const MAX_NEEDS_AFTER_END = 10_000;

/** Feeds chunks to a parser generator. */
export class PullDriver {
  /** Bytes consumed by the parser so far (the offset of the next byte it will see). */
  offset = 0;
  /** Bytes that arrived after the parser returned. */
  trailing = 0;
  /** What the parser threw, if it did (the driver never throws it on). */
  error: unknown = null;
  private readonly gen: Parser;
  private need: Need | null = null;
  private acc: Uint8Array[] = [];
  private accLen = 0;
  private progress = 0;
  private ended = false;
  private rewind = 0;

  constructor(factory: (driver: PullDriver) => Parser) {
    this.gen = factory(this);
    this.resume(undefined);
  }

  /** True once the parser returned or threw. */
  get finished(): boolean {
    return this.need === null;
  }

  /** Feeds one chunk. Never throws: a parser error ends the parse and is kept in `error`. */
  write(chunk: Uint8Array): void {
    this.feed(chunk);
  }

  /**
   * Called by the parser (before its next yield) to give back the last `n` bytes of what a
   * `some` just handed it, when they belong to what comes next; they are served again.
   */
  unread(n: number): void {
    this.rewind += n;
    // the offset moves back at once: the parser may read it before its next yield
    this.offset -= n;
  }

  private feed(chunk: Uint8Array): void {
    let pos = 0;
    while (this.need !== null && pos < chunk.length) {
      const need = this.need;
      const avail = chunk.length - pos;
      switch (need.kind) {
        case 'take': {
          if (this.accLen === 0 && avail >= need.n) {
            const b = chunk.subarray(pos, pos + need.n);
            pos += need.n;
            this.offset += need.n;
            this.resume(b);
          } else {
            const k = Math.min(need.n - this.accLen, avail);
            // copied: the producer may reuse its chunk after write() returns
            this.acc.push(chunk.slice(pos, pos + k));
            this.accLen += k;
            pos += k;
            this.offset += k;
            if (this.accLen === need.n) this.resume(this.drainAcc());
          }
          break;
        }
        case 'skip':
        case 'pipe': {
          const k = Math.min(need.n - this.progress, avail);
          if (need.kind === 'pipe' && k > 0) this.safeSink(need.sink, chunk.subarray(pos, pos + k));
          if (this.need === null) return;
          pos += k;
          this.offset += k;
          this.progress += k;
          if (this.progress === need.n) this.resume(need.n);
          break;
        }
        case 'some': {
          const k = Math.min(need.max, avail);
          const b = chunk.subarray(pos, pos + k);
          pos += k;
          this.offset += k;
          this.resume(b);
          if (this.rewind > 0) {
            // INVARIANT: only bytes of this very `some` can be given back
            pos -= Math.min(this.rewind, k);
            this.rewind = 0;
          }
          break;
        }
        case 'line': {
          const nl = chunk.indexOf(10, pos);
          const end = nl === -1 ? chunk.length : nl + 1;
          const k = end - pos;
          if (this.accLen + k > need.max) {
            this.acc = [];
            this.accLen = 0;
            this.resume(LINE_TOO_LONG);
            break;
          }
          this.acc.push(chunk.slice(pos, end));
          this.accLen += k;
          pos = end;
          this.offset += k;
          if (nl !== -1) this.resume(this.drainAcc());
          break;
        }
      }
    }
    if (this.need === null && pos < chunk.length) this.trailing += chunk.length - pos;
  }

  /** Signals end of input: pending needs get null (take, line) or what was there (skip, pipe). */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    let guard = 0;
    while (this.need !== null) {
      if (++guard > MAX_NEEDS_AFTER_END) {
        this.error = new Error('parser keeps asking after end of input');
        this.need = null;
        break;
      }
      const need = this.need;
      if (need.kind === 'take' || need.kind === 'line' || need.kind === 'some') {
        this.acc = [];
        this.accLen = 0;
        this.resume(null);
      } else this.resume(this.progress);
    }
  }

  /** Stops the parser (for a caller that gives up on the stream). */
  abort(): void {
    if (this.need === null) return;
    this.need = null;
    try {
      this.gen.return(undefined);
    } catch (err) {
      this.error ??= err;
    }
  }

  private safeSink(sink: (chunk: Uint8Array) => void, part: Uint8Array): void {
    try {
      sink(part);
    } catch (err) {
      this.error = err;
      this.abort();
    }
  }

  private drainAcc(): Uint8Array {
    const parts = this.acc;
    this.acc = [];
    const len = this.accLen;
    this.accLen = 0;
    if (parts.length === 1) return parts[0]!;
    const out = new Uint8Array(len);
    let o = 0;
    for (const p of parts) {
      out.set(p, o);
      o += p.length;
    }
    return out;
  }

  private resume(value: unknown): void {
    let v = value;
    for (;;) {
      let r: IteratorResult<Need, void>;
      try {
        r = this.gen.next(v);
      } catch (err) {
        this.error = err;
        this.need = null;
        return;
      }
      if (r.done === true) {
        this.need = null;
        return;
      }
      const need = r.value;
      this.progress = 0;
      // zero-length needs and needs after end of input are answered at once
      if ((need.kind === 'take' || need.kind === 'skip' || need.kind === 'pipe') && need.n <= 0) {
        v = need.kind === 'take' ? EMPTY : 0;
        continue;
      }
      this.need = need;
      return;
    }
  }
}
