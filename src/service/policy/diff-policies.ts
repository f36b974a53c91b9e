import { NotFoundError, isCofferError } from '../../domain/errors.js';
import { diffPolicySets, type PolicyDiff, type PolicySource } from '../../policy/index.js';
import type { Caller } from '../caller.js';
import type { Gate } from '../gate.js';
import { POLICY_RESOURCE, type PolicyDeps } from './policy-deps.js';

const SYSTEM = { kind: 'system' } as const;

/**
 * Compares two custom policy sets policy by policy (`read-policy`): `from` (a version,
 * default the active one) against `sources` (a draft) or the version `to`. Version 0
 * is the built-in set alone (no custom policy).
 */
export async function diffPolicies(gate: Gate, pdeps: PolicyDeps, caller: Caller, input: { sources?: PolicySource[]; from?: number; to?: number }): Promise<PolicyDiff & { from: number; to: number | 'draft' }> {
  const permit = await gate.enter(caller, 'read-policy', SYSTEM, POLICY_RESOURCE, null, { op: 'diff', from: input.from ?? null, to: input.to ?? (input.sources ? 'draft' : null) });
  try {
    const active = pdeps.engine.active;
    const from = input.from ?? active.version;
    const to = input.sources !== undefined ? 'draft' : (input.to ?? active.version);
    const diff = diffPolicySets(await sourcesOf(pdeps, from), input.sources ?? (await sourcesOf(pdeps, to as number)));
    await permit.finish('success');
    return { from, to, ...diff };
  } catch (err) {
    await permit.finish('failure', { reason: isCofferError(err) ? err.code : 'error' });
    throw err;
  }
}

/** The custom sources of a version (none for 0). NotFoundError if it does not exist. */
export async function sourcesOf(pdeps: PolicyDeps, version: number): Promise<PolicySource[]> {
  if (version === 0) return [];
  const record = await pdeps.policyStore.getVersion(version);
  if (record === null) throw new NotFoundError(`policy version ${version} not found`);
  return record.sources;
}
