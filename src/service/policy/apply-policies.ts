import { isCofferError } from '../../domain/errors.js';
import { policySetDigest, type CompiledEngine, type PolicySource } from '../../policy/index.js';
import type { Caller } from '../caller.js';
import type { ServiceDeps } from '../deps.js';
import type { Gate } from '../gate.js';
import { POLICY_RESOURCE, type PolicyDeps } from './policy-deps.js';

const SYSTEM = { kind: 'system' } as const;

/** What an apply or rollback did. */
export interface ActivationResult {
  version: number;
  /** Number of the activation (0 when nothing changed). */
  activation: number;
  /** Custom policies in force. */
  policies: number;
  /** True when the set was already the active one: nothing was stored or activated. */
  unchanged: boolean;
}

/**
 * Applies a custom policy set (`manage-policy`): validates the built-in set plus
 * `sources` strictly (a syntax or type error is refused with cedar-wasm's message and
 * `file:line:column`, and the active set is untouched), stores it as the next version
 * and activates it in one transaction, then serves it from the next request on. Other
 * nodes follow within a second (policy-sync.ts). Audited: the attempt before, the
 * outcome with the version after. Applying the active set again changes nothing.
 */
export async function applyPolicies(deps: ServiceDeps, gate: Gate, pdeps: PolicyDeps, caller: Caller, input: { sources: PolicySource[]; message?: string }): Promise<ActivationResult> {
  const digest = policySetDigest(input.sources);
  const permit = await gate.enter(caller, 'manage-policy', SYSTEM, POLICY_RESOURCE, null, { op: 'apply', sources: input.sources.map((s) => s.name), digest });
  let engine: CompiledEngine;
  try {
    engine = pdeps.factory.engine(input.sources, pdeps.adminGroupId);
  } catch (err) {
    await permit.finish('failure', { reason: isCofferError(err) ? err.code : 'error', details: { problem: err instanceof Error ? err.message.slice(0, 500) : '' } });
    throw err;
  }
  const policies = engine.policySet.policies.filter((p) => input.sources.some((s) => s.name === p.source)).length;
  const active = pdeps.engine.active;
  if (active.failure === undefined && active.digest === digest) {
    await permit.finish('success', { details: { version: active.version, unchanged: true } });
    return { version: active.version, activation: 0, policies, unchanged: true };
  }
  let stored;
  try {
    stored = await pdeps.policyStore.createAndActivate({ sources: input.sources, digest, policyCount: policies, message: (input.message ?? '').slice(0, 500), createdBy: caller.subject.principal.id, createdAt: deps.clock() });
  } catch (err) {
    await permit.finish('failure', { reason: isCofferError(err) ? err.code : 'error' });
    throw err;
  }
  // in force from the next decision on
  pdeps.engine.swap({ version: stored.version.version, activation: stored.activation.seq, custom: input.sources, digest, engine });
  await permit.finish('success', { details: { version: stored.version.version, activation: stored.activation.seq, policies } });
  return { version: stored.version.version, activation: stored.activation.seq, policies, unchanged: false };
}
