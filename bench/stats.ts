/** Small statistics for benchmark samples. */

/** The median of `values` (mean of the two middle values for an even count); NaN when empty. */
export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/**
 * The `p`-th percentile (0..100) of the first `count` entries of `sorted`, which must be
 * sorted ascending, by the nearest-rank method; NaN when empty.
 */
export function percentile(sorted: ArrayLike<number>, p: number, count = sorted.length): number {
  if (count === 0) return NaN;
  if (p <= 0) return sorted[0]!;
  const rank = Math.ceil((Math.min(p, 100) / 100) * count);
  return sorted[Math.min(count, rank) - 1]!;
}

/** Rounds to `digits` significant decimals for reports (keeps integers as they are). */
export function round(value: number, digits = 3): number {
  if (!Number.isFinite(value)) return value;
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/** Bytes per second as GiB/s. */
export function gibPerSecond(bytes: number, seconds: number): number {
  return bytes / 1024 ** 3 / seconds;
}
