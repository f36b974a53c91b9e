/** A scanner fed the bytes of one stream in order, chunk by chunk. It never throws. */
export interface StreamScanner {
  /** Feeds the next chunk (the scanner copies what it keeps; the caller may reuse the chunk). */
  write(chunk: Uint8Array): void;
  /** Ends the stream: the scanner records what it still has to say. */
  end(): void;
  /** True when the scanner needs no more bytes (a caller may stop decompressing for it). */
  readonly done: boolean;
}

/** Feeds several scanners the same bytes. */
export class TeeScanner implements StreamScanner {
  constructor(private readonly targets: StreamScanner[]) {}

  write(chunk: Uint8Array): void {
    for (const t of this.targets) if (!t.done) t.write(chunk);
  }

  end(): void {
    for (const t of this.targets) t.end();
  }

  get done(): boolean {
    return this.targets.every((t) => t.done);
  }
}

/** A scanner that ignores everything (a format with nothing to check). */
export const NULL_SCANNER: StreamScanner = Object.freeze({
  write(): void {},
  end(): void {},
  done: true,
});

/**
 * Holds the first `headBytes` bytes (or fewer, at end of input), then asks `choose` for the
 * scanner that fits them and replays the head into it. Memory: `headBytes`.
 */
export class SniffingScanner implements StreamScanner {
  private head: Uint8Array[] = [];
  private headLen = 0;
  private target: StreamScanner | null = null;

  constructor(
    private readonly headBytes: number,
    private readonly choose: (head: Uint8Array) => StreamScanner,
  ) {}

  write(chunk: Uint8Array): void {
    if (this.target !== null) {
      if (!this.target.done) this.target.write(chunk);
      return;
    }
    this.head.push(chunk.slice());
    this.headLen += chunk.length;
    if (this.headLen >= this.headBytes) this.decide();
  }

  end(): void {
    if (this.target === null) this.decide();
    this.target!.end();
  }

  get done(): boolean {
    return this.target !== null && this.target.done;
  }

  private decide(): void {
    const all = Buffer.concat(this.head, this.headLen);
    this.head = [];
    this.target = this.choose(all.subarray(0, Math.min(all.length, this.headBytes)));
    if (all.length > 0) this.target.write(all);
  }
}
