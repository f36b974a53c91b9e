import { ConflictError, ForbiddenError, NotFoundError, ValidationError, isCofferError } from '../domain/errors.js';
import { newId } from '../domain/ids.js';
import { TIERS } from '../domain/types.js';
import type { Grant, Principal, Tier } from '../domain/types.js';
import type { ResourceRef } from '../policy/policy-engine.js';
import type { Caller } from '../service/caller.js';
import type { ServiceDeps } from '../service/deps.js';
import type { Gate, Permit } from '../service/gate.js';
import type { MonitorStore, ReviewCampaign, ReviewItem } from '../store/monitor-store.js';
import { toCsv } from './csv.js';
import { ScopeResolver, type ScopedGrant } from './grant-scope.js';
import { REVIEW_ACTOR } from './review-actor.js';

const SYSTEM = { kind: 'system' } as const;
const DAY = 86_400_000;

/** What a campaign covers: every grant, the grants of one project, or those reaching one tier. */
export type ReviewScope = { kind: 'all' } | { kind: 'project'; project: string } | { kind: 'tier'; tier: Tier };

/** What the review use cases need besides the service's deps and gate. */
export interface ReviewDeps {
  monitorStore: MonitorStore;
  /** Saves usage the monitor gathered but has not stored yet, so last uses are current. */
  flushUsage: () => Promise<void>;
  /** Counts decisions for metrics. */
  onDecision: (decision: 'certify' | 'revoke', by: 'reviewer' | 'auto') => void;
  onCampaign: () => void;
}

/** A campaign and its items as callers see them. */
export function campaignView(c: ReviewCampaign, items?: readonly ReviewItem[], remindedAt: number | null = null) {
  const counts = items && { items: items.length, pending: items.filter((i) => i.decision === 'pending').length, revoked: items.filter((i) => i.decision === 'revoke').length, certified: items.filter((i) => i.decision === 'certify').length };
  return {
    id: c.id,
    name: c.name,
    scope: c.scopeKind === 'all' ? 'all' : `${c.scopeKind}:${c.scopeValue ?? ''}`,
    staleDays: c.staleDays,
    createdBy: c.createdBy,
    createdAt: new Date(c.createdAt).toISOString(),
    dueAt: c.dueAt === null ? null : new Date(c.dueAt).toISOString(),
    status: c.status,
    closedAt: c.closedAt === null ? null : new Date(c.closedAt).toISOString(),
    /** When its reviewers were last reminded of pending items (null: never). */
    lastRemindedAt: remindedAt === null ? null : new Date(remindedAt).toISOString(),
    ...(counts ?? {}),
  };
}

/** One review item as callers see it (and as exported). */
export function itemView(i: ReviewItem) {
  const iso = (n: number | null) => (n === null ? null : new Date(n).toISOString());
  return {
    id: i.id,
    campaign: i.campaignId,
    grant: i.grantId,
    principal: i.principalName,
    principalKind: i.principalKind,
    principalDisabled: i.principalDisabled,
    role: i.role,
    scope: i.scopeName,
    tier: i.tier,
    grantCreatedAt: iso(i.grantCreatedAt),
    grantExpiresAt: iso(i.grantExpiresAt),
    lastUsedAt: iso(i.lastUsedAt),
    reviewers: i.reviewers,
    decision: i.decision,
    decidedBy: i.decidedBy,
    decidedAt: iso(i.decidedAt),
    note: i.note,
  };
}

export type CampaignView = ReturnType<typeof campaignView>;
export type ItemView = ReturnType<typeof itemView>;

/**
 * Starts a campaign: one item per grant in scope, with the grant's last use (from the
 * audit log, through the monitor's usage) and its reviewers (owners of the scope; the
 * administrators where it has none but the grantee). Grants of disabled principals
 * (but not of principals under a monitor lock), and (with `staleDays` > 0) reader and
 * writer grants unused for that long, are revoked at once, each decision recorded.
 * Owner grants are never revoked for idleness, and the last owner grant of a scope not
 * even for a disabled owner: someone must still be able to manage the scope.
 *
 * Who may start one: owners of the project for a project campaign (`grant` on it), the
 * administrators (`admin`) for any campaign.
 */
