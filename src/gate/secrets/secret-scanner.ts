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
  private run: Buffer[] = [];
  private runLen = 0;
  private runStart = 0;
  private offset = 0;
  readonly done = false;

  constructor(
    private readonly findings: ScopedFindings,
    private readonly limits: GateLimits,
  ) {}

  write(chunk: Uint8Array): void {
    const buf = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length);
    let i = 0;
    const n = buf.length;
    while (i < n) {
      // scan to the next non-printable byte
      const start = i;
      while (i < n) {
        const c = buf[i]!;
        if ((c < 0x20 || c > 0x7e) && c !== 0x09) break;
        i++;
      }
      if (i > start) {
        if (this.runLen === 0) this.runStart = this.offset + start;
        this.run.push(Buffer.from(buf.subarray(start, i)));
        this.runLen += i - start;
        if (this.runLen >= this.limits.maxLineBytes) this.flush();
      }
      if (i < n) {
        this.flush();
        i++;
      }
    }
    this.offset += n;
  }

  end(): void {
    this.flush();
  }

  private flush(): void {
    if (this.runLen >= MIN_RUN) {
      const text = Buffer.concat(this.run, this.runLen).toString('latin1');
      for (const m of findSecrets(text)) this.findings.add(m.type, { offset: this.runStart + m.index });
    }
    this.run = [];
    this.runLen = 0;
  }
}
