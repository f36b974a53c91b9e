import { NotFoundError, ValidationError, isCofferError } from '../../domain/errors.js';
import { resolveSubject } from '../../identity/resolve-subject.js';
import { explainDecision, type Action, type ExplainedPolicy, type GrantStatus, type RequestContext } from '../../policy/index.js';
import type { Caller } from '../caller.js';
import type { ServiceDeps } from '../deps.js';
import type { Gate } from '../gate.js';
import { BYPASS_PROMOTION, prodChangeOf } from '../prod-guard.js';
import { POLICY_RESOURCE, type PolicyDeps } from './policy-deps.js';
import { resolveTarget, scopeName, type TargetInput } from './resolve-target.js';

const SYSTEM = { kind: 'system' } as const;

/** Context facts to explain a decision under; each defaults to the explaining caller's. */
export interface ExplainContextInput {
  sourceIp?: string;
  /** Epoch ms (default now). */
  time?: number;
  mfa?: string[];
  mfaAgeSeconds?: number;
  deviceManaged?: boolean;
  localHour?: number;
  localWeekday?: RequestContext['localWeekday'];
}

/** An explained decision, with names instead of ids where people read them. */
export interface ExplainView {
  request: { principal: string; action: Action; resource: string; context: { sourceIp: string; time: string; mfa: string[]; mfaAgeSeconds: number; deviceManaged: boolean } };
  /** The policy set that decided (0 = built-in). */
  policyVersion: number;
  allowed: boolean;
  cause: 'permitted' | 'forbidden' | 'no-permit' | 'policy-error' | 'bad-request';
  summary: string;
  determining: ExplainedPolicy[];
  errored: ExplainedPolicy[];
  grants: { grant: string; holder: string; role: string; scope: string; expiresAt: string | null; status: GrantStatus }[];
  /** The least change that would allow a denied request, in words; null if none helps (a forbid, an error). */
  suggestion: string | null;
  notes: string[];
}

/**
 * Explains what the active policy set decides for `principal` doing `action` on
 * `resource` (`read-policy`): the determining policies with their text and location,
 * the forbid or erroring policy behind a deny, the principal's grants on the resource
 * and why each did or did not count, and the least grant that would allow a default
 * deny. The principal's groups and grants are read now, expired grants included (they
 * are shown as expired).
 */
export async function explainAccess(
  deps: ServiceDeps,
  gate: Gate,
  pdeps: PolicyDeps,
  caller: Caller,
  input: { principal: string; action: Action; resource: TargetInput; context?: ExplainContextInput },
): Promise<ExplainView> {
  const permit = await gate.enter(caller, 'read-policy', SYSTEM, `${POLICY_RESOURCE}/explain`, null, { op: 'explain', principal: input.principal, action: input.action });
  try {
    const principal = await deps.store.getPrincipalByName(input.principal);
    if (principal === null) throw new NotFoundError(`principal \`${input.principal}\` not found`);
    if (principal.kind === 'group') throw new ValidationError(`\`${input.principal}\` is a group: explain a request by one of its members`);
    const target = await resolveTarget(deps, input.resource);
    const c = input.context ?? {};
    const now = c.time ?? deps.clock();
    const resolved = await resolveSubject(deps.store, principal, now);
    // expired grants too, so the explanation can say a grant has expired
    const grants = await deps.store.listGrantsForPrincipals([principal.id, ...resolved.groupIds]);
    const context: RequestContext = {
      sourceIp: c.sourceIp ?? caller.context.sourceIp,
      now,
      mfa: { methods: c.mfa ?? caller.context.mfa.methods, ageSeconds: c.mfaAgeSeconds ?? caller.context.mfa.ageSeconds },
      device: { managed: c.deviceManaged ?? caller.context.device.managed, id: c.deviceManaged === undefined ? caller.context.device.id : '' },
      ...(c.localHour !== undefined ? { localHour: c.localHour } : {}),
      ...(c.localWeekday !== undefined ? { localWeekday: c.localWeekday } : {}),
    };
    const active = pdeps.engine.active;
    const subject = { principal, groupIds: resolved.groupIds, grants };
    const e = explainDecision(active.engine, { subject, action: input.action, resource: target.ref, context });
    // the gate decides a prod change twice (service/prod-guard.ts): say so, and what the second decision gives
    const change = prodChangeOf(input.action, target.ref);
    const bypass = change === null ? null : explainDecision(active.engine, { subject, action: BYPASS_PROMOTION, resource: change.target, context });
    const blockedByPromotion = e.decision.allowed && bypass !== null && !bypass.decision.allowed;
    const holderNames = new Map<string, string>();
    for (const g of e.grants) if (!holderNames.has(g.holderId)) holderNames.set(g.holderId, (await deps.store.getPrincipal(g.holderId))?.name ?? g.holderId);
    const notes: string[] = [];
    if (principal.disabled) notes.push(`\`${principal.name}\` is disabled: every request is refused before policies are evaluated`);
    if (active.failure !== undefined) notes.push(`this node cannot load the active policy set: it serves policy management only (${active.failure})`);
    if (change !== null) {
      notes.push(`\`${input.action}\` here is a prod change: the gate also decides \`${BYPASS_PROMOTION}\` on it, which ${bypass!.decision.allowed ? `is permitted (${bypass!.determining.map((p) => p.id).join(', ')})` : 'no policy permits: prod is reached through promotions'}`);
    }
    let suggestion: string | null = null;
    if (e.suggestion?.kind === 'grant') suggestion = `grant ${e.suggestion.role} on ${scopeName(target.ref, e.suggestion.scopeKind, e.suggestion.scopeId)} to \`${principal.name}\``;
    else if (e.suggestion?.kind === 'admins-group') suggestion = `add \`${principal.name}\` to the admins group`;
    const view: ExplainView = {
      request: {
        principal: principal.name,
        action: input.action,
        resource: target.name,
        context: { sourceIp: context.sourceIp, time: new Date(now).toISOString(), mfa: context.mfa.methods, mfaAgeSeconds: context.mfa.ageSeconds, deviceManaged: context.device.managed },
      },
      policyVersion: active.version,
      allowed: e.decision.allowed && !blockedByPromotion && active.failure === undefined,
      cause: blockedByPromotion ? 'no-permit' : e.cause,
      summary: blockedByPromotion ? `denied: prod is reached only through a promotion (no policy permits \`${BYPASS_PROMOTION}\` here)` : e.summary,
      determining: e.determining,
      errored: e.errored,
      grants: e.grants.map((g) => ({
        grant: g.grantId,
        holder: holderNames.get(g.holderId)!,
        role: g.role,
        scope: scopeName(target.ref, g.scopeKind, g.scopeId),
        expiresAt: g.expiresAt === null ? null : new Date(g.expiresAt).toISOString(),
        status: g.status,
      })),
      suggestion,
      notes,
    };
    await permit.finish('success', { details: { allowed: view.allowed, cause: view.cause } });
    return view;
  } catch (err) {
    await permit.finish('failure', { reason: isCofferError(err) ? err.code : 'error' });
    throw err;
  }
}
