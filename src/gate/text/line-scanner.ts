/**
 * Splits a byte stream into lines for the text scanners, with bounded memory: a line
 * longer than `maxLineBytes` is handed over in pieces, each cut at a separator (space,
 * comma, semicolon, tab) near the limit so a token is rarely split. Each piece comes with
 * its line number, the column its first character has in the line, and its byte offset.
 * Chunks are decoded once (a streaming UTF-8 decoder keeps characters cut between
 * chunks whole) and split as strings: no per-line buffers.
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
// eslint-disable-next-line no-control-regex -- the ASCII range starts at NUL
const NON_ASCII = /[^\x00-\x7f]/;

/** Feeds `onLine` the lines of a byte stream. */
export class LineSplitter implements StreamScanner {
  private readonly decoder = new TextDecoder('utf-8');
  /** Characters of the current line not handed over yet. */
  private carry = '';
  /** Byte offset where the current line starts. */
  private lineStart = 0;
  /** Bytes of the current line already handed over as pieces. */
  private emitted = 0;
  private lineNo = 1;
  private column = 0;
  readonly done = false;

  constructor(
    private readonly maxLineBytes: number,
    private readonly onLine: (line: TextLine) => void,
  ) {}

  write(chunk: Uint8Array): void {
    this.take(this.decoder.decode(chunk, { stream: true }));
  }

  end(): void {
    this.take(this.decoder.decode());
    if (this.carry !== '') this.finishLine(this.carry, Buffer.byteLength(this.carry, 'utf8'));
    this.carry = '';
  }

  private take(text: string): void {
    if (text === '') return;
    const ascii = !NON_ASCII.test(text);
    let pos = 0;
    for (;;) {
      const nl = text.indexOf('\n', pos);
      if (nl === -1) {
        this.carry += text.slice(pos);
        while (this.carry.length > this.maxLineBytes) this.cut();
        return;
      }
      const piece = text.slice(pos, nl);
      const pieceBytes = ascii ? piece.length : Buffer.byteLength(piece, 'utf8');
      if (this.carry === '') this.finishLine(piece, pieceBytes);
      else {
        const carryBytes = Buffer.byteLength(this.carry, 'utf8');
        this.finishLine(this.carry + piece, carryBytes + pieceBytes);
        this.carry = '';
      }
      this.lineStart += 1;
      pos = nl + 1;
    }
  }

  /** Hands over a whole line (or the rest of an overlong one) of `bytes` bytes. */
  private finishLine(text: string, bytes: number): void {
    const clean = text.endsWith('\r') ? text.slice(0, -1) : text;
    this.onLine({ text: clean, line: this.lineNo, column: this.column, offset: this.lineStart + this.emitted });
    this.lineStart += this.emitted + bytes;
    this.emitted = 0;
    this.lineNo++;
    this.column = 0;
  }

  /** Hands over the front of an overlong line, cut at a separator near the limit when there is one. */
  private cut(): void {
    const all = this.carry;
    let cut = this.maxLineBytes;
    for (let i = cut - 1; i >= Math.max(0, cut - CUT_WINDOW); i--) {
      const c = all.charCodeAt(i);
      if (c === 0x20 || c === 0x2c || c === 0x3b || c === 0x09) {
        cut = i + 1;
        break;
      }
    }
    // never split a surrogate pair
    if (cut < all.length && (all.charCodeAt(cut) & 0xfc00) === 0xdc00) cut--;
    const head = all.slice(0, cut);
    this.carry = all.slice(cut);
    this.onLine({ text: head, line: this.lineNo, column: this.column, offset: this.lineStart + this.emitted });
    this.emitted += Buffer.byteLength(head, 'utf8');
    this.column += head.length;
  }
}
