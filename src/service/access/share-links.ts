import { ACCESS_ID_PREFIX } from '../../access/access-types.js';
import type { AccessRequestRecord, ShareLink } from '../../access/access-types.js';
import { normalizeCidrs } from '../../access/cidr.js';
import { checkDuration } from '../../access/durations.js';
import { generateShareToken } from '../../access/share-token.js';
import { AccessRequestClosedError, NotFoundError, isCofferError } from '../../domain/errors.js';
import { newId } from '../../domain/ids.js';
import type { Caller } from '../caller.js';
import { SYSTEM } from './access-context.js';
import type { AccessContext } from './access-context.js';
import { requestNotification } from './notify.js';
import { approvalsFor, cleanText } from './request-access.js';
import { ScopeResolver, resolveScope, scopeAuditName, scopeNotFound } from './scope.js';
import type { ScopeInput } from './scope.js';
import { shareLinkView } from './views.js';
import type { ShareLinkView } from './views.js';

/** A share link to create. */
export interface CreateShareLinkInput {
  project: string;
  artifact: string;
  version: number;
  /** Lifetime from activation; default and maximum `shareMaxSeconds`. */
  ttlSeconds?: number | undefined;
  maxDownloads?: number | undefined;
  /** Allowed source networks (CIDR); none = any. */
  cidrs?: string[] | undefined;
  /** Required for restricted versions (it goes on the approval request). */
  justification?: string | undefined;
}

/** A new link: the secret is in `token` and `path`, shown once, never stored. */
export interface CreatedShareLink {
  link: ShareLinkView;
  token: string;
  /** `/v1/share/<token>` on this server. */
  path: string;
}

/**
 * Creates a read-only, time-limited, revocable link to one version (`share` on the
 * version: writers and owners). The secret is a `coffer_share_` token; only its SHA-256
 * is stored. A link to a restricted version needs an approval like any elevation: it is
 * created pending, with a `share` request that approvers decide on; it starts working
 * (and its lifetime starts) at the final approval.
 */
export async function createShareLink(ctx: AccessContext, caller: Caller, input: CreateShareLinkInput): Promise<CreatedShareLink> {
  const scopeInput: ScopeInput = { project: input.project, artifact: input.artifact, version: input.version };
  const scope = await resolveScope(ctx, scopeInput);
  if (scope === null || scope.version === null || scope.artifact === null) return ctx.gate.refuse(caller, caller.meta, 'share', scopeAuditName(scopeInput), scopeNotFound(scopeInput));
  const permit = await ctx.gate.enter(caller, 'share', scope.ref, scope.auditName, { notFound: scope.notFound }, { ttlSeconds: input.ttlSeconds ?? null, maxDownloads: input.maxDownloads ?? null, cidrs: input.cidrs ?? [] });
  const now = ctx.deps.clock();
  const me = caller.subject.principal.id;
  try {
    const ttlMs = checkDuration(ctx.settings, 'share', null, input.ttlSeconds ?? ctx.settings.shareMaxSeconds);
    const cidrs = normalizeCidrs(input.cidrs ?? []);
    const restricted = scope.artifact.tier === 'restricted';
    const justification = cleanText('justification', input.justification, 2000, restricted);
    const secret = generateShareToken();
    const link: ShareLink = {
      id: newId(ACCESS_ID_PREFIX.shareLink),
      tokenHash: secret.hash,
      hint: secret.hint,
      projectId: scope.project.id,
      artifactId: scope.artifact.id,
      versionId: scope.version.id,
      createdBy: me,
      createdAt: now,
      ttlMs,
      expiresAt: restricted ? null : now + ttlMs,
      maxDownloads: input.maxDownloads ?? null,
      downloads: 0,
      cidrs,
      status: restricted ? 'pending' : 'active',
      requestId: null,
      revokedAt: null,
      revokedBy: null,
      lastUsedAt: null,
    };
    let request: AccessRequestRecord | null = null;
    if (restricted) {
      request = {
        id: newId(ACCESS_ID_PREFIX.request),
        kind: 'share',
        requesterId: me,
        role: null,
        scopeKind: 'version',
        scopeId: scope.version.id,
        projectId: scope.project.id,
        tier: scope.artifact.tier,
        durationMs: ttlMs,
        justification: justification!,
        ticket: null,
        approvalsRequired: approvalsFor(ctx, scope.artifact.tier),
        status: 'pending',
        createdAt: now,
        deadline: now + ctx.settings.requestTtlSeconds * 1000,
        decidedAt: null,
        decidedBy: null,
        reason: null,
        grantId: null,
        endsAt: null,
        target: link.id,
        expiryNotedAt: null,
        review: null,
      };
      link.requestId = request.id;
      await ctx.store.createRequest(request, { link });
    } else {
      await ctx.store.createShareLink(link);
    }
    await permit.finish('success', { details: { linkId: link.id, hint: link.hint, expiresAt: link.expiresAt, requestId: link.requestId } });
    const resolver = new ScopeResolver(ctx);
    if (request !== null) ctx.notifier.notify(await requestNotification('share.requested', request, resolver, now));
    return { link: await shareLinkView(link, resolver, now), token: secret.token, path: `/v1/share/${secret.token}` };
  } catch (err) {
    await permit.finish('failure', { reason: isCofferError(err) ? err.code : 'error' });
    throw err;
  }
}

