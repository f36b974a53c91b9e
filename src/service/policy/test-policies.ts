import { isCofferError } from '../../domain/errors.js';
import { TEST_ADMINS_GROUP, parsePolicyTestFile, runPolicyTests, type PolicySource, type PolicyTestResult } from '../../policy/index.js';
import type { Caller } from '../caller.js';
import type { Gate } from '../gate.js';
import { POLICY_RESOURCE, type PolicyDeps } from './policy-deps.js';

const SYSTEM = { kind: 'system' } as const;

/** The outcome of a policy test run. */
export interface PolicyTestReport {
  /** The set tested: `draft` (the sources given) or the active version. */
  tested: 'draft' | { version: number };
  passed: number;
  failed: number;
  results: PolicyTestResult[];
}

/**
 * Runs policy test cases (`read-policy`) against the built-in set plus `sources`, or
 * plus the active custom set when `sources` is absent. The group `admins` of the cases
 * is the administrators group. Throws ValidationError for a malformed test file and
 * PolicyInvalidError for invalid sources.
 */
export async function testPolicies(gate: Gate, pdeps: PolicyDeps, caller: Caller, input: { sources?: PolicySource[]; tests: unknown }): Promise<PolicyTestReport> {
  const permit = await gate.enter(caller, 'read-policy', SYSTEM, POLICY_RESOURCE, null, { op: 'test', sources: input.sources?.map((s) => s.name) ?? null });
  try {
    const file = parsePolicyTestFile({ tests: input.tests });
    const active = pdeps.engine.active;
    const engine = pdeps.factory.engine(input.sources ?? active.custom, TEST_ADMINS_GROUP);
    const results = runPolicyTests(engine, file);
    const passed = results.filter((r) => r.passed).length;
    await permit.finish('success', { details: { passed, failed: results.length - passed } });
    return { tested: input.sources === undefined ? { version: active.version } : 'draft', passed, failed: results.length - passed, results };
  } catch (err) {
    await permit.finish('failure', { reason: isCofferError(err) ? err.code : 'error' });
    throw err;
  }
}
