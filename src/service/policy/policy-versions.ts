import { NotFoundError } from '../../domain/errors.js';
import { parsePolicySources } from '../../policy/index.js';
import type { Caller } from '../caller.js';
import type { ServiceDeps } from '../deps.js';
import type { Gate } from '../gate.js';
import { POLICY_RESOURCE, type PolicyDeps } from './policy-deps.js';
import { activationView, activeView, versionView, type ActivePolicyView, type PolicyActivationView, type PolicyVersionDetail, type PolicyVersionView } from './policy-views.js';

const SYSTEM = { kind: 'system' } as const;

/** Names of principals by id (for listings), `?` for one that no longer exists. */
async function namesOf(deps: ServiceDeps, ids: string[]): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const id of new Set(ids)) out.set(id, (await deps.store.getPrincipal(id))?.name ?? '?');
  return out;
}

/** The active set on this node, every stored version and the last activations (`read-policy`). */
export async function listPolicyVersions(deps: ServiceDeps, gate: Gate, pdeps: PolicyDeps, caller: Caller): Promise<{ active: ActivePolicyView; versions: PolicyVersionView[]; activations: PolicyActivationView[] }> {
  const permit = await gate.enter(caller, 'read-policy', SYSTEM, POLICY_RESOURCE, null, { op: 'list' });
  const active = pdeps.engine.active;
  const versions = await pdeps.policyStore.listVersions();
  const activations = await pdeps.policyStore.listActivations(20);
  const names = await namesOf(deps, [...versions.map((v) => v.createdBy), ...activations.map((a) => a.activatedBy)]);
  await permit.finish('success');
  return {
    active: activeView(active),
    versions: versions.map((v) => versionView(v, names.get(v.createdBy)!, active.version)),
    activations: activations.map((a) => activationView(a, names.get(a.activatedBy)!)),
  };
}

/**
 * One version with its sources (`read-policy`); default the active one. Version 0 shows
 * the built-in sources (baseline pack and the generated network rules).
 */
export async function showPolicyVersion(deps: ServiceDeps, gate: Gate, pdeps: PolicyDeps, caller: Caller, version?: number): Promise<PolicyVersionDetail> {
  const active = pdeps.engine.active;
  const wanted = version ?? active.version;
  const permit = await gate.enter(caller, 'read-policy', SYSTEM, POLICY_RESOURCE, null, { op: 'show', version: wanted });
  let detail: PolicyVersionDetail;
  if (wanted === 0) {
    const sources = [...pdeps.factory.builtin];
    detail = { version: 0, sources, policies: positions(sources), digest: '', message: 'built-in set', createdBy: null, createdAt: null, active: active.version === 0 };
  } else {
    const record = await pdeps.policyStore.getVersion(wanted);
    if (record === null) {
      await permit.finish('failure', { reason: 'COFFER_NOT_FOUND' });
      throw new NotFoundError(`policy version ${wanted} not found`);
    }
    const names = await namesOf(deps, [record.createdBy]);
    detail = {
      version: record.version,
      sources: record.sources,
      policies: positions(record.sources),
      digest: record.digest,
      message: record.message,
      createdBy: names.get(record.createdBy)!,
      createdAt: new Date(record.createdAt).toISOString(),
      active: active.version === record.version,
    };
  }
  await permit.finish('success');
  return detail;
}

function positions(sources: { name: string; text: string }[]): { id: string; at: string }[] {
  try {
    return parsePolicySources(sources).map((p) => ({ id: p.id, at: `${p.source}:${p.line}:${p.column}` }));
  } catch {
    return [];
  }
}
