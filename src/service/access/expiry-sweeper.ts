import type { AccessContext } from './access-context.js';
import { requestNotification } from './notify.js';
import { ScopeResolver } from './scope.js';

/**
 * Records the end of accesses that ran out: one audit record (`access-expire`) and one
 * `access.expired` notification per ended grant, break-glass or share approval. This
 * does NOT enforce anything: an expired grant is already ignored at decision time
 * (`expiresAt <= now`); the sweep only makes the end visible. The record is written
 * before the end is marked noted (compare-and-set), so it is never lost; two nodes
 * sweeping the same instant may both record it, only one notifies. Returns how many
 * this call noted.
 */
export async function sweepExpired(ctx: AccessContext, limit = 100): Promise<number> {
  const now = ctx.deps.clock();
  const ended = await ctx.store.listEndedUnnoted(now, limit);
  const resolver = new ScopeResolver(ctx);
  let noted = 0;
  for (const r of ended) {
    const scope = await resolver.scope(r.scopeKind, r.scopeId);
    // record first: if the audit log is down the end stays unnoted and the next sweep retries
    await ctx.deps.audit.record({
      time: now,
      requestId: `sweep-${r.id}`,
      actor: null,
      action: 'access-expire',
      resource: scope?.auditName ?? `${r.scopeKind}/${r.scopeId}`,
      decision: 'allow',
      policies: [],
      outcome: 'success',
      context: { requestId: r.id, kind: r.kind, role: r.role, grantId: r.grantId, requesterId: r.requesterId, endsAt: r.endsAt },
    });
    if (!(await ctx.store.noteExpiry(r.id, now))) continue;
    noted++;
    ctx.notifier.notify(await requestNotification('access.expired', r, resolver, now));
  }
  return noted;
}

/** Runs {@link sweepExpired} every `intervalMs` in the background; returns the stop function. */
export function startExpirySweeper(ctx: AccessContext, intervalMs: number): () => Promise<void> {
  let running: Promise<unknown> | null = null;
  const timer = setInterval(() => {
    if (running !== null) return;
    running = sweepExpired(ctx)
      .catch((err: unknown) => ctx.deps.warn('access expiry sweep failed', { message: (err as Error).message }))
      .finally(() => {
        running = null;
      });
  }, intervalMs);
  // the sweep never keeps the process alive
  timer.unref();
  return async () => {
    clearInterval(timer);
    await running;
  };
}
