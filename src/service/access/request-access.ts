import { ACCESS_ID_PREFIX } from '../../access/access-types.js';
import type { AccessRequestRecord } from '../../access/access-types.js';
import { checkDuration } from '../../access/durations.js';
import { AlreadyExistsError, ValidationError, isCofferError } from '../../domain/errors.js';
import { ID_PREFIX, newId } from '../../domain/ids.js';
import { TIERS } from '../../domain/types.js';
import type { Grant, Role, Tier } from '../../domain/types.js';
import type { Caller } from '../caller.js';
import type { AccessContext } from './access-context.js';
import { requestNotification } from './notify.js';
import { ScopeResolver, resolveScope, scopeAuditName, scopeNotFound } from './scope.js';
import type { ScopeInput } from './scope.js';
import { requestView } from './views.js';
import type { RequestView } from './views.js';

/** A request for a role on a scope. */
export interface RequestAccessInput extends ScopeInput {
  role: Role;
  durationSeconds: number;
  justification: string;
  ticket?: string | undefined;
}

/** Trims free text and refuses what is empty or too long (it goes to the audit log and webhooks). */
export function cleanText(what: string, text: string | undefined, max: number, required: boolean): string | null {
  const t = (text ?? '').trim();
  if (t.length === 0) {
    if (required) throw new ValidationError(`${what} is required`);
    return null;
  }
  if (t.length > max) throw new ValidationError(`${what} is longer than ${max} characters`);
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(t.replace(/\n/g, ''))) throw new ValidationError(`${what} contains control characters`);
  return t;
}

/** Distinct approvers needed for a request on an artifact of `tier` (project scopes: the general number). */
export function approvalsFor(ctx: AccessContext, tier: Tier | null): number {
  return tier === 'restricted' ? ctx.settings.approvalsRestricted : ctx.settings.approvals;
}

/** True when a reader request on `tier` is approved at once by configuration (never restricted). */
function autoApproved(ctx: AccessContext, role: Role, tier: Tier | null): boolean {
  const limit = ctx.settings.autoApproveTier;
  if (limit === 'none' || role !== 'reader' || tier === null || tier === 'restricted') return false;
  return TIERS.indexOf(tier) <= TIERS.indexOf(limit);
}

/**
 * Asks for `role` on a scope for a while (`request-access`, which every authenticated
 * principal holds by the baseline). The grant is created only at final approval and
 * lasts `durationSeconds` from then; the duration is checked against the role's maximum.
 * Reader requests on low tiers can be approved at once by configuration.
 */
export async function requestAccess(ctx: AccessContext, caller: Caller, input: RequestAccessInput): Promise<RequestView> {
  const scope = await resolveScope(ctx, input);
  if (scope === null) return ctx.gate.refuse(caller, caller.meta, 'request-access', scopeAuditName(input), scopeNotFound(input));
  const details = { role: input.role, durationSeconds: input.durationSeconds, justification: (input.justification ?? '').slice(0, 500), ticket: input.ticket ?? null };
  const permit = await ctx.gate.enter(caller, 'request-access', scope.ref, scope.auditName, { notFound: scope.notFound }, details);
  const now = ctx.deps.clock();
  const me = caller.subject.principal.id;
  try {
    const durationMs = checkDuration(ctx.settings, 'grant', input.role, input.durationSeconds);
    const justification = cleanText('justification', input.justification, 2000, true)!;
    const ticket = cleanText('ticket', input.ticket, 200, false);
    const open = await ctx.store.listRequests({ requesterId: me, status: 'pending', kind: 'grant', limit: 1000 });
    const duplicate = open.find((r) => r.scopeKind === scope.kind && r.scopeId === scope.id && r.role === input.role && r.deadline > now);
    if (duplicate !== undefined) throw new AlreadyExistsError(`you already have a pending request \`${duplicate.id}\` for ${input.role} on \`${scope.display}\``);
    const tier = scope.artifact?.tier ?? null;
    const auto = autoApproved(ctx, input.role, tier);
    const id = newId(ACCESS_ID_PREFIX.request);
    const grant: Grant | undefined = auto
      ? { id: newId(ID_PREFIX.grant), principalId: me, role: input.role, scopeKind: scope.kind, scopeId: scope.id, createdBy: me, createdAt: now, expiresAt: now + durationMs }
      : undefined;
    const request: AccessRequestRecord = {
      id,
      kind: 'grant',
      requesterId: me,
      role: input.role,
      scopeKind: scope.kind,
      scopeId: scope.id,
      projectId: scope.project.id,
      tier,
      durationMs,
      justification,
      ticket,
      approvalsRequired: auto ? 0 : approvalsFor(ctx, tier),
      status: auto ? 'approved' : 'pending',
      createdAt: now,
      deadline: now + ctx.settings.requestTtlSeconds * 1000,
      decidedAt: auto ? now : null,
      decidedBy: null,
      reason: null,
      grantId: grant?.id ?? null,
      endsAt: grant?.expiresAt ?? null,
      target: null,
      expiryNotedAt: null,
      review: null,
    };
    await ctx.store.createRequest(request, grant ? { grant } : {});
    await permit.finish('success', { details: { requestId: id, approvalsRequired: request.approvalsRequired, autoApproved: auto, ...(grant ? { grantId: grant.id, endsAt: grant.expiresAt } : {}) } });
    const resolver = new ScopeResolver(ctx);
    ctx.notifier.notify(await requestNotification(auto ? 'access.approved' : 'access.requested', request, resolver, now));
    return requestView(request, [], resolver, now);
  } catch (err) {
    await permit.finish('failure', { reason: isCofferError(err) ? err.code : 'error' });
    throw err;
  }
}
