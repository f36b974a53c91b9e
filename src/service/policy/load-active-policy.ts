import { isCofferError } from '../../domain/errors.js';
import { policySetDigest, type ActivePolicy, type CompiledEngine, type PolicySetFactory } from '../../policy/index.js';
import type { PolicyActivationRecord, PolicyStore } from '../../store/policy-store.js';

/** Built-in engines by factory and admin group: building one validates the whole baseline (tens of ms). */
const builtinCache = new WeakMap<PolicySetFactory, Map<string | null, CompiledEngine>>();

/** The engine of the built-in set alone (version 0), built once per factory and admin group. */
export function builtinEngine(factory: PolicySetFactory, adminGroupId: string | null): CompiledEngine {
  let byGroup = builtinCache.get(factory);
  if (byGroup === undefined) builtinCache.set(factory, (byGroup = new Map<string | null, CompiledEngine>()));
  let engine = byGroup.get(adminGroupId);
  if (engine === undefined) byGroup.set(adminGroupId, (engine = factory.engine([], adminGroupId)));
  return engine;
}

/**
 * The policy set of `activation` (null: none ever made, the built-in set), ready to
 * serve. If its version is missing or no longer validates here (a schema change, a
 * different `trustedNetworks`), the result is the built-in engine with `failure` set:
 * the node then denies everything but policy management (see SwappableEngine).
 */
export async function loadActivePolicy(store: PolicyStore, factory: PolicySetFactory, adminGroupId: string | null, activation: PolicyActivationRecord | null): Promise<ActivePolicy> {
  const builtin = () => builtinEngine(factory, adminGroupId);
  if (activation === null || activation.version === 0) {
    return { version: 0, activation: activation?.seq ?? 0, custom: [], digest: policySetDigest([]), engine: builtin() };
  }
  try {
    const record = await store.getVersion(activation.version);
    if (record === null) throw new Error(`policy version ${activation.version} is missing`);
    return { version: record.version, activation: activation.seq, custom: record.sources, digest: record.digest, engine: factory.engine(record.sources, adminGroupId) };
  } catch (err) {
    const why = isCofferError(err) ? `${err.code}: ${err.message}` : (err as Error).message;
    return { version: activation.version, activation: activation.seq, custom: [], digest: '', engine: builtin(), failure: `active policy version ${activation.version} cannot be loaded (${why})` };
  }
}
