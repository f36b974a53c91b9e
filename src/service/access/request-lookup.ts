import type { AccessRequestRecord } from '../../access/access-types.js';
import { NotFoundError, SelfApprovalError } from '../../domain/errors.js';
import type { Action } from '../../policy/policy-engine.js';
import type { Caller } from '../caller.js';
import type { AccessContext } from './access-context.js';
import { ScopeResolver } from './scope.js';
import type { Scope } from './scope.js';

/** One message for a missing request and one the caller may not see. */
export function requestNotFound(id: string): string {
  return `access request \`${id.slice(0, 40)}\` not found`;
}

/** A stored request with its scope resolved. */
export interface LoadedRequest {
  request: AccessRequestRecord;
  scope: Scope;
  resolver: ScopeResolver;
}

/** Loads a request and its scope; refuses (recorded) with "not found" when either is gone. */
export async function loadRequest(ctx: AccessContext, caller: Caller, id: string, action: Action): Promise<LoadedRequest> {
  const resolver = new ScopeResolver(ctx);
  const request = await ctx.store.getRequest(id);
  const scope = request === null ? null : await resolver.scope(request.scopeKind, request.scopeId);
  if (request === null || scope === null) return ctx.gate.refuse(caller, caller.meta, action, `access-request/${id.slice(0, 40)}`, new NotFoundError(requestNotFound(id)));
  return { request, scope, resolver };
}

/**
 * Why `caller` may not approve (or sign off) `request`, or null: nobody decides on their
 * own request, nor on one of their own service account's, nor (for a service account)
 * on its owner's.
 */
export async function selfApproval(caller: Caller, request: AccessRequestRecord, resolver: ScopeResolver): Promise<SelfApprovalError | null> {
  const me = caller.subject.principal;
  if (request.requesterId === me.id) return new SelfApprovalError('a request cannot be approved, denied or signed off by its requester');
  // INVARIANT: a person and their service accounts count as one party
  if (me.ownerId !== null && me.ownerId === request.requesterId) return new SelfApprovalError('a service account cannot approve a request of its owner');
  const requester = await resolver.principal(request.requesterId);
  if (requester !== null && requester.ownerId === me.id) return new SelfApprovalError('an owner cannot approve a request of their own service account');
  return null;
}
