/**
 * The personal-data scanner over text datasets and generated samples:
 * - CSV/TSV with a header row: each field is judged with its column name as context,
 *   and findings give the row, the column name and the byte offset;
 * - JSON Lines: each line is parsed, each string or number value judged with its key as
 *   context, findings give the line (row) and the key path (`$.user.email`); a line that
 *   is not JSON is judged as plain text;
 * - plain text (and JSON documents, notebooks): line by line, findings give line, column
 *   and byte offset.
 * Values never leave this module.
 */
import type { ScopedFindings } from '../core/findings.js';
import type { GateLimits } from '../core/limits.js';
import type { StreamScanner } from '../core/stream-scanner.js';
import type { TextKind } from '../detect-format.js';
import { LineSplitter, type TextLine } from '../text/line-scanner.js';
import { DEFAULT_PII_OPTIONS, findPii, type PiiOptions } from './detectors.js';

/** Values visited per JSON line at most. */
const MAX_JSON_VALUES = 100_000;

/** A personal-data scanner for text of `kind`. */
export function piiScanner(findings: ScopedFindings, limits: GateLimits, kind: TextKind, options: PiiOptions = DEFAULT_PII_OPTIONS): StreamScanner {
  findings.collector.format(kind);
  if (kind === 'csv' || kind === 'tsv') return new LineSplitter(limits.maxLineBytes, csvHandler(findings, kind === 'tsv' ? '\t' : ',', limits, options));
  if (kind === 'jsonl') return new LineSplitter(limits.maxLineBytes, (l) => jsonLine(findings, l, options));
  return new LineSplitter(limits.maxLineBytes, (l) => plainLine(findings, l, options));
}

function byteOffset(l: TextLine, index: number): number {
  return l.offset + Buffer.byteLength(l.text.slice(0, index), 'utf8');
}

function plainLine(findings: ScopedFindings, l: TextLine, options: PiiOptions): void {
  for (const m of findPii(l.text, undefined, options)) findings.add(m.type, { line: l.line, column: l.column + m.index + 1, offset: byteOffset(l, m.index) });
}

function jsonLine(findings: ScopedFindings, l: TextLine, options: PiiOptions): void {
  const t = l.text.trim();
  if (t === '') return;
  let doc: unknown;
  try {
    doc = JSON.parse(t);
  } catch {
    plainLine(findings, l, options);
    return;
  }
  // iterative walk: any nesting depth is fine
  const stack: [unknown, string, string | undefined][] = [[doc, '$', undefined]];
  let visits = 0;
  while (stack.length > 0) {
    if (++visits > MAX_JSON_VALUES) {
      findings.add('scan-limit', { row: l.line, offset: l.offset }, 'JSON line with too many values');
      return;
    }
    const [v, path, key] = stack.pop()!;
    if (typeof v === 'string' || typeof v === 'number') {
      const s = String(v);
      for (const m of findPii(s, key, options)) findings.add(m.type, { row: l.line, field: path, offset: l.offset });
    } else if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) stack.push([v[i], `${path}[${i}]`, key]);
    } else if (typeof v === 'object' && v !== null) {
      const entries = Object.entries(v as Record<string, unknown>);
      for (let i = entries.length - 1; i >= 0; i--) {
        const [k, child] = entries[i]!;
        stack.push([child, `${path}.${k}`, k]);
      }
    }
  }
}

/** RFC 4180 records over lines: quoted fields may hold separators, quotes ("") and newlines. */
function csvHandler(findings: ScopedFindings, sep: string, limits: GateLimits, options: PiiOptions): (l: TextLine) => void {
  let header: string[] | null = null;
  let row = 0;
  let fields: { text: string; line: TextLine; index: number }[] = [];
  let cur = '';
  let curLine: TextLine | null = null;
  let curIndex = 0;
  let inQuotes = false;
  let pending = 0;
  const finishRecord = () => {
    if (header === null) header = fields.map((f) => f.text.trim());
    else {
      row++;
      fields.forEach((f, i) => {
        const name = header![i] ?? `column ${i + 1}`;
        for (const m of findPii(f.text, name, options)) findings.add(m.type, { row, field: name, offset: byteOffset(f.line, f.index) });
      });
    }
    fields = [];
  };
  return (l: TextLine) => {
    const text = l.text;
    let i = 0;
    if (!inQuotes) {
      curLine = l;
      curIndex = 0;
    } else {
      cur += '\n';
      pending += text.length;
      // a runaway quoted field is judged as it stands rather than held without bound
      if (pending > limits.maxLineBytes) inQuotes = false;
    }
    while (i <= text.length) {
      if (inQuotes) {
        const q = text.indexOf('"', i);
        if (q < 0) {
          cur += text.slice(i);
          break;
        }
        cur += text.slice(i, q);
        if (text[q + 1] === '"') {
          cur += '"';
          i = q + 2;
        } else {
          inQuotes = false;
          i = q + 1;
        }
        continue;
      }
      if (i === text.length) {
        fields.push({ text: cur, line: curLine!, index: curIndex });
        cur = '';
        pending = 0;
        finishRecord();
        break;
      }
      const c = text[i]!;
      if (c === '"' && cur === '') {
        inQuotes = true;
        i++;
      } else if (c === sep) {
        fields.push({ text: cur, line: curLine!, index: curIndex });
        cur = '';
        i++;
        curLine = l;
        curIndex = i;
      } else {
        // an unquoted field (a quote inside it is literal) runs to the next separator
        const nextSep = text.indexOf(sep, i);
        const stop = nextSep < 0 ? text.length : nextSep;
        cur += text.slice(i, stop);
        i = stop;
      }
    }
  };
}
