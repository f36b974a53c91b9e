/**
 * Splits a byte stream into lines for the text scanners, with bounded memory: a line
 * longer than `maxLineBytes` is handed over in pieces, each cut at a separator (space,
 * comma, semicolon, tab) near the limit so a token is rarely split. Each piece comes with
 * its line number, the column its first character has in the line, and its byte offset.
 */
import type { StreamScanner } from '../core/stream-scanner.js';

/** One line (or piece of an overlong line). */
export interface TextLine {
  text: string;
  /** 1-based line number. */
  line: number;
  /** 0-based column (characters) of `text[0]` within the line. */
  column: number;
  /** Byte offset of `text[0]` in the stream. */
  offset: number;
}

const CUT_WINDOW = 1024;

/** Feeds `onLine` the lines of a byte stream. */
export class LineSplitter implements StreamScanner {
  private parts: Buffer[] = [];
  private partLen = 0;
  private lineNo = 1;
  private column = 0;
  private lineOffset = 0;
  private offset = 0;
  readonly done = false;

  constructor(
    private readonly maxLineBytes: number,
    private readonly onLine: (line: TextLine) => void,
  ) {}

  write(chunk: Uint8Array): void {
    const buf = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length);
    let pos = 0;
    while (pos < buf.length) {
      const nl = buf.indexOf(10, pos);
      const end = nl === -1 ? buf.length : nl;
      if (this.partLen + (end - pos) > this.maxLineBytes) {
        const room = this.maxLineBytes - this.partLen;
        this.parts.push(Buffer.from(buf.subarray(pos, pos + room)));
        this.partLen += room;
        pos += room;
        this.offset += room;
        this.cutPiece();
        continue;
      }
      this.parts.push(Buffer.from(buf.subarray(pos, end)));
      this.partLen += end - pos;
      this.offset += end - pos;
      pos = end;
      if (nl !== -1) {
        this.emit(this.take(this.partLen), true);
        pos++;
        this.offset++;
      }
    }
  }

  end(): void {
    if (this.partLen > 0) this.emit(this.take(this.partLen), true);
  }

  private take(n: number): Buffer {
    const all = this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts, this.partLen);
    const head = all.subarray(0, n);
    const rest = all.subarray(n);
    this.parts = rest.length > 0 ? [Buffer.from(rest)] : [];
    this.partLen = rest.length;
    return head;
  }

  /** Hands over the front of an overlong line, cut at a separator near the end when there is one. */
  private cutPiece(): void {
    const all = Buffer.concat(this.parts, this.partLen);
    this.parts = [all];
    let cut = all.length;
    for (let i = all.length - 1; i >= Math.max(0, all.length - CUT_WINDOW); i--) {
      const c = all[i]!;
      if (c === 0x20 || c === 0x2c || c === 0x3b || c === 0x09) {
        cut = i + 1;
        break;
      }
    }
    // never cut inside a UTF-8 sequence
    while (cut > 0 && cut < all.length && (all[cut]! & 0xc0) === 0x80) cut--;
    if (cut === 0) cut = all.length;
    this.emit(this.take(cut), false);
  }

  private emit(bytes: Buffer, endsLine: boolean): void {
    let text = bytes.toString('utf8');
    if (endsLine && text.endsWith('\r')) text = text.slice(0, -1);
    const startOffset = this.lineOffset;
    this.onLine({ text, line: this.lineNo, column: this.column, offset: startOffset });
    if (endsLine) {
      this.lineNo++;
      this.column = 0;
      this.lineOffset = this.offset + 1;
    } else {
      this.column += text.length;
      this.lineOffset = startOffset + bytes.length;
    }
  }
}
