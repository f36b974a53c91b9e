import { isCofferError } from '../../domain/errors.js';
import type { PolicySource, PolicySummary } from '../../policy/index.js';
import type { Caller } from '../caller.js';
import type { Gate } from '../gate.js';
import { POLICY_RESOURCE, type PolicyDeps } from './policy-deps.js';

const SYSTEM = { kind: 'system' } as const;

/**
 * Validates custom policy sources as `apply` would (`read-policy`): the built-in set
 * plus these, strictly against the schema. Throws PolicyInvalidError with
 * `file:line:column` and cedar-wasm's message; returns the policies found.
 */
export async function validatePolicies(gate: Gate, pdeps: PolicyDeps, caller: Caller, sources: PolicySource[]): Promise<{ policies: PolicySummary[] }> {
  const permit = await gate.enter(caller, 'read-policy', SYSTEM, POLICY_RESOURCE, null, { op: 'validate', sources: sources.map((s) => s.name) });
  try {
    const policies = pdeps.factory.validate(sources);
    await permit.finish('success', { details: { policies: policies.length } });
    return { policies };
  } catch (err) {
    await permit.finish('failure', { reason: isCofferError(err) ? err.code : 'error' });
    throw err;
  }
}
