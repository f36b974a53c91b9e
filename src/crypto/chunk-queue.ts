/**
 * A FIFO of Buffers that hands out exact byte counts as views into the queued chunks,
 * so segmenting a stream costs no copy (internal to crypto/).
 */
export class ChunkQueue {
  private chunks: Buffer[] = [];
  private head = 0;
  /** Bytes queued. */
  length = 0;

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.length += chunk.length;
  }

  /** Removes the next `n` bytes (n <= length), calling `each` on consecutive views of them. */
  take(n: number, each: (piece: Buffer) => void): void {
    let remaining = n;
    while (remaining > 0) {
      const chunk = this.chunks[this.head]!;
      if (chunk.length <= remaining) {
        this.chunks[this.head] = EMPTY;
        this.head++;
        remaining -= chunk.length;
        each(chunk);
      } else {
        this.chunks[this.head] = chunk.subarray(remaining);
        each(chunk.subarray(0, remaining));
        remaining = 0;
      }
    }
    this.length -= n;
    this.compact();
  }

  /** Removes the next `n` bytes (n <= length) into one Buffer (copying only if they span chunks). */
  takeBuffer(n: number): Buffer {
    const pieces: Buffer[] = [];
    this.take(n, (piece) => pieces.push(piece));
    return pieces.length === 1 ? pieces[0]! : Buffer.concat(pieces, n);
  }

  /** The next `n` bytes (n <= length) without removing them. */
  peek(n: number): Buffer {
    const pieces: Buffer[] = [];
    let remaining = n;
    for (let i = this.head; remaining > 0; i++) {
      const chunk = this.chunks[i]!;
      const piece = chunk.length <= remaining ? chunk : chunk.subarray(0, remaining);
      pieces.push(piece);
      remaining -= piece.length;
    }
    return pieces.length === 1 ? pieces[0]! : Buffer.concat(pieces, n);
  }

  /** Drops everything queued. */
  clear(): void {
    this.chunks = [];
    this.head = 0;
    this.length = 0;
  }

  private compact(): void {
    if (this.head === this.chunks.length) {
      this.chunks = [];
      this.head = 0;
    } else if (this.head > 64 && this.head * 2 > this.chunks.length) {
      this.chunks = this.chunks.slice(this.head);
      this.head = 0;
    }
  }
}

const EMPTY = Buffer.alloc(0);
