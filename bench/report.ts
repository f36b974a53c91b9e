import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ratioOf, type BenchRow } from './bench-row.js';

/** Formats a figure for the table: 3 significant digits below 100, integers above. */
export function formatNumber(value: number | null): string {
  if (value === null) return '-';
  if (!Number.isFinite(value)) return String(value);
  const abs = Math.abs(value);
  if (abs >= 100) return Math.round(value).toLocaleString('en-US');
  if (abs >= 10) return value.toFixed(1);
  if (abs >= 1) return value.toFixed(2);
  return value.toPrecision(3);
}

/** The rows as a fixed-width text table (name, Coffer, baseline, ratio, target, result), notes numbered below. */
export function formatTable(rows: readonly BenchRow[]): string {
  const header = ['benchmark', 'unit', 'Coffer', 'baseline', 'ratio', 'target', 'result'];
  const notes: string[] = [];
  const body = rows.map((row) => {
    const ratio = ratioOf(row);
    let name = row.name;
    if (row.note !== undefined) {
      notes.push(row.note);
      name += ` [${notes.length}]`;
    }
    return [
      name,
      row.unit,
      formatNumber(row.coffer),
      formatNumber(row.baseline),
      ratio === null ? '-' : `${ratio.toFixed(2)}x`,
      row.target ?? '-',
      row.pass === null ? 'info' : row.pass ? 'PASS' : 'FAIL',
    ];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((r) => r[i]!.length)));
  const numeric = new Set([2, 3, 4]);
  const line = (cells: string[]) => cells.map((c, i) => (numeric.has(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join(' | ').trimEnd();
  const out = [line(header), widths.map((w) => '-'.repeat(w)).join('-|-'), ...body.map(line)];
  if (notes.length > 0) out.push('', ...notes.map((n, i) => `[${i + 1}] ${n}`));
  return out.join('\n');
}

/**
 * Writes `report` as `latest.json` and `<timestamp>.json` in `dir` (each written to a
 * temp name first, then renamed, so a reader never sees half a file). Returns both paths.
 */
export async function writeResults(dir: string, report: unknown, date: Date): Promise<{ latest: string; stamped: string }> {
  await mkdir(dir, { recursive: true });
  const text = `${JSON.stringify(report, null, 2)}\n`;
  const stamp = date.toISOString().replace(/[:.]/g, '-');
  const stamped = join(dir, `${stamp}.json`);
  const latest = join(dir, 'latest.json');
  for (const path of [stamped, latest]) {
    await writeFile(`${path}.tmp`, text);
    await rename(`${path}.tmp`, path);
  }
  return { latest, stamped };
}
