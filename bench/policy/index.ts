/**
 * bench/policy: the policy engine benchmark. The harness (`npm run bench`) runs
 * `runPolicyBench()` in a child (child.ts); `node dist/bench/policy/run.js` runs it alone.
 */
export { runPolicyBench, benchPolicyCount, benchPort, measure } from './policy-bench.js';
export { benchListing, type ListingTiming } from './listing-bench.js';
