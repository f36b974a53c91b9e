import { benchScript, runChild } from './child.js';
import { normalizeRows, type BenchRow } from './bench-row.js';

/** What running the policy bench gave. */
export type PolicyRowsOutcome = { status: 'ok'; attempts: number; rows: BenchRow[]; raw: unknown } | { status: 'failed'; attempts: number; error: string };

/** Attempts at most: a run that crashed is tried once more. */
const ATTEMPTS = 2;

/**
 * Runs the policy benchmark (bench/policy/) in a child process and returns its rows.
 * A child, because cedar-wasm has brought down Node 20's V8 with an "unreachable code"
 * fatal error in about one run in ten of the comparison (never in tests or the server,
 * which call cedar-wasm only to load policies): the crash then costs one retry, not the
 * whole benchmark run.
 */
export async function loadPolicyRows(log: (line: string) => void): Promise<PolicyRowsOutcome> {
  let error = '';
  for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
    try {
      const raw = await runChild<unknown>(benchScript('policy/child'), {}, 30 * 60_000);
      return { status: 'ok', attempts: attempt, rows: normalizeRows(raw), raw };
    } catch (err) {
      error = err instanceof Error ? err.message : String(err);
      log(`policy: attempt ${attempt} failed: ${error}`);
    }
  }
  return { status: 'failed', attempts: ATTEMPTS, error };
}