export async function startCampaign(
  deps: ServiceDeps,
  gate: Gate,
  r: ReviewDeps,
  caller: Caller,
  input: { scope: ReviewScope; name?: string; staleDays: number; dueDays?: number; lockedPrincipals: ReadonlySet<string> },
): Promise<CampaignView & { autoRevoked: number }> {
  if (input.scope.kind === 'tier' && !TIERS.includes(input.scope.tier)) throw new ValidationError(`tier \`${String(input.scope.tier).slice(0, 20)}\` is not valid`);
  const now = deps.clock();
  const scopeLabel = input.scope.kind === 'all' ? 'all' : input.scope.kind === 'project' ? `project:${input.scope.project}` : `tier:${input.scope.tier}`;
  let permit: Permit;
  if (input.scope.kind === 'project') {
    const project = await deps.store.getProjectByName(input.scope.project);
    if (project === null) return gate.refuse(caller, caller.meta, 'grant', `review/${scopeLabel}`, new NotFoundError(`project \`${input.scope.project}\` not found`));
    permit = await ownerOrAdmin(gate, caller, { kind: 'project', project }, `review/${scopeLabel}`, { notFound: `project \`${input.scope.project}\` not found` }, { op: 'review-start' });
  } else {
    permit = await gate.enter(caller, 'admin', SYSTEM, `review/${scopeLabel}`, null, { op: 'review-start' });
  }
  try {
    await r.flushUsage();
    const resolver = new ScopeResolver(deps.store);
    const scoped: ScopedGrant[] = [];
    for (const g of await deps.store.listAllGrants()) {
      const s = await resolver.resolve(g);
      if (s !== null && inScope(s, input.scope)) scoped.push(s);
    }
    const lastUse = await r.monitorStore.grantLastUse(scoped.map((s) => s.grant.id));
    const principals = new Map<string, Principal | null>();
    const principalOf = async (id: string) => {
      if (!principals.has(id)) principals.set(id, await deps.store.getPrincipal(id));
      return principals.get(id)!;
    };
    const adminNames = await adminMembers(deps);
    const campaign: ReviewCampaign = {
      id: newId('rvw'),
      name: input.name ?? `review ${scopeLabel} ${new Date(now).toISOString().slice(0, 10)}`,
      scopeKind: input.scope.kind,
      scopeValue: input.scope.kind === 'all' ? null : input.scope.kind === 'project' ? input.scope.project : input.scope.tier,
      staleDays: input.staleDays,
      createdBy: caller.subject.principal.name,
      createdAt: now,
      dueAt: input.dueDays === undefined ? null : now + input.dueDays * DAY,
      status: 'open',
      closedAt: null,
    };
    const items: ReviewItem[] = [];
    const auto: Array<{ item: ReviewItem; reason: string }> = [];
    const ownersByScope = new Map<string, Grant[]>();
    for (const s of scoped) {
      const p = await principalOf(s.grant.principalId);
      if (p === null) continue;
      const owners = await ownersOf(deps, s, ownersByScope);
      const reviewerIds = owners.map((g) => g.principalId).filter((id) => id !== p.id);
      const reviewers = reviewerIds.length > 0 ? await Promise.all([...new Set(reviewerIds)].map(async (id) => (await principalOf(id))?.name ?? id)) : adminNames.filter((n) => n !== p.name);
      const item: ReviewItem = {
        id: newId('rvi'),
        campaignId: campaign.id,
        grantId: s.grant.id,
        principalId: p.id,
        principalName: p.name,
        principalKind: p.kind,
        principalDisabled: p.disabled,
        role: s.grant.role,
        scopeKind: s.grant.scopeKind,
        scopeId: s.grant.scopeId,
        scopeName: s.name,
        tier: s.artifact?.tier ?? null,
        grantCreatedAt: s.grant.createdAt,
        grantExpiresAt: s.grant.expiresAt,
        lastUsedAt: lastUse.get(s.grant.id) ?? null,
        reviewers: reviewers.sort(),
        decision: 'pending',
        decidedBy: null,
        decidedAt: null,
        note: null,
      };
      items.push(item);
      const lastOwner = s.grant.role === 'owner' && owners.length <= 1;
      // a lock is a suspension pending review, not a departure: its grants wait for the unlock decision
      if (p.disabled && !input.lockedPrincipals.has(p.id) && !lastOwner) auto.push({ item, reason: 'principal is disabled' });
      // owners answer for their scope: an idle owner grant goes to a person, never away by itself
      else if (input.staleDays > 0 && s.grant.role !== 'owner' && (item.lastUsedAt ?? item.grantCreatedAt) < now - input.staleDays * DAY) {
        auto.push({ item, reason: item.lastUsedAt === null ? `never used in ${input.staleDays} days` : `unused since ${new Date(item.lastUsedAt).toISOString().slice(0, 10)} (over ${input.staleDays} days)` });
      }
    }
    await r.monitorStore.createCampaign(campaign, items);
    r.onCampaign();
    for (const { item, reason } of auto) await autoRevoke(deps, r, item, reason, now);
    if (items.length === auto.length) await r.monitorStore.closeCampaign(campaign.id, now);
    await permit.finish('success', { details: { campaignId: campaign.id, items: items.length, autoRevoked: auto.length } });
    const stored = (await r.monitorStore.getCampaign(campaign.id)) ?? campaign;
    return { ...campaignView(stored, await r.monitorStore.listItems(campaign.id)), autoRevoked: auto.length };
  } catch (err) {
    await permit.finish('failure', { reason: isCofferError(err) ? err.code : 'error' });
    throw err;
  }
}

