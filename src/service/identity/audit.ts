import type { AuditEvent } from '../../audit/audit-event.js';
import type { Principal } from '../../domain/types.js';
import { auditContext } from '../caller.js';
import type { RequestMeta, ServiceDeps } from '../deps.js';
import type { Identity } from '../../identity/identity.js';
import { ValidationError } from '../../domain/errors.js';

/** The resource of system actions. */
export const SYSTEM = { kind: 'system' } as const;

/**
 * Records an event of a flow that has no Caller yet (login, refresh, SCIM, token
 * exchange). Written before the flow hands anything out: if the audit log cannot take
 * it, the flow fails (fail closed).
 */
export async function recordEvent(
  deps: ServiceDeps,
  meta: RequestMeta,
  e: { actor: Principal | { id: string; name: string; kind: string } | null; action: string; resource: string; allowed: boolean; outcome: AuditEvent['outcome']; reason?: string; details?: Record<string, unknown>; policies?: string[] },
): Promise<void> {
  await deps.audit.record({
    time: deps.clock(),
    requestId: meta.requestId,
    actor: e.actor === null ? null : { id: e.actor.id, name: e.actor.name, kind: e.actor.kind },
    action: e.action,
    resource: e.resource,
    decision: e.allowed ? 'allow' : 'deny',
    policies: e.policies ?? [],
    outcome: e.outcome,
    ...(e.reason !== undefined ? { reason: e.reason } : {}),
    context: { ...auditContext(meta), ...(e.details ?? {}) },
  });
}

/** The identity runtime, or a clear error when the server runs without it. */
export function identityOf(deps: ServiceDeps): Identity {
  if (deps.identity === undefined) throw new ValidationError('identity features are not enabled on this server');
  return deps.identity;
}

/** Records tokens minted for a live session (refresh, hand-off exchange) with the session's principal as actor. */
export async function recordMinted(deps: ServiceDeps, meta: RequestMeta, action: string, sessionId: string): Promise<void> {
  const session = await identityOf(deps).identityStore.getSession(sessionId);
  const principal = session === null ? null : await deps.store.getPrincipal(session.principalId);
  await recordEvent(deps, meta, { actor: principal, action, resource: `session/${sessionId}`, allowed: true, outcome: 'success', details: { sessionId } });
}
