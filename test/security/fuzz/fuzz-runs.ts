/**
 * How many cases a fuzz test runs, and from which seed. In `npm test` each fuzzer runs
 * its own small default from a fixed seed (deterministic, a few seconds in all); on
 * demand `COFFER_FUZZ_RUNS=<n>` runs every fuzzer n cases and `COFFER_FUZZ_SEED=<n>`
 * (or `random`) starts elsewhere. fast-check prints the seed and the shrunk
 * counterexample of a failure, so any run can be replayed.
 */

/** The number of cases: `COFFER_FUZZ_RUNS` when set, else `defaultRuns`. */
export function fuzzRuns(defaultRuns: number): number {
  const raw = process.env.COFFER_FUZZ_RUNS;
  if (raw === undefined || raw === '') return defaultRuns;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < 1) throw new Error(`COFFER_FUZZ_RUNS must be a positive integer, not \`${raw}\``);
  return n;
}

let announced = false;

/** fast-check parameters: the number of cases and the seed (`COFFER_FUZZ_SEED`, `random`, or `defaultSeed`). */
export function fuzzParams(defaultRuns: number, defaultSeed: number): { numRuns: number; seed: number } {
  const raw = process.env.COFFER_FUZZ_SEED;
  let seed = defaultSeed;
  if (raw === 'random') {
    seed = Math.floor(Math.random() * 0x7fffffff);
    if (!announced) console.log(`# COFFER_FUZZ_SEED=random: seeds derived from ${seed}`);
    announced = true;
  } else if (raw !== undefined && raw !== '') {
    seed = Number(raw);
    if (!Number.isSafeInteger(seed)) throw new Error(`COFFER_FUZZ_SEED must be an integer or \`random\`, not \`${raw}\``);
  }
  return { numRuns: fuzzRuns(defaultRuns), seed: raw === undefined || raw === '' ? seed : seed + defaultSeed };
}