/** Campaigns the caller may see: all for administrators, else those holding an item it may decide. */
export async function listCampaigns(deps: ServiceDeps, gate: Gate, r: ReviewDeps, caller: Caller, status?: ReviewCampaign['status']): Promise<CampaignView[]> {
  const permit = await gate.enter(caller, 'read-metadata', SYSTEM, 'reviews', null);
  const admin = gate.decide(caller, 'admin', SYSTEM).allowed;
  const out: CampaignView[] = [];
  const resolver = new ScopeResolver(deps.store);
  const campaigns = await r.monitorStore.listCampaigns(status === undefined ? {} : { status });
  const reminded = await r.monitorStore.lastReminders(campaigns.map((c) => c.id));
  for (const c of campaigns) {
    const items = await r.monitorStore.listItems(c.id);
    if (admin || (await visibleItems(gate, caller, resolver, items)).length > 0) out.push(campaignView(c, items, reminded.get(c.id) ?? null));
  }
  await permit.finish('success', { details: { returned: out.length } });
  return out;
}

/** The items of a campaign the caller may decide (all of them for administrators). */
export async function listItems(deps: ServiceDeps, gate: Gate, r: ReviewDeps, caller: Caller, campaignId: string): Promise<{ campaign: CampaignView; items: ItemView[] }> {
  const c = await r.monitorStore.getCampaign(campaignId);
  const notFound = new NotFoundError(`review campaign \`${campaignId.slice(0, 40)}\` not found`);
  if (c === null) return gate.refuse(caller, caller.meta, 'read-metadata', `review/${campaignId.slice(0, 40)}`, notFound);
  const all = await r.monitorStore.listItems(c.id);
  const admin = gate.decide(caller, 'admin', SYSTEM).allowed;
  const items = admin ? all : await visibleItems(gate, caller, new ScopeResolver(deps.store), all);
  // a campaign with nothing for the caller is as good as absent
  if (items.length === 0 && !admin) return gate.refuse(caller, caller.meta, 'read-metadata', `review/${c.id}`, notFound);
  const permit = await gate.enter(caller, 'read-metadata', SYSTEM, `review/${c.id}`, null, { items: items.length });
  await permit.finish('success');
  const reminded = (await r.monitorStore.lastReminders([c.id])).get(c.id) ?? null;
  return { campaign: campaignView(c, all, reminded), items: items.map(itemView) };
}

/**
 * Certifies or revokes one item. The decision is the policy's: a principal allowed to
 * `grant` on the item's scope (its owners), or an administrator (`admin`); never the
 * holder of the grant itself. Revoking deletes the grant. Recorded in the audit log;
 * the campaign closes when its last item is decided.
 */
