/**
 * The differential run: generate cases, evaluate each on cedar-wasm and on the compiled
 * evaluator, and collect mismatches. Used by the CI test (10,000 cases) and by the
 * on-demand script (a million).
 */
import fc from 'fast-check';
import { isDeepStrictEqual } from 'node:util';
import { caseArb, type DifferentialCase } from './cedar-arbitraries.js';
import { compiledOutcome, officialOutcome, type Outcome } from './cedar-differential.js';

/** Counters of one run. */
export interface DifferentialStats {
  cases: number;
  allow: number;
  denyByForbid: number;
  withErrors: number;
  refused: number;
  mismatches: { official: Outcome; compiled: Outcome | string; testCase: DifferentialCase }[];
}

/** Runs `cases` cases from `seed`, in batches of 500 generated at a time. */
export function runDifferential(cases: number, seed: number, onProgress?: (done: number, stats: DifferentialStats) => void): DifferentialStats {
  const stats: DifferentialStats = { cases: 0, allow: 0, denyByForbid: 0, withErrors: 0, refused: 0, mismatches: [] };
  const arb = caseArb();
  let batchSeed = seed;
  while (stats.cases < cases) {
    const n = Math.min(500, cases - stats.cases);
    for (const c of fc.sample(arb, { numRuns: n, seed: batchSeed++ })) {
      const official = officialOutcome(c);
      if (official === null) continue; // cedar-wasm refused the printed text: not a case
      stats.cases++;
      if (official.type === 'failure') stats.refused++;
      else {
        if (official.decision === 'allow') stats.allow++;
        else if (official.reasons.length > 0) stats.denyByForbid++;
        if (official.errors.length > 0) stats.withErrors++;
      }
      let compiled: Outcome | string;
      try {
        compiled = compiledOutcome(c);
      } catch (err) {
        compiled = `threw: ${String(err)}`;
      }
      if (!isDeepStrictEqual(official, compiled)) stats.mismatches.push({ official, compiled, testCase: c });
    }
    onProgress?.(stats.cases, stats);
  }
  return stats;
}

/** A case as JSON (bigints as strings marked `n`), for regression files and reports. */
export function caseToJson(c: DifferentialCase): string {
  return JSON.stringify(c, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v), 1);
}
