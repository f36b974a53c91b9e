/** Runs the policy benchmark alone and prints its table and JSON rows. */
import { runPolicyBench } from './policy-bench.js';

const rows = await runPolicyBench();
console.log(JSON.stringify(rows.map((r) => ({ ...r, raw: undefined })), null, 1));