export async function decideItem(deps: ServiceDeps, gate: Gate, r: ReviewDeps, caller: Caller, itemId: string, decision: 'certify' | 'revoke', note: string | null): Promise<ItemView> {
  const item = await r.monitorStore.getItem(itemId);
  const resourceName = `review-item/${itemId.slice(0, 40)}`;
  const notFound = new NotFoundError(`review item \`${itemId.slice(0, 40)}\` not found`);
  if (item === null) return gate.refuse(caller, caller.meta, 'grant', resourceName, notFound);
  if (item.principalId === caller.subject.principal.id) return gate.refuse(caller, caller.meta, 'grant', resourceName, new ForbiddenError('a grant cannot be reviewed by its holder'));
  const campaign = await r.monitorStore.getCampaign(item.campaignId);
  const grant = await deps.store.getGrant(item.grantId);
  const scoped = grant === null ? null : await new ScopeResolver(deps.store).resolve(grant);
  const details = { op: 'review-decide', campaignId: item.campaignId, grantId: item.grantId, grantee: item.principalName, role: item.role, scope: item.scopeName, decision };
  const permit = scoped === null ? await adminOnly(gate, caller, resourceName, notFound.message, details) : await ownerOrAdmin(gate, caller, scoped.ref, resourceName, { notFound: notFound.message }, details);
  try {
    if (campaign === null || campaign.status !== 'open') throw new ConflictError(`review campaign \`${item.campaignId}\` is closed`);
    const now = deps.clock();
    if (!(await r.monitorStore.decideItem(item.id, decision, caller.subject.principal.name, now, note))) throw new ConflictError(`review item \`${item.id}\` was already decided`);
    if (decision === 'revoke' && grant !== null) await deleteGrantIfPresent(deps, grant.id);
    r.onDecision(decision, 'reviewer');
    await closeIfDone(r, item.campaignId, now);
  } catch (err) {
    await permit.finish('failure', { reason: isCofferError(err) ? err.code : 'error' });
    throw err;
  }
  await permit.finish('success');
  return itemView((await r.monitorStore.getItem(item.id)) ?? item);
}

/** A campaign's items as CSV or JSON (administrators, or the reviewers' own items). */
export async function exportCampaign(deps: ServiceDeps, gate: Gate, r: ReviewDeps, caller: Caller, campaignId: string, format: 'csv' | 'json'): Promise<{ contentType: string; body: string }> {
  const { campaign, items } = await listItems(deps, gate, r, caller, campaignId);
  if (format === 'json') return { contentType: 'application/json; charset=utf-8', body: JSON.stringify({ campaign, items }, null, 2) + '\n' };
  const rows = items.map((i) => ({ ...i, campaignName: campaign.name }));
  return {
    contentType: 'text/csv; charset=utf-8',
    body: toCsv(rows, ['campaign', 'campaignName', 'id', 'grant', 'principal', 'principalKind', 'principalDisabled', 'role', 'scope', 'tier', 'grantCreatedAt', 'grantExpiresAt', 'lastUsedAt', 'reviewers', 'decision', 'decidedBy', 'decidedAt', 'note']),
  };
}

/**
 * Enters as an owner of `ref` (`grant` on it) if the policy allows, else as an
 * administrator. A caller who is neither and may not even see `ref` is told "not
 * found" (`denyAs`), as for a campaign or item that does not exist.
 */
export async function ownerOrAdmin(gate: Gate, caller: Caller, ref: ResourceRef, name: string, denyAs: { notFound: string }, details: Record<string, unknown>): Promise<Permit> {
  if (gate.decide(caller, 'grant', ref).allowed) return gate.enter(caller, 'grant', ref, name, denyAs, details);
  // INVARIANT: hidden equals missing: no 403 that would confirm a review of something the caller cannot see
  if (!gate.decide(caller, 'admin', SYSTEM).allowed && !gate.decide(caller, 'read-metadata', ref).allowed) return gate.refuse(caller, caller.meta, 'grant', name, new NotFoundError(denyAs.notFound));
  return gate.enter(caller, 'admin', SYSTEM, name, null, details);
}

/** Enters as an administrator; anyone else is told "not found" (campaigns of every project or a tier are the administrators' alone). */
export async function adminOnly(gate: Gate, caller: Caller, name: string, notFound: string, details: Record<string, unknown>): Promise<Permit> {
  if (!gate.decide(caller, 'admin', SYSTEM).allowed) return gate.refuse(caller, caller.meta, 'admin', name, new NotFoundError(notFound));
  return gate.enter(caller, 'admin', SYSTEM, name, null, details);
}

