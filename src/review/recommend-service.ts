import { NotFoundError, ValidationError, isCofferError } from '../domain/errors.js';
import { ID_PREFIX, newId } from '../domain/ids.js';
import type { Grant, Principal } from '../domain/types.js';
import type { Caller } from '../service/caller.js';
import type { ServiceDeps } from '../service/deps.js';
import type { Gate } from '../service/gate.js';
import type { MonitorStore } from '../store/monitor-store.js';
import { ScopeResolver } from './grant-scope.js';
import { recommendGrants, type HeldGrant, type Recommendation } from './recommend.js';

const SYSTEM = { kind: 'system' } as const;
const DAY = 86_400_000;

/** What recommendations need besides the service's deps and gate. */
export interface RecommendDeps {
  monitorStore: Pick<MonitorStore, 'principalUsage' | 'grantLastUse'>;
  flushUsage: () => Promise<void>;
  windowDays: number;
  onApplied: (removed: number) => void;
}

/** A recommendation for one principal, as callers see it. */
export interface RecommendationView {
  principal: string;
  kind: string;
  windowDays: number;
  /** Grants held directly now, and after applying. */
  grantsNow: number;
  grantsAfter: number;
  keep: Array<{ id: string; role: string; scope: string }>;
  remove: Array<{ id: string; role: string; scope: string; reason: string }>;
  add: Array<{ role: string; scope: string; reason: string; replaces: string }>;
  /** What the principal did through rights other than its own grants (groups, administrators). */
  viaOtherRights: Array<{ action: string; scope: string; lastUsedAt: string }>;
}

/** An over-privileged service account, with why. */
export interface OverPrivilegedView {
  principal: string;
  findings: string[];
  grantsNow: number;
  grantsAfter: number;
}

const scopeOf = (g: { scopeKind: string; project: string; artifact: string | null; version?: number | null }) =>
  g.artifact === null ? `project/${g.project}` : `project/${g.project}/artifact/${g.artifact}${g.scopeKind === 'version' ? `@${g.version}` : ''}`;

async function principalNamed(deps: ServiceDeps, name: string): Promise<Principal> {
  const p = await deps.store.getPrincipalByName(name);
  if (p === null || p.kind === 'group') throw new NotFoundError(`principal \`${name}\` not found`);
  return p;
}

/** The principal's direct grants described by names, and the raw grants. */
async function heldGrants(deps: ServiceDeps, p: Principal, now: number): Promise<{ held: HeldGrant[]; raw: Map<string, Grant> }> {
  const resolver = new ScopeResolver(deps.store);
  const held: HeldGrant[] = [];
  const raw = new Map<string, Grant>();
  for (const g of await deps.store.listGrantsForPrincipals([p.id])) {
    if (g.principalId !== p.id || (g.expiresAt !== null && g.expiresAt <= now)) continue;
    const s = await resolver.resolve(g);
    if (s === null) continue;
    raw.set(g.id, g);
    held.push({
      id: g.id,
      role: g.role,
      scopeKind: g.scopeKind,
      project: s.project.name,
      artifact: s.artifact?.name ?? null,
      version: s.version?.number ?? null,
      tier: s.artifact?.tier ?? null,
      environment: s.artifact?.environment ?? null,
      expiresAt: g.expiresAt,
    });
  }
  return { held, raw };
}

async function compute(deps: ServiceDeps, r: RecommendDeps, p: Principal, days: number): Promise<{ rec: Recommendation; held: HeldGrant[]; raw: Map<string, Grant> }> {
  const now = deps.clock();
  const { held, raw } = await heldGrants(deps, p, now);
  const uses = await r.monitorStore.principalUsage(p.id, now - days * DAY);
  const facts = new Map<string, { tier: HeldGrant['tier'] & string; environment: HeldGrant['environment'] & string } | null>();
  for (const u of uses) {
    const key = `${u.project}/${u.artifact}`;
    if (u.artifact === '' || facts.has(key)) continue;
    const project = await deps.store.getProjectByName(u.project);
    const a = project === null ? null : await deps.store.getArtifactByName(project.id, u.artifact);
    facts.set(key, a === null ? null : { tier: a.tier, environment: a.environment });
  }
  // an artifact deleted since is not a need any more
  const live = uses.filter((u) => u.artifact === '' || facts.get(`${u.project}/${u.artifact}`) !== null);
  const rec = recommendGrants(held, live, { artifact: (project, artifact) => facts.get(`${project}/${artifact}`) ?? null });
  return { rec, held, raw };
}

function view(p: Principal, days: number, rec: Recommendation, held: HeldGrant[]): RecommendationView {
  return {
    principal: p.name,
    kind: p.kind,
    windowDays: days,
    grantsNow: held.length,
    grantsAfter: rec.keep.length + rec.add.length,
    keep: rec.keep.map((g) => ({ id: g.id, role: g.role, scope: scopeOf(g) })),
    remove: rec.remove.map((g) => ({ id: g.id, role: g.role, scope: scopeOf(g), reason: g.reason })),
    add: rec.add.map((a) => ({ role: a.role, scope: scopeOf(a), reason: a.reason, replaces: a.coveredBy })),
    viaOtherRights: rec.viaOtherRights.map((u) => ({ action: u.action, scope: u.artifact === '' ? `project/${u.project}` : `project/${u.project}/artifact/${u.artifact}`, lastUsedAt: new Date(u.lastUsedAt).toISOString() })),
  };
}

