import { isCofferError } from '../../domain/errors.js';
import { formatPolicySource, type PolicySource } from '../../policy/index.js';
import type { Caller } from '../caller.js';
import type { Gate } from '../gate.js';
import { POLICY_RESOURCE } from './policy-deps.js';

const SYSTEM = { kind: 'system' } as const;

/**
 * Lays out policy sources with Cedar's formatter (`read-policy`, like validate): each
 * source, formatted. Throws PolicyInvalidError with `file:line:column` for a source
 * that does not parse or has a policy without `@id`.
 */
export async function formatPolicies(gate: Gate, caller: Caller, sources: PolicySource[]): Promise<{ sources: PolicySource[] }> {
  const permit = await gate.enter(caller, 'read-policy', SYSTEM, POLICY_RESOURCE, null, { op: 'format', sources: sources.map((s) => s.name) });
  try {
    const formatted = sources.map((s) => ({ name: s.name, text: formatPolicySource(s) }));
    await permit.finish('success');
    return { sources: formatted };
  } catch (err) {
    await permit.finish('failure', { reason: isCofferError(err) ? err.code : 'error' });
    throw err;
  }
}
