/**
 * On-demand differential run: `node --import tsx test/differential/differential-cli.ts [cases] [seed]`
 * (default a million cases). Prints progress, and writes every mismatch to
 * test/differential/mismatches-<seed>.json; exits 1 if there is any.
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { caseToJson, runDifferential } from './run-differential.js';

const cases = Number(process.argv[2] ?? 1_000_000);
const seed = Number(process.argv[3] ?? Date.now() % 1_000_000);
const started = performance.now();
const stats = runDifferential(cases, seed, (done, s) => {
  if (done % 10_000 < 500) {
    const rate = done / ((performance.now() - started) / 1000);
    process.stdout.write(`${done} cases, ${s.mismatches.length} mismatches, ${rate.toFixed(0)} cases/s\n`);
  }
});
const { mismatches, ...counts } = stats;
console.log(JSON.stringify({ seed, ...counts, mismatches: mismatches.length, seconds: (performance.now() - started) / 1000 }));
if (mismatches.length > 0) {
  const file = join(dirname(fileURLToPath(import.meta.url)), `mismatches-${seed}.json`);
  writeFileSync(file, `[${mismatches.map((m) => `{"official": ${JSON.stringify(m.official)}, "compiled": ${JSON.stringify(m.compiled)}, "case": ${caseToJson(m.testCase)}}`).join(',\n')}]\n`);
  console.log(`mismatches written to ${file}`);
  process.exit(1);
}
