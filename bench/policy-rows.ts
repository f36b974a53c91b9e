import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { normalizeRows, type BenchRow } from './bench-row.js';

/** Files of bench/policy/ that may export `runPolicyBench()`, in the order tried. */
const CANDIDATES = ['policy/index', 'policy/run-policy-bench', 'policy/policy-bench'];

/** What loading the policy bench gave. */
export type PolicyRowsOutcome =
  | { status: 'absent' }
  | { status: 'ok'; module: string; rows: BenchRow[]; raw: unknown }
  | { status: 'failed'; module: string; error: string };

/**
 * Runs `runPolicyBench()` from bench/policy/ if another engineer has written it, and
 * returns its rows; the harness works without it. Imported dynamically by path so
 * the build does not depend on the module existing.
 */
export async function loadPolicyRows(): Promise<PolicyRowsOutcome> {
  const ext = import.meta.url.endsWith('.ts') ? '.ts' : '.js';
  for (const candidate of CANDIDATES) {
    const url = new URL(`./${candidate}${ext}`, import.meta.url);
    if (!existsSync(fileURLToPath(url))) continue;
    try {
      const mod = (await import(url.href)) as { runPolicyBench?: unknown };
      if (typeof mod.runPolicyBench !== 'function') continue;
      const raw: unknown = await (mod.runPolicyBench as () => unknown)();
      return { status: 'ok', module: candidate, rows: normalizeRows(raw), raw };
    } catch (err) {
      return { status: 'failed', module: candidate, error: err instanceof Error ? err.message : String(err) };
    }
  }
  return { status: 'absent' };
}
