import { AuditUnavailableError, ForbiddenError, GateBlockedError, NotFoundError, PolicyEvaluationError, PromotionRequiredError, StepUpRequiredError, isCofferError } from '../domain/errors.js';
import type { Action, Decision, ResourceRef } from '../policy/policy-engine.js';
import type { AuditEvent } from '../audit/audit-event.js';
import type { Caller } from './caller.js';
import { actorOf, auditContext } from './caller.js';
import type { ServiceDeps } from './deps.js';
import { notFoundMessage } from './resources.js';
import { BYPASS_PROMOTION, prodChangeOf, type ProdChange, type ProdEffect } from './prod-guard.js';
import { GATE_POLICY_PREFIX, gateBlockedMessage } from './scan/blocked-message.js';

const SYSTEM = { kind: 'system' } as const;

/** Proof that an action was authorized and its attempt recorded; close it with the outcome. */
export interface Permit {
  decision: Decision;
  /** Records the outcome (success with bytes, or failure with an error code). Never throws. */
  finish(outcome: 'success' | 'failure', extra?: { bytes?: number; reason?: string; details?: Record<string, unknown> }): Promise<void>;
}

/** How to answer when the action is denied. */
export interface DenyAs {
  /**
   * The message of the NotFoundError used when the caller may not even see the
   * resource (read-metadata denied): identical to the message for a resource that
   * does not exist, so existence does not leak. Without it, the message is derived
   * from the resource (`project \`p\` not found`...).
   */
  notFound: string;
}

/** The "not found" message of a catalog resource, as its lookup would give it (system: none). */
function notFoundOf(resource: ResourceRef): string | null {
  switch (resource.kind) {
    case 'system':
      return null;
    case 'project':
      return notFoundMessage.project(resource.project.name);
    case 'artifact':
      return notFoundMessage.artifact(resource.project.name, resource.artifact.name);
    case 'version':
      return notFoundMessage.version(resource.project.name, resource.artifact.name, resource.version.number);
  }
}

const PROD_CHANGE_WORDS: Record<ProdChange['kind'], string> = {
  'create-in-prod': 'create an artifact in prod',
  'write-to-prod': 'write a version into prod',
  'delete-in-prod': 'hide or remove what is in prod',
  'hide-prod-version': 'hide a version that reached prod',
};

/**
 * The one place where "every access is checked and recorded" holds:
 * authorize -> write the audit event BEFORE acting -> hand back a Permit.
 * Fails closed: a policy error denies; an audit write failure refuses the request.
 */
export class Gate {
  constructor(private readonly deps: ServiceDeps) {}

