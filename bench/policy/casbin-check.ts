/**
 * The benchmark's rules in Casbin (RBAC with three role hierarchies plus conditions in
 * the matcher), as a Casbin user would write them: a `p` line per grant, users in
 * groups (`g`), versions in artifacts in projects (`g2`), actions in roles (`g3`), and
 * the two baseline conditions of catalog requests (project grants do not reach
 * restricted artifacts; only owners upload to prod). It decides what the hand-written
 * check decides; the benchmark counts any disagreement.
 */
import { newEnforcer, newModelFromString, type Enforcer } from 'casbin';
import type { World } from './policy-world.js';
import { VERSIONS } from './policy-world.js';

const MODEL = `
[request_definition]
r = sub, obj, act, tier, env

[policy_definition]
p = sub, scope, role, kind

[role_definition]
g = _, _
g2 = _, _
g3 = _, _

[policy_effect]
e = some(where (p.eft == allow))

[matchers]
m = g(r.sub, p.sub) && g2(r.obj, p.scope) && g3(r.act, p.role) && !(p.kind == "project" && r.tier == "restricted") && !(r.act == "upload" && r.env == "prod" && p.role != "owner")
`;

const ROLE_ACTIONS: Record<string, readonly string[]> = {
  reader: ['read-metadata', 'download'],
  writer: ['read-metadata', 'download', 'upload', 'create-artifact'],
  owner: ['read-metadata', 'download', 'upload', 'create-artifact', 'delete', 'promote', 'grant'],
};

/** A Casbin enforcer holding the world's grants, memberships and resource hierarchy. */
export async function casbinEnforcer(world: World): Promise<Enforcer> {
  const e = await newEnforcer(newModelFromString(MODEL));
  await e.addPolicies(world.grants.map((g) => [g.principalId, g.scopeId, g.role, g.scopeKind]));
  await e.addNamedGroupingPolicies('g', world.users.flatMap((u) => u.groups.map((g) => [u.id, g])));
  const hierarchy: string[][] = [];
  for (const a of world.artifacts) {
    hierarchy.push([a.id, a.project]);
    for (let v = 0; v < VERSIONS; v++) hierarchy.push([`${a.id}_v${v}`, a.id]);
  }
  await e.addNamedGroupingPolicies('g2', hierarchy);
  await e.addNamedGroupingPolicies('g3', Object.entries(ROLE_ACTIONS).flatMap(([role, actions]) => actions.map((a) => [a, role])));
  return e;
}

/** Casbin's decision for a catalog request on a version. */
export function casbinCheck(e: Enforcer, world: World, r: { user: number; action: string; artifact: number; version: number }): boolean {
  const a = world.artifacts[r.artifact]!;
  return e.enforceSync(world.users[r.user]!.id, `${a.id}_v${r.version}`, r.action, a.tier, a.environment);
}
