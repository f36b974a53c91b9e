/**
 * The world of the policy benchmark: 1,000 users, 100 groups, 100 projects, 10,000
 * artifacts with 5 versions each, and N policies (the baseline pack plus grant links),
 * with the same requests for every engine measured.
 */
import { ENTITY_TYPE, grantTemplateId, scopeEntityType } from '../../src/policy/cedar-names.js';
import { TIERS, ENVIRONMENTS, ROLES, type Grant } from '../../src/domain/types.js';
import type { Action } from '../../src/policy/policy-engine.js';

/** A deterministic pseudo-random generator (mulberry32). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const USERS = 1000;
export const GROUPS = 100;
export const PROJECTS = 100;
export const ARTIFACTS = 10000;
export const VERSIONS = 5;

export interface World {
  users: { id: string; groups: string[] }[];
  artifacts: { id: string; project: string; tier: string; environment: string; owner: string }[];
  /** Grants (their links are the non-baseline policies). */
  grants: Grant[];
  /** Grants by holder (user or group id), for the hand-written check. */
  grantsByHolder: Map<string, Grant[]>;
}

/** Builds the world with `grantCount` grants. */
export function buildWorld(grantCount: number, seed = 42): World {
  const r = rng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const users = Array.from({ length: USERS }, (_, i) => {
    const groups = new Set<string>();
    const n = 1 + Math.floor(r() * 3);
    while (groups.size < n) groups.add(`grp_${Math.floor(r() * GROUPS)}`);
    return { id: `usr_${i}`, groups: [...groups] };
  });
  const artifacts = Array.from({ length: ARTIFACTS }, (_, i) => ({
    id: `art_${i}`,
    project: `prj_${i % PROJECTS}`,
    tier: r() < 0.05 ? 'restricted' : pick(TIERS.filter((t) => t !== 'restricted')),
    environment: pick(ENVIRONMENTS),
    owner: `usr_${Math.floor(r() * USERS)}`,
  }));
  const grants: Grant[] = [];
  for (let i = 0; i < grantCount; i++) {
    const holder = r() < 0.3 ? `grp_${Math.floor(r() * GROUPS)}` : `usr_${Math.floor(r() * USERS)}`;
    const projectScope = r() < 0.7;
    grants.push({
      id: `grt_${i}`,
      principalId: holder,
      role: pick(ROLES),
      scopeKind: projectScope ? 'project' : 'artifact',
      scopeId: projectScope ? `prj_${Math.floor(r() * PROJECTS)}` : `art_${Math.floor(r() * ARTIFACTS)}`,
      createdBy: 'usr_0',
      createdAt: 0,
      expiresAt: null,
    });
  }
  const grantsByHolder = new Map<string, Grant[]>();
  for (const g of grants) {
    const list = grantsByHolder.get(g.principalId);
    if (list === undefined) grantsByHolder.set(g.principalId, [g]);
    else list.push(g);
  }
  return { users, artifacts, grants, grantsByHolder };
}

/** A benchmark request: a user, an action, a version of an artifact. */
export interface BenchRequest {
  user: number;
  action: Action;
  artifact: number;
  version: number;
}

const BENCH_ACTIONS: Action[] = ['read-metadata', 'download', 'download', 'download', 'upload'];

/**
 * Requests that hit grants often: half of them pick an artifact in a project (or the
 * artifact) the user or one of its groups holds a grant on.
 */
export function buildRequests(world: World, count: number, seed = 7): BenchRequest[] {
  const r = rng(seed);
  const out: BenchRequest[] = [];
  for (let i = 0; i < count; i++) {
    const user = Math.floor(r() * USERS);
    let artifact = Math.floor(r() * ARTIFACTS);
    if (r() < 0.5) {
      const u = world.users[user]!;
      const held = [u.id, ...u.groups].flatMap((h) => world.grantsByHolder.get(h) ?? []);
      if (held.length > 0) {
        const g = held[Math.floor(r() * held.length)]!;
        artifact = g.scopeKind === 'artifact' ? Number(g.scopeId.slice(4)) : Number(g.scopeId.slice(4)) + PROJECTS * Math.floor(r() * (ARTIFACTS / PROJECTS));
      }
    }
    out.push({ user, action: BENCH_ACTIONS[Math.floor(r() * BENCH_ACTIONS.length)]!, artifact, version: Math.floor(r() * VERSIONS) });
  }
  return out;
}

/** Cedar uid of a grant's scope and principal (users here are all `User`). */
export function grantLinkParts(g: Grant): { templateId: string; principal: { type: string; id: string }; resource: { type: string; id: string } } {
  return {
    templateId: grantTemplateId(g.scopeKind, g.role),
    principal: { type: g.principalId.startsWith('grp_') ? ENTITY_TYPE.group : ENTITY_TYPE.user, id: g.principalId },
    resource: { type: scopeEntityType(g.scopeKind), id: g.scopeId },
  };
}
