import type { AccessRequestRecord } from '../../access/access-types.js';
import { formatDuration } from '../../access/durations.js';
import type { Notification, NotificationType } from '../../access/webhook.js';
import type { ScopeResolver } from './scope.js';

/** Builds the notification of a request event (ids, names, times; never a secret). */
export async function requestNotification(type: NotificationType, r: AccessRequestRecord, resolver: ScopeResolver, now: number, extra: { actor?: string | null; reason?: string | null } = {}): Promise<Notification> {
  const scope = (await resolver.scope(r.scopeKind, r.scopeId))?.display ?? `${r.scopeKind}:${r.scopeId}`;
  const requester = (await resolver.nameOf(r.requesterId)) ?? r.requesterId;
  const what = r.kind === 'promote' ? `promotion of ${scope} to ${r.target}` : r.kind === 'share' ? `a share link to ${scope}` : `${r.role} on ${scope}`;
  const actor = extra.actor ?? null;
  const summaries: Record<NotificationType, string> = {
    'access.requested': `${requester} requests ${what} for ${formatDuration(Math.round(r.durationMs / 1000))}: ${r.justification}`,
    'access.approved': `${requester} got ${what}${actor ? ` (approved by ${actor})` : ' (approved automatically)'}${r.endsAt ? ` until ${new Date(r.endsAt).toISOString()}` : ''}`,
    'access.denied': `${actor ?? 'someone'} denied ${requester}'s request for ${what}${extra.reason ? `: ${extra.reason}` : ''}`,
    'access.revoked': `${actor ?? 'someone'} ended ${requester}'s ${what} early${extra.reason ? `: ${extra.reason}` : ''}`,
    'access.expired': `${requester}'s ${what} ended`,
    'breakglass.activated': `BREAK-GLASS: ${requester} took ${what} for ${formatDuration(Math.round(r.durationMs / 1000))}: ${r.justification} (review ${r.id} is open)`,
    'breakglass.signed-off': `break-glass ${r.id} of ${requester} (${what}) signed off by ${actor ?? 'someone'}`,
    'promotion.requested': `${requester} asks to promote ${scope} to ${r.target}`,
    'promotion.completed': `${requester} promoted ${scope} to ${r.target}`,
    'share.requested': `${requester} asks to activate ${what}: ${r.justification}`,
  };
  return {
    type,
    time: now,
    summary: summaries[type],
    data: {
      requestId: r.id,
      kind: r.kind,
      requester,
      role: r.role,
      scope,
      tier: r.tier,
      durationSeconds: Math.round(r.durationMs / 1000),
      justification: r.justification,
      ticket: r.ticket,
      approvalsRequired: r.approvalsRequired,
      endsAt: r.endsAt === null ? null : new Date(r.endsAt).toISOString(),
      target: r.target,
      ...(actor !== null ? { actor } : {}),
      ...(extra.reason ? { reason: extra.reason } : {}),
    },
  };
}
