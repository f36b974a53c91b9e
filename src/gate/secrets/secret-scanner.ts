/**
 * The secrets scanner: text content line by line, binary content through its printable
 * runs (as `strings` does), so a key pasted into a notebook, a config inside a pickle or
 * the metadata of a model file are all seen. Reports the type and location of each match;
 * the matched value never leaves this module.
 */
import type { ScopedFindings } from '../core/findings.js';
import type { GateLimits } from '../core/limits.js';
import type { StreamScanner } from '../core/stream-scanner.js';
import { LineSplitter, type TextLine } from '../text/line-scanner.js';
import { findSecrets } from './secret-rules.js';

function report(findings: ScopedFindings, l: TextLine): void {
  for (const m of findSecrets(l.text)) {
    const offset = l.offset + Buffer.byteLength(l.text.slice(0, m.index), 'utf8');
    findings.add(m.type, { line: l.line, column: l.column + m.index + 1, offset });
  }
}

/** Secrets in text, line by line. */
export function textSecretScanner(findings: ScopedFindings, limits: GateLimits): StreamScanner {
  findings.collector.format('text');
  return new LineSplitter(limits.maxLineBytes, (l) => report(findings, l));
}

/** Shortest printable run looked at in binary content (the shortest rule needs 20 characters). */
const MIN_RUN = 20;

/** Secrets in binary content: every run of at least 20 printable ASCII characters. */
export class BinarySecretScanner implements StreamScanner {
  /** The printable run that reached the end of the previous chunk (at most maxLineBytes). */
  private carry = '';
  private carryStart = 0;
  private offset = 0;
  readonly done = false;

  constructor(
    private readonly findings: ScopedFindings,
    private readonly limits: GateLimits,
  ) {}

  write(chunk: Uint8Array): void {
    // latin1 keeps one character per byte, so string indexes are byte offsets
    const text = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length).toString('latin1');
    const base = this.offset;
    this.offset += chunk.length;
    let from = 0;
    if (this.carry !== '') {
      const lead = /^[\x20-\x7e\t]*/.exec(text)![0];
      if (lead.length === text.length && this.carry.length + lead.length < this.limits.maxLineBytes) {
        this.carry += lead;
        return;
      }
      this.judge(this.carry + lead, this.carryStart);
      this.carry = '';
      from = lead.length;
    }
    // the printable tail may continue in the next chunk: it is carried, not judged yet
    let tail = text.length;
    while (tail > from && printable(text.charCodeAt(tail - 1))) tail--;
    RUN.lastIndex = from;
    for (let m = RUN.exec(text); m !== null && m.index < tail; m = RUN.exec(text)) {
      if (m.index + m[0].length > tail) break;
      this.judge(m[0], base + m.index);
    }
    if (tail < text.length) {
      this.carry = text.slice(Math.max(tail, text.length - this.limits.maxLineBytes));
      this.carryStart = base + text.length - this.carry.length;
    }
  }

  end(): void {
    if (this.carry !== '') this.judge(this.carry, this.carryStart);
    this.carry = '';
  }

  private judge(run: string, start: number): void {
    if (run.length < MIN_RUN) return;
    for (const m of findSecrets(run)) this.findings.add(m.type, { offset: start + m.index });
  }
}

/** A printable run long enough to hold a secret. */
const RUN = /[\x20-\x7e\t]{20,}/g;

function printable(c: number): boolean {
  return (c >= 0x20 && c <= 0x7e) || c === 0x09;
}
