import type { Environment, Role, Tier } from '../domain/types.js';

/** A grant the principal holds, described by names (as recommendations are shown). */
export interface HeldGrant {
  id: string;
  role: Role;
  scopeKind: 'project' | 'artifact' | 'version';
  project: string;
  artifact: string | null;
  version: number | null;
  /** Tier and environment of the artifact (null for a project grant). */
  tier: Tier | null;
  environment: Environment | null;
  expiresAt: number | null;
}

/** One thing the principal did over the window (from the audit log). */
export interface Use {
  action: string;
  project: string;
  /** Empty for actions on the project itself. */
  artifact: string;
  lastUsedAt: number;
  count: number;
}

/** A grant to create: narrower than (or equal to) one the principal holds. */
export interface ProposedGrant {
  role: Role;
  scopeKind: 'project' | 'artifact';
  project: string;
  artifact: string | null;
  /** The held grant that already covers it (the proposal never reaches beyond what is held). */
  coveredBy: string;
  /** Inherited from the covering grant: narrowing never extends a grant's life. */
  expiresAt: number | null;
  reason: string;
}

/** The smallest set of direct grants covering the principal's use, as a difference from what it holds. */
export interface Recommendation {
  keep: HeldGrant[];
  remove: Array<HeldGrant & { reason: string }>;
  add: ProposedGrant[];
  /** Uses that no direct grant covers (they came through a group's grant or an administrator rule). */
  viaOtherRights: Use[];
}

/** Facts about artifacts the use names. */
export interface ArtifactFacts {
  artifact(project: string, artifact: string): { tier: Tier; environment: Environment } | null;
}

const RANK: Record<Role, number> = { reader: 0, writer: 1, owner: 2 };

/** The role an action needs (see the role action groups of the policy schema). */
export function roleFor(action: string, facts: { environment: Environment | null } | null): Role | null {
  switch (action) {
    case 'read-metadata':
    case 'download':
      return 'reader';
    case 'upload':
      // writers never upload to prod: only owners do (baseline policy)
      return facts?.environment === 'prod' ? 'owner' : 'writer';
    case 'create-artifact':
      return 'writer';
    case 'delete':
    case 'promote':
    case 'grant':
      return 'owner';
    default:
      return null;
  }
}

function max(a: Role | undefined, b: Role): Role {
  return a === undefined || RANK[b] > RANK[a] ? b : a;
}

/** True if held grant `g` permits role `role` on artifact `artifact` of `project` (tier known). */
function covers(g: HeldGrant, role: Role, project: string, artifact: string | null, tier: Tier | null): boolean {
  if (g.project !== project || RANK[g.role] < RANK[role]) return false;
  // project grants never reach restricted artifacts (baseline policy)
  if (g.scopeKind === 'project') return artifact === null || tier !== 'restricted';
  return g.scopeKind === 'artifact' && artifact !== null && g.artifact === artifact;
}

/**
 * The least-privilege set of direct grants for a principal: for every artifact it used,
 * a grant on that artifact with the highest role its use needed; a project grant only
 * where it acted on the project itself (creating artifacts). Everything is bounded by
 * what it holds: a need no held grant covers is reported, never granted. Held grants
 * that match a proposal are kept; the others are removed; version grants on artifacts
 * in use are kept (they are narrower still).
 * INVARIANT: every proposed grant is covered by a held grant of the same or a higher
 * role on the same or a wider scope, so applying a recommendation only ever narrows.
 */
