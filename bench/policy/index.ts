/**
 * bench/policy: the policy engine benchmark. `runPolicyBench()` is called by the
 * harness (`npm run bench`); `node --import tsx bench/policy/run.ts` runs it alone.
 */
export { runPolicyBench, benchPolicyCount, benchPort, measure } from './policy-bench.js';
export { benchListing, type ListingTiming } from './listing-bench.js';
