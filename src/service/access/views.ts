import type { AccessRequestRecord, Approval, Promotion, RequestState, ShareLink } from '../../access/access-types.js';
import type { ScopeResolver } from './scope.js';

const iso = (n: number | null): string | null => (n === null ? null : new Date(n).toISOString());

/** The state of a request as people see it, with the clock applied. */
export function requestState(r: AccessRequestRecord, now: number): RequestState {
  switch (r.status) {
    case 'pending':
      return r.deadline <= now ? 'expired' : 'pending';
    case 'approved':
      if (r.kind === 'promote') return r.endsAt !== null && r.endsAt <= now ? 'expired' : 'approved';
      return r.endsAt !== null && r.endsAt <= now ? 'ended' : 'active';
    default:
      return r.status;
  }
}

/** What callers see of a request: names instead of ids where it helps, times as ISO strings. */
export async function requestView(r: AccessRequestRecord, approvals: Approval[], resolver: ScopeResolver, now: number) {
  const scope = await resolver.scope(r.scopeKind, r.scopeId);
  return {
    id: r.id,
    kind: r.kind,
    state: requestState(r, now),
    requester: await resolver.nameOf(r.requesterId),
    role: r.role,
    scopeKind: r.scopeKind,
    scope: scope?.display ?? `${r.scopeKind}:${r.scopeId}`,
    tier: r.tier,
    durationSeconds: Math.round(r.durationMs / 1000),
    justification: r.justification,
    ticket: r.ticket,
    approvalsRequired: r.approvalsRequired,
    approvals: await Promise.all(approvals.map(async (a) => ({ approver: await resolver.nameOf(a.approverId), at: iso(a.createdAt), comment: a.comment }))),
    createdAt: iso(r.createdAt),
    deadline: iso(r.deadline),
    decidedAt: iso(r.decidedAt),
    decidedBy: await resolver.nameOf(r.decidedBy),
    reason: r.reason,
    grantId: r.grantId,
    endsAt: iso(r.endsAt),
    target: r.target,
    review: r.review === null ? null : { status: r.review.status, by: await resolver.nameOf(r.review.by), at: iso(r.review.at), note: r.review.note },
  };
}

/** What callers see of a share link: never its hash, only the hint. */
export async function shareLinkView(l: ShareLink, resolver: ScopeResolver, now: number) {
  const scope = await resolver.scope('version', l.versionId);
  const state =
    l.status === 'active'
      ? l.expiresAt !== null && l.expiresAt <= now
        ? 'expired'
        : l.maxDownloads !== null && l.downloads >= l.maxDownloads
          ? 'used-up'
          : 'active'
      : l.status === 'pending'
        ? 'pending-approval'
        : l.status;
  return {
    id: l.id,
    hint: l.hint,
    version: scope?.display ?? l.versionId,
    state,
    createdBy: await resolver.nameOf(l.createdBy),
    createdAt: iso(l.createdAt),
    ttlSeconds: Math.round(l.ttlMs / 1000),
    expiresAt: iso(l.expiresAt),
    maxDownloads: l.maxDownloads,
    downloads: l.downloads,
    cidrs: l.cidrs,
    requestId: l.requestId,
    revokedAt: iso(l.revokedAt),
    revokedBy: await resolver.nameOf(l.revokedBy),
    lastUsedAt: iso(l.lastUsedAt),
  };
}

/** A promotion as callers see it. */
export async function promotionView(p: Promotion, resolver: ScopeResolver) {
  const scope = await resolver.scope('version', p.versionId);
  return {
    id: p.id,
    version: scope?.display ?? p.versionId,
    from: p.fromEnvironment,
    to: p.environment,
    promotedBy: await resolver.nameOf(p.promotedBy),
    promotedAt: iso(p.promotedAt),
    requestId: p.requestId,
    sha256: p.sha256,
    checks: p.checks,
  };
}

export type RequestView = Awaited<ReturnType<typeof requestView>>;
export type ShareLinkView = Awaited<ReturnType<typeof shareLinkView>>;
export type PromotionView = Awaited<ReturnType<typeof promotionView>>;