/**
 * Share links: without a version, the caller's own; with one, the caller's own on it,
 * or all of them for whoever may approve on it (`approve-access`).
 */
export async function listShareLinks(ctx: AccessContext, caller: Caller, input: Partial<ScopeInput>): Promise<{ items: ShareLinkView[] }> {
  const me = caller.subject.principal.id;
  const now = ctx.deps.clock();
  const resolver = new ScopeResolver(ctx);
  let links: ShareLink[];
  if (input.project === undefined || input.artifact === undefined || input.version === undefined) {
    const permit = await ctx.gate.enter(caller, 'read-metadata', SYSTEM, 'share-links', null, { view: 'mine' });
    links = await ctx.store.listShareLinks({ createdBy: me });
    await permit.finish('success', { details: { returned: links.length } });
  } else {
    const scopeInput = { project: input.project, artifact: input.artifact, version: input.version };
    const scope = await resolveScope(ctx, scopeInput);
    if (scope === null || scope.version === null) return ctx.gate.refuse(caller, caller.meta, 'share', scopeAuditName(scopeInput), scopeNotFound(scopeInput));
    const all = ctx.gate.decide(caller, 'approve-access', scope.ref).allowed;
    const permit = await ctx.gate.enter(caller, all ? 'approve-access' : 'share', scope.ref, scope.auditName, { notFound: scope.notFound }, { op: 'list-share-links' });
    links = await ctx.store.listShareLinks({ versionId: scope.version.id, ...(all ? {} : { createdBy: me }) });
    await permit.finish('success', { details: { returned: links.length } });
  }
  return { items: await Promise.all(links.map((l) => shareLinkView(l, resolver, now))) };
}

/**
 * Revokes a link at once: its creator always can (recorded as a `read-metadata` on the
 * system, like revoking one's own token, so losing access never prevents it); others
 * need `approve-access` on the version. A pending approval request is cancelled with it.
 */
export async function revokeShareLink(ctx: AccessContext, caller: Caller, id: string): Promise<ShareLinkView> {
  const resolver = new ScopeResolver(ctx);
  const link = await ctx.store.getShareLink(id);
  const notFound = `share link \`${id.slice(0, 40)}\` not found`;
  const scope = link === null ? null : await resolver.scope('version', link.versionId);
  const own = link !== null && link.createdBy === caller.subject.principal.id;
  if (link === null || (scope === null && !own)) return ctx.gate.refuse(caller, caller.meta, 'approve-access', `share-link/${id.slice(0, 40)}`, new NotFoundError(notFound));
  const permit = own || scope === null
    ? await ctx.gate.enter(caller, 'read-metadata', SYSTEM, `share-link/${id}`, null, { op: 'revoke' })
    : await ctx.gate.enter(caller, 'approve-access', scope.ref, `share-link/${id}`, { notFound }, { op: 'revoke' });
  const now = ctx.deps.clock();
  const me = caller.subject.principal.id;
  try {
    const revoked = await ctx.store.revokeShareLink(id, me, now);
    if (!revoked) throw new AccessRequestClosedError(`share link \`${id}\` is already ${link.status}`);
    if (link.requestId !== null) {
      const request = await ctx.store.getRequest(link.requestId);
      // the link is already dead; closing its request only keeps the two records consistent
      if (request?.status === 'pending') await ctx.store.close(request.id, 'pending', 'cancelled', me, 'share link revoked', now).catch(() => undefined);
      if (request?.status === 'approved') await ctx.store.close(request.id, 'approved', 'revoked', me, 'share link revoked', now).catch(() => undefined);
    }
    await permit.finish('success', { details: { linkId: id } });
    const updated = (await ctx.store.getShareLink(id))!;
    return shareLinkView(updated, resolver, now);
  } catch (err) {
    await permit.finish('failure', { reason: isCofferError(err) ? err.code : 'error' });
    throw err;
  }
}
