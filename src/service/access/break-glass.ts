import { ACCESS_ID_PREFIX } from '../../access/access-types.js';
import type { AccessRequestRecord } from '../../access/access-types.js';
import type { DeliveryOutcome } from '../../access/webhook.js';
import { checkDuration } from '../../access/durations.js';
import { AccessRequestClosedError, NotFoundError, ValidationError, isCofferError } from '../../domain/errors.js';
import { ID_PREFIX, newId } from '../../domain/ids.js';
import type { Grant, Role } from '../../domain/types.js';
import type { Caller } from '../caller.js';
import { SYSTEM } from './access-context.js';
import type { AccessContext } from './access-context.js';
import { requestNotification } from './notify.js';
import { cleanText } from './request-access.js';
import { loadRequest, requestNotFound, selfApproval } from './request-lookup.js';
import { ScopeResolver, resolveScope, scopeAuditName, scopeNotFound } from './scope.js';
import type { ScopeInput } from './scope.js';
import { requestView } from './views.js';
import type { RequestView } from './views.js';

/** An emergency self-elevation. */
export interface BreakGlassInput extends ScopeInput {
  role: Role;
  durationSeconds: number;
  /** Mandatory: why the normal path could not wait. */
  reason: string;
  ticket?: string | undefined;
}

/**
 * Break-glass (`break-glass` on the scope; admins by the baseline): after a step-up
 * check, grants `role` on the scope at once for at most `breakGlassMaxSeconds`, sends
 * the alert immediately (and reports whether it went out), and leaves a review item
 * that stays open until someone other than the caller signs it off. Everything is
 * recorded; the grant ends by itself like any other.
 */
export async function breakGlass(ctx: AccessContext, caller: Caller, input: BreakGlassInput): Promise<RequestView & { alert: DeliveryOutcome }> {
  const scope = await resolveScope(ctx, input);
  if (scope === null) return ctx.gate.refuse(caller, caller.meta, 'break-glass', scopeAuditName(input), scopeNotFound(input));
  const permit = await ctx.gate.enter(caller, 'break-glass', scope.ref, scope.auditName, { notFound: scope.notFound }, { role: input.role, durationSeconds: input.durationSeconds, reason: (input.reason ?? '').slice(0, 500) });
  const now = ctx.deps.clock();
  const me = caller.subject.principal.id;
  let request: AccessRequestRecord;
  try {
    ctx.stepUp({ context: caller.context, sessionId: caller.sessionId });
    const durationMs = checkDuration(ctx.settings, 'break-glass', input.role, input.durationSeconds);
    const reason = cleanText('reason', input.reason, 2000, true)!;
    if (reason.length < 10) throw new ValidationError('reason must say why (10 characters or more)');
    const ticket = cleanText('ticket', input.ticket, 200, false);
    const grant: Grant = { id: newId(ID_PREFIX.grant), principalId: me, role: input.role, scopeKind: scope.kind, scopeId: scope.id, createdBy: me, createdAt: now, expiresAt: now + durationMs };
    request = {
      id: newId(ACCESS_ID_PREFIX.request),
      kind: 'break-glass',
      requesterId: me,
      role: input.role,
      scopeKind: scope.kind,
      scopeId: scope.id,
      projectId: scope.project.id,
      tier: scope.artifact?.tier ?? null,
      durationMs,
      justification: reason,
      ticket,
      approvalsRequired: 0,
      status: 'approved',
      createdAt: now,
      deadline: now,
      decidedAt: now,
      decidedBy: me,
      reason: null,
      grantId: grant.id,
      endsAt: grant.expiresAt,
      target: null,
      expiryNotedAt: null,
      review: { status: 'open', by: null, at: null, note: null },
    };
    await ctx.store.createRequest(request, { grant });
  } catch (err) {
    await permit.finish('failure', { reason: isCofferError(err) ? err.code : 'error' });
    throw err;
  }
  const resolver = new ScopeResolver(ctx);
  // the alert goes out before the caller gets the answer, and the record says whether it did
  const alert = await ctx.notifier.deliver(await requestNotification('breakglass.activated', request, resolver, now), { urgent: true });
  await permit.finish('success', { details: { requestId: request.id, grantId: request.grantId, endsAt: request.endsAt, alert, review: 'open' } });
  return { ...(await requestView(request, [], resolver, now)), alert };
}

/** Break-glass reviews the caller may sign off (or its own), open ones unless `all`. */
export async function listReviews(ctx: AccessContext, caller: Caller, input: { all?: boolean | undefined }): Promise<{ items: RequestView[] }> {
  const permit = await ctx.gate.enter(caller, 'read-metadata', SYSTEM, 'break-glass-reviews', null, { all: input.all === true });
  const now = ctx.deps.clock();
  const resolver = new ScopeResolver(ctx);
  const rows = await ctx.store.listRequests({ kind: 'break-glass', ...(input.all === true ? {} : { reviewOpen: true }), limit: 1000 });
  const items: RequestView[] = [];
  for (const r of rows) {
    const scope = await resolver.scope(r.scopeKind, r.scopeId);
    const visible = r.requesterId === caller.subject.principal.id || (scope !== null && ctx.gate.decide(caller, 'approve-access', scope.ref).allowed);
    if (visible) items.push(await requestView(r, [], resolver, now));
  }
  await permit.finish('success', { details: { returned: items.length } });
  return { items };
}

/**
 * Signs off the review of a break-glass (`approve-access` on its scope), with a
 * mandatory note. Never by the person who broke the glass (nor their service account
 * or owner). A review is signed off once.
 */
export async function signOffReview(ctx: AccessContext, caller: Caller, id: string, note: string): Promise<RequestView> {
  const { request, scope, resolver } = await loadRequest(ctx, caller, id, 'approve-access');
  if (request.kind !== 'break-glass') return ctx.gate.refuse(caller, caller.meta, 'approve-access', scope.auditName, new NotFoundError(`break-glass review \`${id.slice(0, 40)}\` not found`));
  const self = await selfApproval(caller, request, resolver);
  if (self !== null) return ctx.gate.refuse(caller, caller.meta, 'approve-access', scope.auditName, self);
  const permit = await ctx.gate.enter(caller, 'approve-access', scope.ref, scope.auditName, { notFound: requestNotFound(id) }, { requestId: id, op: 'review-signoff' });
  const now = ctx.deps.clock();
  try {
    const text = cleanText('note', note, 2000, true)!;
    const ok = await ctx.store.signOffReview(id, caller.subject.principal.id, text, now);
    if (!ok) throw new AccessRequestClosedError(`the review of break-glass \`${id}\` is already signed off`);
    const updated = (await ctx.store.getRequest(id))!;
    await permit.finish('success', { details: { op: 'review-signoff' } });
    ctx.notifier.notify(await requestNotification('breakglass.signed-off', updated, resolver, now, { actor: caller.subject.principal.name }));
    return requestView(updated, [], resolver, now);
  } catch (err) {
    await permit.finish('failure', { reason: isCofferError(err) ? err.code : 'error' });
    throw err;
  }
}
