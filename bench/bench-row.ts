/**
 * One line of the benchmark table. Every case of the harness, and `runPolicyBench()`
 * from bench/policy/ when present, reports its results as rows of this shape.
 */
export interface BenchRow {
  /** What was measured, e.g. `download 1024 MiB`. */
  name: string;
  /** Unit of `coffer` and `baseline`, e.g. `GiB/s`, `req/s`, `ms`, `MiB`. */
  unit: string;
  /** Coffer's figure. */
  coffer: number;
  /** The baseline's figure measured in the same run, or null if there is none. */
  baseline: number | null;
  /** Whether a larger figure is better (throughput) or a smaller one (latency, memory). */
  better: 'higher' | 'lower';
  /** The target in words (`>= 1 GiB/s and >= 60% of bare`), or null if there is none. */
  target: string | null;
  /** Whether the target is met; null without a target. */
  pass: boolean | null;
  /** What the baseline is and anything a reader must know (shown under the table). */
  note?: string;
}

/** coffer / baseline, or null when there is no usable baseline. */
export function ratioOf(row: Pick<BenchRow, 'coffer' | 'baseline'>): number | null {
  if (row.baseline === null || row.baseline === 0 || !Number.isFinite(row.baseline)) return null;
  return row.coffer / row.baseline;
}

/**
 * Accepts rows from an external bench module (bench/policy/) leniently: anything with
 * a name and a numeric `coffer` (or `value`) figure is kept, the rest is dropped.
 */
export function normalizeRows(input: unknown): BenchRow[] {
  const list = Array.isArray(input) ? input : isObject(input) && Array.isArray(input.rows) ? (input.rows as unknown[]) : [];
  const rows: BenchRow[] = [];
  for (const item of list) {
    if (!isObject(item) || typeof item.name !== 'string') continue;
    const coffer = typeof item.coffer === 'number' ? item.coffer : typeof item.value === 'number' ? item.value : null;
    if (coffer === null) continue;
    const pass = typeof item.pass === 'boolean' ? item.pass : null;
    rows.push({
      name: item.name,
      unit: typeof item.unit === 'string' ? item.unit : '',
      coffer,
      baseline: typeof item.baseline === 'number' ? item.baseline : null,
      better: item.better === 'lower' ? 'lower' : 'higher',
      target: typeof item.target === 'string' ? item.target : null,
      pass,
      ...(typeof item.note === 'string' ? { note: item.note } : {}),
    });
  }
  return rows;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}
