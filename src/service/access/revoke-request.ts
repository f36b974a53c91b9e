import { AccessRequestClosedError, isCofferError } from '../../domain/errors.js';
import type { Caller } from '../caller.js';
import type { AccessContext } from './access-context.js';
import { requestNotification } from './notify.js';
import { cleanText } from './request-access.js';
import { loadRequest, requestNotFound } from './request-lookup.js';
import { requestView } from './views.js';
import type { RequestView } from './views.js';

/**
 * Ends a request early. The requester cancels a pending request or revokes an approved
 * one (recorded as `request-access`, which every principal holds); anyone who may
 * approve on the scope (`approve-access`) revokes an approved one. Revoking deletes the
 * grant at once (the next request is denied) and revokes a share link; the request and
 * the audit log keep the record.
 */
export async function revokeRequest(ctx: AccessContext, caller: Caller, id: string, reason?: string): Promise<RequestView> {
  const own = (await ctx.store.getRequest(id))?.requesterId === caller.subject.principal.id;
  const action = own ? 'request-access' : 'approve-access';
  const { request, scope, resolver } = await loadRequest(ctx, caller, id, action);
  const permit = await ctx.gate.enter(caller, action, scope.ref, scope.auditName, { notFound: requestNotFound(id) }, { requestId: id, op: 'revoke' });
  const now = ctx.deps.clock();
  try {
    const why = cleanText('reason', reason, 2000, false);
    let from: 'pending' | 'approved';
    let to: 'cancelled' | 'revoked';
    if (request.status === 'pending') {
      if (!own) throw new AccessRequestClosedError(`access request \`${id}\` is still pending: deny it instead`);
      from = 'pending';
      to = 'cancelled';
    } else if (request.status === 'approved') {
      from = 'approved';
      to = 'revoked';
    } else {
      throw new AccessRequestClosedError(`access request \`${id}\` is already ${request.status}`);
    }
    const closed = await ctx.store.close(id, from, to, caller.subject.principal.id, why, now);
    await permit.finish('success', { details: { op: to, grantId: closed.grantId } });
    ctx.notifier.notify(await requestNotification(to === 'revoked' ? 'access.revoked' : 'access.denied', closed, resolver, now, { actor: caller.subject.principal.name, reason: why ?? (to === 'cancelled' ? 'cancelled by the requester' : null) }));
    return requestView(closed, await ctx.store.listApprovals(id), resolver, now);
  } catch (err) {
    await permit.finish('failure', { reason: isCofferError(err) ? err.code : 'error' });
    throw err;
  }
}
