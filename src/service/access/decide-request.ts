import type { Approval } from '../../access/access-types.js';
import { fourEyesViolation, partyOf } from '../../access/four-eyes.js';
import { AccessRequestClosedError, ValidationError, isCofferError } from '../../domain/errors.js';
import { ID_PREFIX, newId } from '../../domain/ids.js';
import type { Grant } from '../../domain/types.js';
import type { ApprovalEffect } from '../../store/access-store.js';
import type { Caller } from '../caller.js';
import type { AccessContext } from './access-context.js';
import { requestNotification } from './notify.js';
import { cleanText } from './request-access.js';
import { loadRequest, requestNotFound, selfApproval } from './request-lookup.js';
import { requestView } from './views.js';
import type { RequestView } from './views.js';

/**
 * Approves a pending request (`approve-access` on its scope: owners of the scope
 * through their grants, and admins). Nobody approves a request of their own party
 * (src/access/four-eyes.ts: themselves, their service accounts, their owner, a sibling
 * service account), and a party approves a request at most once. When the distinct approvals reach the required number,
 * the access starts now: a grant expiring `duration` from now (`grant`), an active
 * share link (`share`), a usable promote approval (`promote`). Exactly one approval can
 * be the final one, however many race.
 */
export async function approveRequest(ctx: AccessContext, caller: Caller, id: string, comment?: string): Promise<RequestView> {
  const { request, scope, resolver } = await loadRequest(ctx, caller, id, 'approve-access');
  const self = await selfApproval(caller, request, resolver);
  if (self !== null) return ctx.gate.refuse(caller, caller.meta, 'approve-access', scope.auditName, self);
  for (const earlier of await ctx.store.listApprovals(id)) {
    // the same approver again is the store's to refuse (already approved); another of the same party is refused here
    if (earlier.approverId === caller.subject.principal.id) continue;
    const same = await fourEyesViolation((pid) => resolver.principal(pid), caller.subject.principal, earlier.approverId, 'a second approval');
    if (same !== null) return ctx.gate.refuse(caller, caller.meta, 'approve-access', scope.auditName, same);
  }
  const details = { requestId: id, kind: request.kind, role: request.role, requester: await resolver.nameOf(request.requesterId) };
  const permit = await ctx.gate.enter(caller, 'approve-access', scope.ref, scope.auditName, { notFound: requestNotFound(id) }, details);
  const now = ctx.deps.clock();
  const me = caller.subject.principal.id;
  try {
    if (request.kind === 'break-glass') throw new ValidationError('a break-glass needs no approval: sign off its review instead');
    const note = cleanText('comment', comment, 2000, false) ?? '';
    const endsAt = now + request.durationMs;
    let effect: ApprovalEffect;
    if (request.kind === 'grant') {
      const grant: Grant = { id: newId(ID_PREFIX.grant), principalId: request.requesterId, role: request.role!, scopeKind: request.scopeKind, scopeId: request.scopeId, createdBy: me, createdAt: now, expiresAt: endsAt };
      effect = { grant, endsAt };
    } else if (request.kind === 'share') {
      if (request.target === null) throw new AccessRequestClosedError(`access request \`${id}\` has no share link`);
      effect = { shareLinkId: request.target, endsAt };
    } else if (request.kind === 'gate-exception') {
      effect = { endsAt, gateExceptionVersionId: request.scopeId };
    } else {
      effect = { endsAt };
    }
    // four eyes among approvers too: one approval per party, whatever the number of its service accounts
    const partyId = await partyOf((pid) => resolver.principal(pid), caller.subject.principal);
    const approval: Approval = { requestId: id, approverId: me, partyId, createdAt: now, comment: note };
    const result = await ctx.store.approve(approval, now, effect);
    await permit.finish('success', {
      details: { approvals: result.approvals, approvalsRequired: request.approvalsRequired, final: result.final, ...(result.final ? { grantId: effect.grant?.id ?? null, endsAt } : {}) },
    });
    if (result.final) ctx.notifier.notify(await requestNotification('access.approved', result.request, resolver, now, { actor: caller.subject.principal.name }));
    return requestView(result.request, await ctx.store.listApprovals(id), resolver, now);
  } catch (err) {
    await permit.finish('failure', { reason: isCofferError(err) ? err.code : 'error' });
    throw err;
  }
}

/** Denies a pending request (`approve-access` on its scope); its pending share link is denied with it. */
export async function denyRequest(ctx: AccessContext, caller: Caller, id: string, reason: string): Promise<RequestView> {
  const { request, scope, resolver } = await loadRequest(ctx, caller, id, 'approve-access');
  const self = await selfApproval(caller, request, resolver);
  if (self !== null) return ctx.gate.refuse(caller, caller.meta, 'approve-access', scope.auditName, self);
  const permit = await ctx.gate.enter(caller, 'approve-access', scope.ref, scope.auditName, { notFound: requestNotFound(id) }, { requestId: id, op: 'deny', reason: reason.slice(0, 500) });
  const now = ctx.deps.clock();
  try {
    const why = cleanText('reason', reason, 2000, true)!;
    if (request.status === 'pending' && request.deadline <= now) throw new AccessRequestClosedError(`access request \`${id}\` is past its deadline`);
    const closed = await ctx.store.close(id, 'pending', 'denied', caller.subject.principal.id, why, now);
    await permit.finish('success', { details: { op: 'deny' } });
    ctx.notifier.notify(await requestNotification('access.denied', closed, resolver, now, { actor: caller.subject.principal.name, reason: why }));
    return requestView(closed, await ctx.store.listApprovals(id), resolver, now);
  } catch (err) {
    await permit.finish('failure', { reason: isCofferError(err) ? err.code : 'error' });
    throw err;
  }
}