/**
 * The smallest set of grants covering what the principal did over the last
 * `days` days (from the audit log), and the difference from what it holds
 * (`manage-principals`). With `apply`, the new grants are created first, then the
 * others removed, all in one audited operation.
 * INVARIANT: applying only narrows: every new grant is covered by one it replaces.
 */
export async function recommend(deps: ServiceDeps, gate: Gate, r: RecommendDeps, caller: Caller, input: { principal: string; days?: number; apply?: boolean }): Promise<RecommendationView & { applied: boolean }> {
  const days = input.days ?? r.windowDays;
  if (!Number.isInteger(days) || days < 1 || days > 365) throw new ValidationError('days must be an integer from 1 to 365');
  const permit = await gate.enter(caller, 'manage-principals', SYSTEM, `principal/${input.principal}/grants`, null, { op: input.apply === true ? 'recommend-apply' : 'recommend', days });
  try {
    const p = await principalNamed(deps, input.principal);
    await r.flushUsage();
    const { rec, held, raw } = await compute(deps, r, p, days);
    const v = view(p, days, rec, held);
    if (input.apply !== true) {
      await permit.finish('success', { details: { remove: rec.remove.length, add: rec.add.length } });
      return { ...v, applied: false };
    }
    const now = deps.clock();
    const resolver = new ScopeResolver(deps.store);
    const created: string[] = [];
    for (const a of rec.add) {
      const cover = raw.get(a.coveredBy)!;
      const coverScope = await resolver.resolve(cover);
      if (coverScope === null) throw new NotFoundError(`grant \`${cover.id}\` not found`);
      const scopeId = a.scopeKind === 'project' ? coverScope.project.id : (await deps.store.getArtifactByName(coverScope.project.id, a.artifact!))?.id;
      if (scopeId === undefined) throw new NotFoundError(`artifact \`${a.project}/${a.artifact}\` not found`);
      const g: Grant = { id: newId(ID_PREFIX.grant), principalId: p.id, role: a.role, scopeKind: a.scopeKind, scopeId, createdBy: caller.subject.principal.id, createdAt: now, expiresAt: a.expiresAt };
      await deps.store.createGrant(g);
      created.push(g.id);
    }
    for (const g of rec.remove) {
      try {
        await deps.store.deleteGrant(g.id);
      } catch (err) {
        if (!(err instanceof NotFoundError)) throw err;
      }
    }
    r.onApplied(rec.remove.length);
    await permit.finish('success', { details: { removed: rec.remove.map((g) => g.id), added: created } });
    return { ...v, applied: true };
  } catch (err) {
    await permit.finish('failure', { reason: isCofferError(err) ? err.code : 'error' });
    throw err;
  }
}

/**
 * Service accounts holding more than they use (`manage-principals`): membership of
 * the administrators, project grants used for one artifact or none, rights never used
 * in the window, roles above what the use needs, long-lived or idle API tokens.
 */
export async function overPrivilegedServiceAccounts(deps: ServiceDeps, gate: Gate, r: RecommendDeps, caller: Caller, input: { days?: number }): Promise<OverPrivilegedView[]> {
  const days = input.days ?? r.windowDays;
  if (!Number.isInteger(days) || days < 1 || days > 365) throw new ValidationError('days must be an integer from 1 to 365');
  const permit = await gate.enter(caller, 'manage-principals', SYSTEM, 'principals/service-accounts/privileges', null, { op: 'recommend-report', days });
  await r.flushUsage();
  const now = deps.clock();
  const admins = await deps.store.getPrincipalByName('admins');
  const out: OverPrivilegedView[] = [];
  let cursor: string | null = null;
  do {
    const page = await deps.store.listPrincipals({ kind: 'service-account', limit: 500, cursor });
    for (const p of page.items) {
      const { rec, held } = await compute(deps, r, p, days);
      const findings: string[] = [];
      if (admins !== null && (await deps.store.listGroupsOf(p.id)).includes(admins.id)) findings.push('member of the administrators group');
      for (const g of rec.remove) {
        const replacements = rec.add.filter((a) => a.coveredBy === g.id);
        const arts = replacements.map((x) => x.artifact ?? `project ${x.project}`);
        const listed = `${arts.slice(0, 3).join(', ')}${arts.length > 3 ? ', ...' : ''}`;
        if (g.scopeKind === 'project') findings.push(replacements.length === 0 ? `${g.role} on the whole project \`${g.project}\` not used in ${days} days` : `${g.role} on the whole project \`${g.project}\` used for ${arts.length} artifact${arts.length === 1 ? '' : 's'} (${listed})`);
        else if (replacements.length === 0) findings.push(`${g.role} on \`${scopeOf(g)}\` not used in ${days} days`);
        else findings.push(`${g.role} on \`${scopeOf(g)}\`: ${g.reason}`);
      }
      for (const t of await deps.store.listTokens(p.id)) {
        if (t.revokedAt !== null || (t.expiresAt !== null && t.expiresAt <= now)) continue;
        if (t.expiresAt === null) findings.push(`API token ${t.hint} never expires`);
        else if (t.expiresAt - t.createdAt > 90 * DAY) findings.push(`API token ${t.hint} lives ${Math.round((t.expiresAt - t.createdAt) / DAY)} days`);
        if (t.lastUsedAt === null || t.lastUsedAt < now - days * DAY) findings.push(`API token ${t.hint} not used in ${days} days`);
      }
      if (findings.length > 0) out.push({ principal: p.name, findings, grantsNow: held.length, grantsAfter: rec.keep.length + rec.add.length });
    }
    cursor = page.next;
  } while (cursor !== null);
  await permit.finish('success', { details: { flagged: out.length } });
  return out;
}
