import type { AccessRequestRecord, RequestKind, RequestStatus } from '../../access/access-types.js';
import type { Caller } from '../caller.js';
import { SYSTEM } from './access-context.js';
import type { AccessContext } from './access-context.js';
import { loadRequest, requestNotFound, selfApproval } from './request-lookup.js';
import { ScopeResolver } from './scope.js';
import { requestView } from './views.js';
import type { RequestView } from './views.js';

/** Which requests to list: the caller's own, those waiting for the caller's approval, or all the caller may decide on. */
export type RequestListKind = 'mine' | 'to-approve' | 'all';

/**
 * Lists requests. `mine`: the caller's own. `to-approve`: pending, not past their
 * deadline, not the caller's (nor its service accounts' or owner's), not yet approved by
 * it, on scopes where it holds `approve-access`. `all`: every request on such scopes,
 * plus its own. Rows are filtered by decision (no per-row audit record); the listing
 * itself is recorded.
 */
export async function listRequests(ctx: AccessContext, caller: Caller, input: { view: RequestListKind; status?: RequestStatus | undefined; kind?: RequestKind | undefined; limit?: number | undefined }): Promise<{ items: RequestView[] }> {
  const permit = await ctx.gate.enter(caller, 'read-metadata', SYSTEM, 'access-requests', null, { view: input.view });
  const me = caller.subject.principal.id;
  const now = ctx.deps.clock();
  const resolver = new ScopeResolver(ctx);
  const limit = Math.min(input.limit ?? 200, 1000);
  let rows: AccessRequestRecord[];
  if (input.view === 'mine') {
    rows = await ctx.store.listRequests({ requesterId: me, status: input.status, kind: input.kind, limit });
  } else {
    const candidates = await ctx.store.listRequests({ status: input.view === 'to-approve' ? 'pending' : input.status, kind: input.kind, limit: 1000 });
    rows = [];
    for (const r of candidates) {
      if (rows.length >= limit) break;
      if (input.view === 'all' && r.requesterId === me) {
        rows.push(r);
        continue;
      }
      if (input.view === 'to-approve' && (r.deadline <= now || (await selfApproval(caller, r, resolver)) !== null)) continue;
      const scope = await resolver.scope(r.scopeKind, r.scopeId);
      if (scope === null || !ctx.gate.decide(caller, 'approve-access', scope.ref).allowed) continue;
      if (input.view === 'to-approve' && (await ctx.store.listApprovals(r.id)).some((a) => a.approverId === me)) continue;
      rows.push(r);
    }
  }
  const items = await Promise.all(rows.map(async (r) => requestView(r, await ctx.store.listApprovals(r.id), resolver, now)));
  await permit.finish('success', { details: { returned: items.length } });
  return { items };
}

/** One request: for its requester (`request-access`) or whoever may approve on its scope (`approve-access`). */
export async function showRequest(ctx: AccessContext, caller: Caller, id: string): Promise<RequestView> {
  const own = (await ctx.store.getRequest(id))?.requesterId === caller.subject.principal.id;
  const action = own ? 'request-access' : 'approve-access';
  const { request, scope, resolver } = await loadRequest(ctx, caller, id, action);
  const permit = await ctx.gate.enter(caller, action, scope.ref, scope.auditName, { notFound: requestNotFound(id) }, { requestId: id, op: 'show' });
  await permit.finish('success');
  return requestView(request, await ctx.store.listApprovals(id), resolver, ctx.deps.clock());
}
