import { nums, StateFormatError } from './window/state-format.js';

/**
 * An exponentially weighted mean and mean absolute deviation of a series, with the
 * number of samples seen. Plain data so detector state stays serializable.
 */
export interface Ewma {
  mean: number;
  dev: number;
  n: number;
}

/** An empty series. */
export const EMPTY_EWMA: Ewma = Object.freeze({ mean: 0, dev: 0, n: 0 });

/**
 * Adds sample `x` with weight `alpha`. The first sample sets the mean and half of it
 * as the deviation (a prior: one sample says nothing of spread).
 */
export function ewmaAdd(e: Ewma, x: number, alpha: number): Ewma {
  if (e.n === 0) return { mean: x, dev: x / 2, n: 1 };
  const diff = x - e.mean;
  return { mean: e.mean + alpha * diff, dev: (1 - alpha) * e.dev + alpha * Math.abs(diff), n: e.n + 1 };
}

/** `max(floor, factor * mean + deviations * dev)`: the level above which a sample is unusual. */
export function ewmaThreshold(e: Ewma, factor: number, deviations: number, floor: number): number {
  return Math.max(floor, factor * e.mean + deviations * e.dev);
}

/** `[mean, dev, n]`. */
export function encodeEwma(e: Ewma): [number, number, number] {
  return [e.mean, e.dev, e.n];
}

/** The inverse of {@link encodeEwma}; throws StateFormatError on anything else. */
export function decodeEwma(json: unknown, what: string): Ewma {
  const v = nums(json, what);
  if (v.length !== 3) throw new StateFormatError(`${what} is not a baseline`);
  return { mean: v[0]!, dev: v[1]!, n: v[2]! };
}