async function visibleItems(gate: Gate, caller: Caller, resolver: ScopeResolver, items: readonly ReviewItem[]): Promise<ReviewItem[]> {
  const out: ReviewItem[] = [];
  for (const i of items) {
    if (i.principalId === caller.subject.principal.id) continue;
    const scoped = await resolver.resolve({ id: i.grantId, principalId: i.principalId, role: 'reader', scopeKind: i.scopeKind as Grant['scopeKind'], scopeId: i.scopeId, createdBy: '', createdAt: 0, expiresAt: null });
    if (scoped !== null && gate.decide(caller, 'grant', scoped.ref).allowed) out.push(i);
  }
  return out;
}

function inScope(s: ScopedGrant, scope: ReviewScope): boolean {
  switch (scope.kind) {
    case 'all':
      return true;
    case 'project':
      return s.project.name === scope.project;
    case 'tier':
      // a project grant reaches every tier of its project but restricted
      return s.artifact === null ? scope.tier !== 'restricted' : s.artifact.tier === scope.tier;
  }
}

/** Owner grants on the scope of `s`: on its artifact, and on its project unless the artifact is restricted. */
async function ownersOf(deps: ServiceDeps, s: ScopedGrant, cache: Map<string, Grant[]>): Promise<Grant[]> {
  const load = async (kind: Grant['scopeKind'], id: string) => {
    const key = `${kind}:${id}`;
    if (!cache.has(key)) cache.set(key, (await deps.store.listGrantsOnScope(kind, id)).filter((g) => g.role === 'owner'));
    return cache.get(key)!;
  };
  const onProject = s.artifact?.tier === 'restricted' ? [] : await load('project', s.project.id);
  const onArtifact = s.artifact === null ? [] : await load('artifact', s.artifact.id);
  return [...onProject, ...onArtifact];
}

/** Names of the members of the `admins` group. */
export async function adminMembers(deps: ServiceDeps): Promise<string[]> {
  const admins = await deps.store.getPrincipalByName('admins');
  if (admins === null) return [];
  const names: string[] = [];
  for (const id of await deps.store.listMembers(admins.id)) {
    const p = await deps.store.getPrincipal(id);
    if (p !== null) names.push(p.name);
  }
  return names;
}

async function autoRevoke(deps: ServiceDeps, r: ReviewDeps, item: ReviewItem, reason: string, now: number): Promise<void> {
  // recorded before acting, like every access change
  await deps.audit.record({
    time: now,
    requestId: item.id,
    actor: REVIEW_ACTOR,
    action: 'review-auto-revoke',
    resource: `grant/${item.grantId}`,
    decision: 'allow',
    policies: ['review/auto-revoke'],
    outcome: 'attempt',
    context: { campaignId: item.campaignId, grantee: item.principalName, role: item.role, scope: item.scopeName, reason },
  });
  await deleteGrantIfPresent(deps, item.grantId);
  await r.monitorStore.decideItem(item.id, 'revoke', REVIEW_ACTOR.name, now, reason);
  r.onDecision('revoke', 'auto');
  await deps.audit.record({
    time: deps.clock(),
    requestId: item.id,
    actor: REVIEW_ACTOR,
    action: 'review-auto-revoke',
    resource: `grant/${item.grantId}`,
    decision: 'allow',
    policies: ['review/auto-revoke'],
    outcome: 'success',
    context: { campaignId: item.campaignId, grantee: item.principalName, role: item.role, scope: item.scopeName, reason },
  });
}

async function deleteGrantIfPresent(deps: ServiceDeps, grantId: string): Promise<void> {
  try {
    await deps.store.deleteGrant(grantId);
  } catch (err) {
    // revoked meanwhile by someone else: the outcome is the same
    if (!(err instanceof NotFoundError)) throw err;
  }
}

async function closeIfDone(r: ReviewDeps, campaignId: string, now: number): Promise<void> {
  const items = await r.monitorStore.listItems(campaignId);
  if (items.every((i) => i.decision !== 'pending')) await r.monitorStore.closeCampaign(campaignId, now);
}
