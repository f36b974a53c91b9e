import { tmpdir } from 'node:os';

/** The benchmark cases `COFFER_BENCH_ONLY` can pick. */
export const CASES = ['upload', 'download', 'gets', 'audit', 'policy', 's3', 'gate', 'scale', 'monitor'] as const;
/** One benchmark case. */
export type CaseName = (typeof CASES)[number];

/** Settings of one `npm run bench`, from `COFFER_BENCH_*` environment variables. */
export interface BenchOptions {
  /** Size of the big object in MiB (`COFFER_BENCH_SIZE_MIB`, default 1024). */
  sizeMiB: number;
  /** Timed runs of each transfer, the median is reported (`COFFER_BENCH_RUNS`, default 3). */
  runs: number;
  /** Measured seconds of the small-GET case (`COFFER_BENCH_DURATION_S`, default 10). */
  getSeconds: number;
  /** Concurrent keep-alive connections of the small-GET case (`COFFER_BENCH_CONNECTIONS`, default 32). */
  connections: number;
  /** Seconds of each audit-append case (`COFFER_BENCH_AUDIT_S`, default 5). */
  auditSeconds: number;
  /** Size of each artifact-gate workload in MiB (`COFFER_BENCH_GATE_MIB`, default 256). */
  gateMiB: number;
  /** Cases to run (`COFFER_BENCH_ONLY=upload,download,...`, default all). */
  cases: ReadonlySet<CaseName>;
  /** Profile the Coffer server with `--cpu-prof` (`COFFER_BENCH_CPU_PROF=1`). */
  cpuProfile: boolean;
  /** Where temporary data goes (`COFFER_BENCH_DIR`, default the OS temp dir); its disk is the one measured. */
  workDir: string;
}

function int(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < min || n > max) throw new Error(`${name} must be an integer from ${min} to ${max}, got \`${raw}\``);
  return n;
}

/** Reads the options from `env`; throws on a malformed value rather than guessing. */
export function readOptions(env: NodeJS.ProcessEnv = process.env): BenchOptions {
  const only = env.COFFER_BENCH_ONLY;
  const cases = new Set<CaseName>();
  for (const name of only === undefined || only === '' ? CASES : only.split(',').map((s) => s.trim())) {
    if (!(CASES as readonly string[]).includes(name)) throw new Error(`COFFER_BENCH_ONLY: unknown case \`${name}\`, known: ${CASES.join(', ')}`);
    cases.add(name as CaseName);
  }
  return {
    sizeMiB: int(env, 'COFFER_BENCH_SIZE_MIB', 1024, 1, 16 * 1024),
    runs: int(env, 'COFFER_BENCH_RUNS', 3, 1, 20),
    getSeconds: int(env, 'COFFER_BENCH_DURATION_S', 10, 1, 300),
    connections: int(env, 'COFFER_BENCH_CONNECTIONS', 32, 1, 1024),
    auditSeconds: int(env, 'COFFER_BENCH_AUDIT_S', 5, 1, 120),
    gateMiB: int(env, 'COFFER_BENCH_GATE_MIB', 256, 1, 4096),
    cases,
    cpuProfile: env.COFFER_BENCH_CPU_PROF === '1',
    workDir: env.COFFER_BENCH_DIR !== undefined && env.COFFER_BENCH_DIR !== '' ? env.COFFER_BENCH_DIR : tmpdir(),
  };
}