export function recommendGrants(held: readonly HeldGrant[], used: readonly Use[], facts: ArtifactFacts): Recommendation {
  const projectNeed = new Map<string, Role>();
  const artifactNeed = new Map<string, { project: string; artifact: string; role: Role; tier: Tier | null }>();
  const viaOther: Use[] = [];
  const versionGrantsFor = (project: string, artifact: string, role: Role) =>
    held.filter((g) => g.scopeKind === 'version' && g.project === project && g.artifact === artifact && RANK[g.role] >= RANK[role]);
  for (const u of used) {
    const f = u.artifact === '' ? null : facts.artifact(u.project, u.artifact);
    const role = roleFor(u.action, f);
    if (role === null) continue;
    const tier = f?.tier ?? null;
    if (u.artifact === '') {
      // reading a project's metadata is served by any grant inside it: only writes need the project
      if (u.action === 'read-metadata') continue;
      if (!held.some((g) => g.scopeKind === 'project' && covers(g, role, u.project, null, null))) viaOther.push(u);
      else projectNeed.set(u.project, max(projectNeed.get(u.project), role));
      continue;
    }
    // each use on its own: one the held grants never allowed must not hide the ones they did
    if (!held.some((g) => covers(g, role, u.project, u.artifact, tier)) && versionGrantsFor(u.project, u.artifact, role).length === 0) {
      viaOther.push(u);
      continue;
    }
    const key = `${u.project}/${u.artifact}`;
    const cur = artifactNeed.get(key);
    artifactNeed.set(key, { project: u.project, artifact: u.artifact, role: max(cur?.role, role), tier: tier ?? cur?.tier ?? null });
  }

  const proposals: ProposedGrant[] = [];
  const actionsOn = (project: string, artifact: string) => [...new Set(used.filter((u) => u.project === project && u.artifact === artifact).map((u) => u.action))].join(', ');

  for (const [project, role] of projectNeed) {
    const cover = held.find((g) => g.scopeKind === 'project' && covers(g, role, project, null, null))!;
    proposals.push({ role, scopeKind: 'project', project, artifact: null, coveredBy: cover.id, expiresAt: cover.expiresAt, reason: `acts on project \`${project}\` itself (${actionsOn(project, '')})` });
  }
  const keptVersions = new Set<string>();
  for (const need of artifactNeed.values()) {
    const viaProject = proposals.find((p) => p.scopeKind === 'project' && p.project === need.project && RANK[p.role] >= RANK[need.role] && need.tier !== 'restricted');
    if (viaProject !== undefined) continue;
    const versions = versionGrantsFor(need.project, need.artifact, need.role);
    versions.forEach((g) => keptVersions.add(g.id));
    const cover = held
      .filter((g) => covers(g, need.role, need.project, need.artifact, need.tier))
      // the narrowest covering grant carries over its expiry
      .sort((a, b) => (a.scopeKind === 'artifact' ? 0 : 1) - (b.scopeKind === 'artifact' ? 0 : 1))[0];
    // used through version grants only: those stay, nothing wider is needed
    if (cover === undefined) continue;
    proposals.push({ role: need.role, scopeKind: 'artifact', project: need.project, artifact: need.artifact, coveredBy: cover.id, expiresAt: cover.expiresAt, reason: `used: ${actionsOn(need.project, need.artifact)}` });
  }

  const keep: HeldGrant[] = [];
  const remove: Array<HeldGrant & { reason: string }> = [];
  const add: ProposedGrant[] = [];
  const matched = new Set<ProposedGrant>();
  for (const g of held) {
    if (g.scopeKind === 'version') {
      if (keptVersions.has(g.id)) keep.push(g);
      else remove.push({ ...g, reason: 'not used within the window' });
      continue;
    }
    const same = proposals.find((p) => !matched.has(p) && p.scopeKind === g.scopeKind && p.project === g.project && p.artifact === g.artifact && p.role === g.role);
    if (same !== undefined) {
      matched.add(same);
      keep.push(g);
      continue;
    }
    const narrower = proposals.filter((p) => p.coveredBy === g.id);
    const reason =
      narrower.length === 0
        ? 'not used within the window'
        : g.scopeKind === 'project'
          ? `used for ${narrower.length} artifact${narrower.length === 1 ? '' : 's'} only: replaced by narrower grants`
          : `${g.role} is more than the use needs (${narrower.map((p) => p.role).join(', ')})`;
    remove.push({ ...g, reason });
  }
  for (const p of proposals) if (!matched.has(p)) add.push(p);
  return { keep, remove, add, viaOtherRights: viaOther };
}
