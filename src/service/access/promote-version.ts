import { createHash } from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import { Writable } from 'node:stream';
import { ACCESS_ID_PREFIX } from '../../access/access-types.js';
import type { AccessRequestRecord, Promotion } from '../../access/access-types.js';
import { nextEnvironment } from '../../access/environments.js';
import { ConflictError, NotFoundError, PromotionCheckFailedError, isCofferError } from '../../domain/errors.js';
import { newId } from '../../domain/ids.js';
import type { Artifact, ArtifactVersion, Environment } from '../../domain/types.js';
import type { Caller } from '../caller.js';
import { findArtifact, names, notFoundMessage } from '../resources.js';
import type { AccessContext } from './access-context.js';
import { requestNotification } from './notify.js';
import { cleanText } from './request-access.js';
import { ScopeResolver, resolveScope, scopeAuditName, scopeNotFound } from './scope.js';
import type { Scope } from './scope.js';
import { promotionView, requestView } from './views.js';
import type { PromotionView, RequestView } from './views.js';

/** A promotion of one version to the next environment. */
export interface PromoteInput {
  project: string;
  artifact: string;
  version: number;
  to: Exclude<Environment, 'dev'>;
  /** Why (recorded on the approval request when one is needed). */
  justification?: string | undefined;
}

/** Either the promotion happened, or it waits for approvals. */
export type PromoteResult = { status: 'promoted'; promotion: PromotionView } | { status: 'pending-approval'; request: RequestView };

/**
 * Promotes a version (`promote` on the version) to the next environment only
 * (dev -> staging -> prod). When the target needs approvals, the first call files a
 * `promote` request; once it is approved, the same call performs the promotion and
 * uses the approval up. Before anything is recorded the stored bytes are re-read
 * through the vault and their SHA-256 compared with the version's, then every
 * registered check runs; any failure refuses the promotion (fail closed).
 */
export async function promoteVersion(ctx: AccessContext, caller: Caller, input: PromoteInput): Promise<PromoteResult> {
  const scopeInput = { project: input.project, artifact: input.artifact, version: input.version };
  let scope = await resolveScope(ctx, scopeInput);
  if (scope !== null && scope.version !== null && (scope.version.scan ?? null) === null && ctx.deps.settleScan !== undefined) {
    // the gate's verdict is a fact policy decides on: a version promoted right after its
    // upload is scanned now rather than refused as pending (docs/gate.md)
    await ctx.deps.settleScan(scope.version.id);
    scope = await resolveScope(ctx, scopeInput);
  }
  if (scope === null || scope.version === null || scope.artifact === null) return ctx.gate.refuse(caller, caller.meta, 'promote', scopeAuditName(scopeInput), scopeNotFound(scopeInput));
  const from = scope.artifact.environment;
  const permit = await ctx.gate.enter(caller, 'promote', scope.ref, scope.auditName, { notFound: scope.notFound }, { from, to: input.to });
  const now = ctx.deps.clock();
  const me = caller.subject.principal.id;
  const resolver = new ScopeResolver(ctx);
  try {
    const next = nextEnvironment(from);
    if (next !== input.to) throw new ConflictError(next === null ? `version \`${scope.display}\` is already in prod` : `version \`${scope.display}\` is in \`${from}\`: it can be promoted to \`${next}\` only`);
    const required = ctx.settings.promotionApprovals[input.to];
    let approval: AccessRequestRecord | null = null;
    if (required > 0) {
      const mine = (await ctx.store.listRequests({ requesterId: me, kind: 'promote', limit: 1000 })).filter((r) => r.scopeId === scope.id && r.target === input.to);
      approval = mine.find((r) => r.status === 'approved' && r.endsAt !== null && r.endsAt > now) ?? null;
      if (approval === null) {
        const waiting = mine.find((r) => r.status === 'pending' && r.deadline > now) ?? (await fileRequest(ctx, caller, scope, input, required, now));
        await permit.finish('success', { details: { pendingApproval: waiting.id, approvalsRequired: required } });
        return { status: 'pending-approval', request: await requestView(waiting, await ctx.store.listApprovals(waiting.id), resolver, now) };
      }
    }
    const checks = await runChecks(ctx, scope, scope.artifact, scope.version, from, input.to);
    const promotion: Promotion = {
      id: newId(ACCESS_ID_PREFIX.promotion),
      versionId: scope.version.id,
      artifactId: scope.artifact.id,
      environment: input.to,
      fromEnvironment: from,
      promotedBy: me,
      promotedAt: ctx.deps.clock(),
      requestId: approval?.id ?? null,
      sha256: scope.version.sha256,
      checks,
    };
    if (approval !== null) await ctx.store.usePromoteApproval(approval.id, promotion, promotion.promotedAt);
    else await ctx.store.createPromotion(promotion);
    await permit.finish('success', { details: { promotionId: promotion.id, checks, requestId: promotion.requestId } });
    if (approval !== null) ctx.notifier.notify(await requestNotification('promotion.completed', approval, resolver, now, { actor: caller.subject.principal.name }));
    return { status: 'promoted', promotion: await promotionView(promotion, resolver) };
  } catch (err) {
    await permit.finish('failure', { reason: isCofferError(err) ? err.code : 'error', ...(err instanceof PromotionCheckFailedError ? { details: { check: err.message.slice(0, 300) } } : {}) });
    throw err;
  }
}

