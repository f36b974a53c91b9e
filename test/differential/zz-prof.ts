import fc from 'fast-check';
import { caseArb } from './cedar-arbitraries.js';
import { officialOutcome, compiledOutcome } from './cedar-differential.js';
const N = 1000;
let t = performance.now();
const samples = fc.sample(caseArb(), { numRuns: N, seed: 3 });
console.log('gen', (performance.now() - t) / N);
t = performance.now(); for (const c of samples) officialOutcome(c); console.log('official', (performance.now() - t) / N);
t = performance.now(); for (const c of samples) compiledOutcome(c); console.log('compiled', (performance.now() - t) / N);
