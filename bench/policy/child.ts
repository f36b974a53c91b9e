/** The policy benchmark as a bench child process (see bench/policy-rows.ts). */
import { reportError, reportResult } from '../child.js';
import { runPolicyBench } from './policy-bench.js';

runPolicyBench().then(reportResult, reportError);
