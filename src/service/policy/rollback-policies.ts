import { ConflictError, isCofferError } from '../../domain/errors.js';
import { policySetDigest, type CompiledEngine } from '../../policy/index.js';
import type { Caller } from '../caller.js';
import type { ServiceDeps } from '../deps.js';
import type { Gate } from '../gate.js';
import type { ActivationResult } from './apply-policies.js';
import { sourcesOf } from './diff-policies.js';
import { builtinEngine } from './load-active-policy.js';
import { POLICY_RESOURCE, type PolicyDeps } from './policy-deps.js';

const SYSTEM = { kind: 'system' } as const;

/**
 * Activates an earlier version again (`manage-policy`): `version`, or by default the
 * version that was active before the current one (0, the built-in set alone, if there
 * is none). The version is validated again before it is activated (the schema or the
 * trusted networks may have changed since); if it no longer validates, nothing
 * changes. Recorded as a new activation, so the history keeps every change.
 */
export async function rollbackPolicies(deps: ServiceDeps, gate: Gate, pdeps: PolicyDeps, caller: Caller, input: { version?: number }): Promise<ActivationResult> {
  const permit = await gate.enter(caller, 'manage-policy', SYSTEM, POLICY_RESOURCE, null, { op: 'rollback', to: input.version ?? 'previous' });
  try {
    const target = input.version ?? (await previousVersion(pdeps));
    const sources = await sourcesOf(pdeps, target);
    const engine: CompiledEngine = target === 0 ? builtinEngine(pdeps.factory, pdeps.adminGroupId) : pdeps.factory.engine(sources, pdeps.adminGroupId);
    const activation = await pdeps.policyStore.activate(target, 'rollback', caller.subject.principal.id, deps.clock());
    const digest = target === 0 ? policySetDigest([]) : ((await pdeps.policyStore.getVersion(target))?.digest ?? policySetDigest(sources));
    pdeps.engine.swap({ version: target, activation: activation.seq, custom: sources, digest, engine });
    const policies = engine.policySet.policies.filter((p) => sources.some((s) => s.name === p.source)).length;
    await permit.finish('success', { details: { version: target, activation: activation.seq } });
    return { version: target, activation: activation.seq, policies, unchanged: false };
  } catch (err) {
    await permit.finish('failure', { reason: isCofferError(err) ? err.code : 'error' });
    throw err;
  }
}

/** The version active before the current one. */
async function previousVersion(pdeps: PolicyDeps): Promise<number> {
  const history = await pdeps.policyStore.listActivations(1000);
  const current = history[0];
  const target = current === undefined ? undefined : (history.slice(1).find((a) => a.version !== current.version)?.version ?? (current.version !== 0 ? 0 : undefined));
  if (target === undefined) throw new ConflictError('no earlier policy version to roll back to');
  return target;
}