  /**
   * Authorizes `action` on `resource` (named `resourceName` in the audit log). A denied
   * caller who may not even read the resource's metadata gets the NotFoundError a
   * missing resource gets (`denyAs`, or the message derived from the resource), so a
   * denial never tells a hidden resource from a missing one; only system actions (the
   * system always exists) and visible resources are refused with 403. `effect` says what
   * the act does that its resource does not show (prod-guard.ts): a prod change also
   * needs `bypass-promotion` on the prod item, in the same decision and record.
   */
  async enter(caller: Caller, action: Action, resource: ResourceRef, resourceName: string, denyAs: DenyAs | null, extraDetails?: Record<string, unknown>, effect?: ProdEffect): Promise<Permit> {
    const change = prodChangeOf(action, resource, effect);
    const { decision, promotionRequired } = this.decideWith(caller, action, resource, change);
    // the attributes the policy saw, so impact analysis can replay them as they were
    const facts = resource.kind === 'artifact' || resource.kind === 'version' ? { resourceTier: resource.artifact.tier, resourceEnvironment: resource.artifact.environment } : {};
    const details = resource.kind === 'artifact' || resource.kind === 'version' || change !== null ? { ...extraDetails, ...facts, ...(change !== null ? { prodChange: change.kind } : {}) } : extraDetails;
    if (!decision.allowed) {
      // INVARIANT: a caller who may not even read the metadata is told "not found", as for a missing resource
      const notFound = denyAs?.notFound ?? notFoundOf(resource);
      const hidden = notFound !== null && (action === 'read-metadata' || !this.decide(caller, 'read-metadata', resource).allowed);
      const err = hidden
        ? new NotFoundError(notFound)
        : decision.errors.length > 0
          ? new PolicyEvaluationError()
          : this.needsStepUp(caller, action, resource, change)
            ? new StepUpRequiredError()
            : promotionRequired
              ? new PromotionRequiredError(`prod is reached only through a promotion: \`${action}\` on \`${resourceName}\` would ${PROD_CHANGE_WORDS[change!.kind]} (a policy must permit \`${BYPASS_PROMOTION}\`)`)
              : resource.kind === 'version' && decision.determining.some((id) => id.startsWith(GATE_POLICY_PREFIX))
                ? new GateBlockedError(gateBlockedMessage(action, resourceName, resource.version))
                : new ForbiddenError(`access denied: \`${action}\` on \`${resourceName}\``);
      await this.record(caller, action, resourceName, decision, 'denied', { reason: err.code, details: { ...details, ...(decision.errors.length ? { policyErrors: decision.errors } : {}) } });
      throw err;
    }
    await this.record(caller, action, resourceName, decision, 'attempt', { details });
    return {
      decision,
      finish: async (outcome, extra) => {
        try {
          await this.record(caller, action, resourceName, decision, outcome, { ...extra, details: { ...details, ...extra?.details } });
        } catch (err) {
          // the act already happened and its attempt is on record; do not change the response
          this.deps.warn('audit completion record failed', { requestId: caller.meta.requestId, code: isCofferError(err) ? err.code : 'unknown' });
        }
      },
    };
  }

  /**
   * Refuses now, recorded like any denial, unless `action` on the system would be
   * allowed. For use cases that look up a named object (a principal, a service account,
   * a workload issuer) before entering: called before the lookup, it makes a refused
   * caller get the same 403 whether the name exists or not.
   */
  async checkFirst(caller: Caller, action: Action, resourceName: string, details?: Record<string, unknown>): Promise<void> {
    // INVARIANT: authorization before the lookup; a denied caller never learns whether the name exists
    if (!this.decide(caller, action, SYSTEM).allowed) await this.enter(caller, action, SYSTEM, resourceName, null, details);
  }

  /**
   * Authorizes an action on an object a principal owns (a credential, a session, a
   * device, a share link): its owner acts with `read-metadata`, anyone else needs
   * `manage-principals`. An object the caller may not act on is refused exactly like a
   * missing one (`ownerId` null): NotFoundError(`notFound`), recorded.
   */
  async enterOwned(caller: Caller, ownerId: string | null, resourceName: string, notFound: string, details?: Record<string, unknown>): Promise<Permit> {
    if (ownerId !== null && ownerId === caller.subject.principal.id) return this.enter(caller, 'read-metadata', SYSTEM, resourceName, null, details);
    // INVARIANT: someone else's object is visible only to those who may manage principals
    if (ownerId === null || !this.decide(caller, 'manage-principals', SYSTEM).allowed) return this.refuse(caller, caller.meta, 'manage-principals', resourceName, new NotFoundError(notFound));
    return this.enter(caller, 'manage-principals', SYSTEM, resourceName, null, details);
  }

  /**
   * True when the only thing missing is a fresh WebAuthn assertion: the same request with
   * the credential's methods plus `webauthn`, just now, would be allowed. Only users can
   * step up: through a session, or with an API token that is not exempt (minted by a
   * session, or its exemption withdrawn by `step-up-enforced`; `coffer step-up` then
   * starts a session). A workload or an exempt API token has no second factor to add.
   */
  private needsStepUp(caller: Caller, action: Action, resource: ResourceRef, change: ProdChange | null): boolean {
    if (caller.subject.principal.kind !== 'user') return false;
    const m = caller.context.mfa.methods;
    if (m.includes('token') && !m.includes('step-up-enforced')) return false;
    const methods = [...new Set([...caller.context.mfa.methods, 'webauthn'])];
    const fresh: Caller = { ...caller, context: { ...caller.context, mfa: { methods, ageSeconds: 0 } } };
    return this.decideWith(fresh, action, resource, change).decision.allowed;
  }

