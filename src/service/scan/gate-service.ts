import { ACCESS_ID_PREFIX } from '../../access/access-types.js';
import type { AccessRequestRecord } from '../../access/access-types.js';
import { GATE_EXCEPTION_SECONDS } from '../../access/durations.js';
import { AlreadyExistsError, ConflictError, isCofferError } from '../../domain/errors.js';
import { newId } from '../../domain/ids.js';
import type { ScanState } from '../../domain/types.js';
import { scanFacts, versionTier } from '../../policy/version-facts.js';
import type { Caller } from '../caller.js';
import type { AccessContext } from '../access/access-context.js';
import { requestNotification } from '../access/notify.js';
import { approvalsFor, cleanText } from '../access/request-access.js';
import { ScopeResolver, resolveScope, scopeAuditName, scopeNotFound } from '../access/scope.js';
import { requestView, type RequestView } from '../access/views.js';

/** A version as callers name it. */
export interface VersionInput {
  project: string;
  artifact: string;
  version: number;
}

/** A version's gate scan as the API shows it: flags, the report (counts, locations, never values), the exception. */
export interface ScanView {
  version: string;
  state: ScanState;
  unsafeCode: boolean;
  secrets: boolean;
  pii: boolean;
  /** The tier policy sees on the version (raised to restricted by personal data). */
  effectiveTier: string;
  scannedAt: string | null;
  exceptionRequestId: string | null;
  report: unknown;
}

/**
 * The artifact gate's use cases over HTTP and the CLI: read a version's verdict, and ask
 * for an exception to its block. An exception is an access request of kind
 * `gate-exception` on the version, approved like any other (N-of-M, never by its
 * requester, their service accounts or their owners: decide-request.ts), so the four-eyes
 * rule and its audit trail are the access module's, not a second implementation.
 */
export class GateService {
  constructor(private readonly ctx: AccessContext) {}

  /** The verdict and report of a version (`read-metadata` on the version). */
  async showScan(caller: Caller, input: VersionInput): Promise<ScanView> {
    const scope = await resolveScope(this.ctx, input);
    if (scope === null || scope.version === null || scope.artifact === null) return this.ctx.gate.refuse(caller, caller.meta, 'read-metadata', scopeAuditName(input), scopeNotFound(input));
    const permit = await this.ctx.gate.enter(caller, 'read-metadata', scope.ref, scope.auditName, { notFound: scope.notFound }, { op: 'gate-scan' });
    const version = scope.version;
    const facts = scanFacts(version);
    const report = await this.ctx.deps.store.getVersionScanReport(version.id);
    await permit.finish('success');
    return {
      version: scope.display,
      state: facts.state,
      unsafeCode: facts.unsafeCode,
      secrets: facts.secrets,
      pii: facts.pii,
      effectiveTier: versionTier(version, scope.artifact),
      scannedAt: version.scan ? new Date(version.scan.scannedAt).toISOString() : null,
      exceptionRequestId: version.scan?.exceptionRequestId ?? null,
      report: report === null ? null : (JSON.parse(report) as unknown),
    };
  }

  /**
   * Files a gate exception for a version whose scan blocks it (`request-access` on the
   * version, which the baseline gives every principal; the Gate answers not-found to a
   * caller who may not see it). Approvals needed: as for a restricted item.
   */
  async requestException(caller: Caller, input: VersionInput & { justification: string }): Promise<RequestView> {
    const scope = await resolveScope(this.ctx, input);
    if (scope === null || scope.version === null || scope.artifact === null) return this.ctx.gate.refuse(caller, caller.meta, 'request-access', scopeAuditName(input), scopeNotFound(input));
    // INVARIANT: an exception is asked for a version one can see; anyone else is told it does not exist
    if (!this.ctx.gate.decide(caller, 'read-metadata', scope.ref).allowed) return this.ctx.gate.refuse(caller, caller.meta, 'request-access', scope.auditName, scopeNotFound(input));
    const details = { kind: 'gate-exception', justification: (input.justification ?? '').slice(0, 500) };
    const permit = await this.ctx.gate.enter(caller, 'request-access', scope.ref, scope.auditName, { notFound: scope.notFound }, details);
    const now = this.ctx.deps.clock();
    const me = caller.subject.principal.id;
    try {
      const justification = cleanText('justification', input.justification, 2000, true)!;
      const facts = scanFacts(scope.version);
      if (facts.state === 'pending') throw new ConflictError(`version \`${scope.display}\` has not been scanned yet: an exception lifts a verdict, wait for it`);
      if (facts.state === 'clean') throw new ConflictError(`version \`${scope.display}\` passed the gate: there is nothing to except`);
      if (facts.excepted) throw new AlreadyExistsError(`version \`${scope.display}\` already has an approved gate exception`);
      const open = await this.ctx.store.listRequests({ requesterId: me, status: 'pending', kind: 'gate-exception', limit: 1000 });
      const duplicate = open.find((r) => r.scopeId === scope.id && r.deadline > now);
      if (duplicate !== undefined) throw new AlreadyExistsError(`you already have a pending gate exception \`${duplicate.id}\` for \`${scope.display}\``);
      const request: AccessRequestRecord = {
        id: newId(ACCESS_ID_PREFIX.request),
        kind: 'gate-exception',
        requesterId: me,
        role: null,
        scopeKind: 'version',
        scopeId: scope.id,
        projectId: scope.project.id,
        tier: scope.artifact.tier,
        durationMs: GATE_EXCEPTION_SECONDS * 1000,
        justification,
        ticket: null,
        // INVARIANT: at least one approver other than the requester (four eyes), however the tiers are configured
        approvalsRequired: Math.max(1, approvalsFor(this.ctx, 'restricted')),
        status: 'pending',
        createdAt: now,
        deadline: now + this.ctx.settings.requestTtlSeconds * 1000,
        decidedAt: null,
        decidedBy: null,
        reason: null,
        grantId: null,
        endsAt: null,
        target: null,
        expiryNotedAt: null,
        review: null,
      };
      await this.ctx.store.createRequest(request);
      await permit.finish('success', { details: { requestId: request.id, approvalsRequired: request.approvalsRequired, scan: facts } });
      const resolver = new ScopeResolver(this.ctx);
      this.ctx.notifier.notify(await requestNotification('access.requested', request, resolver, now));
      return requestView(request, [], resolver, now);
    } catch (err) {
      await permit.finish('failure', { reason: isCofferError(err) ? err.code : 'error' });
      throw err;
    }
  }
}
