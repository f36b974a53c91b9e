import fc from 'fast-check';
import { caseArb } from '/work/main/test/differential/cedar-arbitraries.js';
import { officialOutcome, compiledOutcome } from '/work/main/test/differential/cedar-differential.js';
import { isDeepStrictEqual } from 'node:util';
const N = Number(process.argv[2] ?? 2000);
let skipped = 0, fails = 0, allows = 0, errs = 0, fail = 0;
const t0 = performance.now();
const samples = fc.sample(caseArb(), { numRuns: N, seed: Number(process.argv[3] ?? 1) });
for (const c of samples) {
  const o = officialOutcome(c);
  if (o === null) { skipped++; continue; }
  if (o.type === 'failure') fail++; else { if (o.decision === 'allow') allows++; if (o.errors.length) errs++; }
  let m;
  try { m = compiledOutcome(c); } catch (e) { console.log('THROW', String(e), JSON.stringify(c)); fails++; continue; }
  if (!isDeepStrictEqual(o, m)) { fails++; if (fails <= 5) console.log('MISMATCH', JSON.stringify(o), JSON.stringify(m), JSON.stringify(c)); }
}
console.log({ N, skipped, fails, allows, errs, failure: fail, ms: performance.now() - t0 });
