import { createHash } from 'node:crypto';
import { NotFoundError, isCofferError } from '../domain/errors.js';
import type { ReminderNotice } from '../monitor/alerting/alert-sink.js';
import type { Caller } from '../service/caller.js';
import type { ServiceDeps } from '../service/deps.js';
import type { Gate, Permit } from '../service/gate.js';
import type { MonitorStore, ReviewCampaign, ReviewItem } from '../store/monitor-store.js';
import { adminMembers, adminOnly, campaignView, ownerOrAdmin } from './campaigns.js';
import { REVIEW_ACTOR } from './review-actor.js';

/** Items listed in one reminder; the count says how many are pending in all. */
const MAX_LISTED = 50;

/** What sending reminders needs besides the service's deps. */
export interface ReminderDeps {
  monitorStore: MonitorStore;
  /** Hands a reminder to the notification sinks (in the background). */
  notify: (notice: ReminderNotice) => void;
  /** A campaign's reviewers are reminded when its last round (or its start) is this old; 0 = never by the sweep. */
  intervalMs: number;
  /** Counts reminders sent, for metrics. */
  onReminder: () => void;
}

/** What one sweep (or a forced round) did. */
export interface ReminderRound {
  /** Campaigns whose reviewers were reminded. */
  campaigns: number;
  /** Reminders sent: one per reviewer per campaign. */
  reminders: number;
  reviewers: string[];
}

/**
 * Reminds the reviewers of open campaigns with pending items whose last round of
 * reminders (or start) is at least `intervalMs` old: one notice per reviewer, listing the
 * items it may decide, each recorded in the audit log (`review-remind`) before it goes
 * to the sinks. A round is claimed in the store first (compare-and-set), so two sweeps
 * or two nodes never send the same round twice. Time is `deps.clock()`.
 */
export async function sweepReminders(deps: ServiceDeps, r: ReminderDeps): Promise<ReminderRound> {
  const out: ReminderRound = { campaigns: 0, reminders: 0, reviewers: [] };
  if (r.intervalMs <= 0) return out;
  const open = await r.monitorStore.listCampaigns({ status: 'open', limit: 1000 });
  const last = await r.monitorStore.lastReminders(open.map((c) => c.id));
  const now = deps.clock();
  for (const c of open) {
    const previous = last.get(c.id) ?? null;
    if (now - (previous ?? c.createdAt) < r.intervalMs) continue;
    const sent = await remindRound(deps, r, c, previous, now);
    if (sent.length > 0) out.campaigns++;
    out.reminders += sent.length;
    out.reviewers.push(...sent);
  }
  return out;
}

/**
 * Sends a round of reminders of one campaign now, whatever the interval (`coffer review
 * remind`). Who may: the owners of the campaign's project for a project campaign
 * (`grant` on it), the administrators (`admin`) for any.
 */
export async function remindNow(deps: ServiceDeps, gate: Gate, r: ReminderDeps, caller: Caller, campaignId: string): Promise<ReminderRound> {
  const name = `review/${campaignId.slice(0, 40)}`;
  const notFound = new NotFoundError(`review campaign \`${campaignId.slice(0, 40)}\` not found`);
  const c = await r.monitorStore.getCampaign(campaignId);
  if (c === null) return gate.refuse(caller, caller.meta, 'admin', name, notFound);
  let permit: Permit;
  const project = c.scopeKind === 'project' && c.scopeValue !== null ? await deps.store.getProjectByName(c.scopeValue) : null;
  if (project !== null) permit = await ownerOrAdmin(gate, caller, { kind: 'project', project }, name, { notFound: notFound.message }, { op: 'review-remind' });
  else permit = await adminOnly(gate, caller, name, notFound.message, { op: 'review-remind' });
  try {
    const previous = (await r.monitorStore.lastReminders([c.id])).get(c.id) ?? null;
    const sent = c.status === 'open' ? await remindRound(deps, r, c, previous, deps.clock()) : [];
    await permit.finish('success', { details: { campaignId: c.id, reminders: sent.length } });
    return { campaigns: sent.length > 0 ? 1 : 0, reminders: sent.length, reviewers: sent };
  } catch (err) {
    await permit.finish('failure', { reason: isCofferError(err) ? err.code : 'error' });
    throw err;
  }
}

/** One round of a campaign: claims it, then reminds each reviewer of its pending items. Returns the reviewers reminded. */
async function remindRound(deps: ServiceDeps, r: ReminderDeps, c: ReviewCampaign, previous: number | null, now: number): Promise<string[]> {
  const items = await r.monitorStore.listItems(c.id);
  const pending = items.filter((i) => i.decision === 'pending');
  if (pending.length === 0) return [];
  const byReviewer = await reviewersOf(deps, pending);
  if (byReviewer.size === 0) return [];
  // INVARIANT: a round is sent only by whoever claimed it, so it reaches each reviewer once
  if (!(await r.monitorStore.claimReminder(c.id, previous, now))) return [];
  const view = campaignView(c);
  const sent: string[] = [];
  for (const [reviewer, mine] of [...byReviewer].sort(([a], [b]) => a.localeCompare(b))) {
    const id = `rmd_${createHash('sha256').update(`${c.id}\n${reviewer}\n${now}`, 'utf8').digest('hex').slice(0, 26)}`;
    // recorded before it is sent, like every action of the service
    await deps.audit.record({
      time: now,
      requestId: id,
      actor: REVIEW_ACTOR,
      action: 'review-remind',
      resource: `review/${c.id}`,
      decision: 'allow',
      policies: ['review/reminder'],
      outcome: 'success',
      context: { campaignId: c.id, reviewer, pending: mine.length },
    });
    r.notify({
      type: 'coffer.review-reminder',
      version: 1,
      id,
      sentAt: new Date(now).toISOString(),
      reviewer,
      campaign: { id: c.id, name: c.name, scope: view.scope, createdAt: view.createdAt, dueAt: view.dueAt, overdue: c.dueAt !== null && c.dueAt < now },
      pending: mine.length,
      items: mine.slice(0, MAX_LISTED).map((i) => ({ id: i.id, principal: i.principalName, role: i.role, scope: i.scopeName, lastUsedAt: i.lastUsedAt === null ? null : new Date(i.lastUsedAt).toISOString() })),
    });
    r.onReminder();
    sent.push(reviewer);
  }
  return sent;
}

/**
 * The reviewers of each pending item, as the campaign chose them (owners of the scope,
 * else the administrators), less those since deleted or disabled; an item left with
 * nobody goes to the enabled administrators. Never the holder of the grant.
 */
async function reviewersOf(deps: ServiceDeps, pending: readonly ReviewItem[]): Promise<Map<string, ReviewItem[]>> {
  const enabled = new Map<string, boolean>();
  const isEnabled = async (name: string) => {
    if (!enabled.has(name)) enabled.set(name, (await deps.store.getPrincipalByName(name))?.disabled === false);
    return enabled.get(name)!;
  };
  let admins: string[] | null = null;
  const out = new Map<string, ReviewItem[]>();
  for (const item of pending) {
    const names: string[] = [];
    for (const n of item.reviewers) if (n !== item.principalName && (await isEnabled(n))) names.push(n);
    if (names.length === 0) {
      admins ??= await adminMembers(deps);
      for (const n of admins) if (n !== item.principalName && (await isEnabled(n))) names.push(n);
    }
    for (const n of new Set(names)) out.set(n, [...(out.get(n) ?? []), item]);
  }
  return out;
}
