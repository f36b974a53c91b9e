import type { Principal } from '../domain/types.js';
import type { RequestContext, Subject } from '../policy/policy-engine.js';
import type { RequestMeta } from './deps.js';

/** An authenticated caller: who, with what rights, from where. */
export interface Caller {
  subject: Subject;
  meta: RequestMeta;
  context: RequestContext;
  tokenId: string;
  /**
   * The credential of the lineage that authenticated the request (session id, API token
   * id, S3 access key id): whatever the caller mints names it as its parent.
   */
  credentialId: string;
  /** Session of a JWT access token (identity module); absent for API tokens. Only session callers can step up. */
  sessionId?: string;
}

/** The audit actor of a principal. */
export function actorOf(p: Principal): { id: string; name: string; kind: string } {
  return { id: p.id, name: p.name, kind: p.kind };
}

/** The context recorded in audit events (no secrets). */
export function auditContext(meta: RequestMeta, context?: RequestContext): Record<string, unknown> {
  return {
    sourceIp: meta.sourceIp,
    userAgent: meta.userAgent.slice(0, 200),
    ...(context ? { mfa: context.mfa.methods, mfaAgeSeconds: context.mfa.ageSeconds, deviceManaged: context.device.managed } : {}),
  };
}