async function fileRequest(ctx: AccessContext, caller: Caller, scope: Scope, input: PromoteInput, required: number, now: number): Promise<AccessRequestRecord> {
  const request: AccessRequestRecord = {
    id: newId(ACCESS_ID_PREFIX.request),
    kind: 'promote',
    requesterId: caller.subject.principal.id,
    role: null,
    scopeKind: 'version',
    scopeId: scope.id,
    projectId: scope.project.id,
    tier: scope.artifact?.tier ?? null,
    durationMs: ctx.settings.requestTtlSeconds * 1000,
    justification: cleanText('justification', input.justification, 2000, false) ?? `promote to ${input.to}`,
    ticket: null,
    approvalsRequired: required,
    status: 'pending',
    createdAt: now,
    deadline: now + ctx.settings.requestTtlSeconds * 1000,
    decidedAt: null,
    decidedBy: null,
    reason: null,
    grantId: null,
    endsAt: null,
    target: input.to,
    expiryNotedAt: null,
    review: null,
  };
  await ctx.store.createRequest(request);
  ctx.notifier.notify(await requestNotification('promotion.requested', request, new ScopeResolver(ctx), now));
  return request;
}

/** The digest check (always first), then the registered checks. Returns the names of those that passed. */
async function runChecks(ctx: AccessContext, scope: Scope, artifact: Artifact, version: ArtifactVersion, from: Environment, to: Environment): Promise<string[]> {
  const open = () =>
    ctx.deps.vault.open({ objectId: version.id, blobKey: version.blobKey, size: version.size, wrappedKey: version.wrappedKey, keyTerm: version.keyTerm });
  const hash = createHash('sha256');
  let read = 0;
  try {
    await pipeline(
      await open(),
      new Writable({
        write(chunk: Buffer, _enc, done) {
          hash.update(chunk);
          read += chunk.length;
          done();
        },
      }),
    );
  } catch (err) {
    throw new PromotionCheckFailedError(`promotion check \`digest\` failed: stored bytes could not be read back (${isCofferError(err) ? err.code : 'error'})`, { cause: err });
  }
  const digest = hash.digest('hex');
  if (digest !== version.sha256 || read !== version.size) throw new PromotionCheckFailedError(`promotion check \`digest\` failed: stored bytes do not match sha256 ${version.sha256}`);
  const passed = ['digest'];
  for (const check of ctx.checks.for(to)) {
    const controller = new AbortController();
    let result;
    try {
      result = await check.run({ project: scope.project, artifact, version, from, to, open, signal: controller.signal });
    } catch (err) {
      // fail closed: a check that breaks is a check that failed
      result = { ok: false, detail: `check failed to run (${isCofferError(err) ? err.code : 'error'})` };
    } finally {
      controller.abort();
    }
    if (!result.ok) throw new PromotionCheckFailedError(`promotion check \`${check.name}\` failed${result.detail ? `: ${result.detail.slice(0, 500)}` : ''}`);
    passed.push(check.name);
  }
  return passed;
}

/** Promotions of an artifact's versions (`read-metadata` on the artifact). */
export async function listPromotions(ctx: AccessContext, caller: Caller, project: string, artifactName: string): Promise<{ items: PromotionView[] }> {
  const found = await findArtifact(ctx.deps, project, artifactName);
  const resourceName = names.artifact(project, artifactName);
  const notFound = notFoundMessage.artifact(project, artifactName);
  if (found === null) return ctx.gate.refuse(caller, caller.meta, 'read-metadata', resourceName, new NotFoundError(notFound));
  const permit = await ctx.gate.enter(caller, 'read-metadata', { kind: 'artifact', ...found }, resourceName, { notFound }, { op: 'promotions' });
  const resolver = new ScopeResolver(ctx);
  const items = await Promise.all((await ctx.store.listPromotions(found.artifact.id)).map((p) => promotionView(p, resolver)));
  await permit.finish('success');
  return { items };
}