  /**
   * Decides without recording (used to filter listings; the listing itself is recorded).
   * A prod change (prod-guard.ts) is allowed only if `bypass-promotion` is too.
   */
  decide(caller: Caller, action: Action, resource: ResourceRef, effect?: ProdEffect): Decision {
    return this.decideWith(caller, action, resource, prodChangeOf(action, resource, effect)).decision;
  }

  /** The act's decision, combined with `bypass-promotion` on the prod item for a prod change. */
  private decideWith(caller: Caller, action: Action, resource: ResourceRef, change: ProdChange | null): { decision: Decision; promotionRequired: boolean } {
    const act = this.decideOne(caller, action, resource);
    if (change === null) return { decision: act, promotionRequired: false };
    // INVARIANT: prod is reached (or hidden) other than by a promotion only where a policy explicitly permits it
    const bypass = this.decideOne(caller, BYPASS_PROMOTION, change.target);
    const decision: Decision = {
      allowed: act.allowed && bypass.allowed,
      determining: [...new Set([...act.determining, ...(act.allowed ? bypass.determining : [])])].sort(),
      errors: [...new Set([...act.errors, ...bypass.errors])],
    };
    return { decision, promotionRequired: act.allowed && !bypass.allowed };
  }

  private decideOne(caller: Caller, action: Action, resource: ResourceRef): Decision {
    try {
      return this.deps.policy.authorize({ subject: caller.subject, action, resource, context: caller.context });
    } catch (err) {
      // INVARIANT: an engine failure is a deny, never an allow
      return { allowed: false, determining: [], errors: [isCofferError(err) ? err.code : 'engine-failure'] };
    }
  }

  /** Records a request refused before authorization (unknown resource, failed authentication). */
  async refuse(caller: Caller | null, meta: Caller['meta'], action: string, resourceName: string, err: Error & { code: string }): Promise<never> {
    const event: AuditEvent = {
      time: this.deps.clock(),
      requestId: meta.requestId,
      actor: caller ? actorOf(caller.subject.principal) : null,
      action,
      resource: resourceName,
      decision: 'deny',
      policies: [],
      outcome: 'denied',
      reason: err.code,
      context: auditContext(meta, caller?.context),
    };
    await this.write(event);
    throw err;
  }

  private async record(
    caller: Caller,
    action: string,
    resource: string,
    decision: Decision,
    outcome: AuditEvent['outcome'],
    extra: { bytes?: number; reason?: string; details?: Record<string, unknown> | undefined },
  ): Promise<void> {
    const event: AuditEvent = {
      time: this.deps.clock(),
      requestId: caller.meta.requestId,
      actor: actorOf(caller.subject.principal),
      action,
      resource,
      decision: decision.allowed ? 'allow' : 'deny',
      policies: decision.determining,
      outcome,
      context: { ...auditContext(caller.meta, caller.context), ...(extra.details ?? {}) },
      ...(extra.bytes !== undefined ? { bytes: extra.bytes } : {}),
      ...(extra.reason !== undefined ? { reason: extra.reason } : {}),
    };
    await this.write(event);
  }

  private async write(event: AuditEvent): Promise<void> {
    try {
      await this.deps.audit.record(event);
    } catch (err) {
      // INVARIANT: no audit record, no action (fail closed)
      if (err instanceof AuditUnavailableError) throw err;
      throw new AuditUnavailableError(undefined, { cause: err, detail: (err as Error).message });
    }
  }
}
