import type { AccessRequestRecord } from '../../access/access-types.js';
import { NotFoundError } from '../../domain/errors.js';
import type { SelfApprovalError } from '../../domain/errors.js';
import { fourEyesViolation } from '../../access/four-eyes.js';
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
 * Why `caller` may not approve, deny or sign off `request`, or null: the four-eyes rule
 * (src/access/four-eyes.ts): nobody decides on their own request, nor on one of the
 * same party (their service account, their owner, a sibling service account of the
 * same owner, walked transitively).
 */
export async function selfApproval(caller: Caller, request: AccessRequestRecord, resolver: ScopeResolver): Promise<SelfApprovalError | null> {
  return fourEyesViolation((id) => resolver.principal(id), caller.subject.principal, request.requesterId, 'a request');
}
