/**
 * The listing plan's invariant, by property: every catalog item the engine allows lies
 * in a scope of the plan (or the plan is unbounded), with the baseline, grants of every
 * kind and custom permits naming projects, artifacts, versions, or nothing at all.
 */
import { it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { PolicySetFactory } from './policy-set-factory.js';
import type { ListingPlan, ResourceRef, Subject } from './policy-engine.js';
import { ROLES, SCOPE_KINDS, type Grant } from '../domain/types.js';
import * as S from '../../test/fixtures/policy/scenario.js';

const factory = new PolicySetFactory();
const items: ResourceRef[] = [
  S.R.project(S.p1), S.R.project(S.p2),
  S.R.artifact(S.internalDev), S.R.artifact(S.restricted), S.R.artifact(S.prodModel), S.R.artifact(S.otherProject),
  S.R.version(S.intV1), S.R.version(S.intV2), S.R.version(S.resV1), S.R.version(S.prodV1), S.R.version(S.otherV1),
];
const scopeIds = { project: [S.p1.id, S.p2.id], artifact: [S.internalDev.id, S.restricted.id, S.prodModel.id, S.otherProject.id], version: [S.intV1.id, S.resV1.id, S.prodV1.id] };

const packs = [
  [],
  [{ name: 'p.cedar', text: `@id("p")\npermit (principal, action == Coffer::Action::"read-metadata", resource in Coffer::Project::"${S.p2.id}");\n` }],
  [{ name: 'a.cedar', text: `@id("a")\npermit (principal in Coffer::Group::"${S.mlTeam.id}", action in Coffer::Action::"role/reader", resource == Coffer::Artifact::"${S.prodModel.id}") when { context.localHour > 3 };\n` }],
  [{ name: 'v.cedar', text: `@id("v")\npermit (principal == Coffer::User::"${S.bob.id}", action, resource is Coffer::ArtifactVersion in Coffer::Artifact::"${S.internalDev.id}");\n` }],
  [{ name: 'all.cedar', text: '@id("all")\npermit (principal is Coffer::User, action == Coffer::Action::"read-metadata", resource is Coffer::Artifact) when { resource.tier == "public" };\n' }],
];
const engines = packs.map((pack) => factory.engine(pack, S.ADMINS_GROUP));

const grantArb: fc.Arbitrary<Grant> = fc
  .record({ holder: fc.constantFrom(S.alice.id, S.bob.id, S.dataScience.id, S.mlTeam.id), role: fc.constantFrom(...ROLES), scopeKind: fc.constantFrom(...SCOPE_KINDS), pick: fc.nat(), expired: fc.boolean(), id: fc.integer({ min: 1, max: 9 }) })
  .map((g) => ({ id: `grt_${g.id}`, principalId: g.holder, role: g.role, scopeKind: g.scopeKind, scopeId: scopeIds[g.scopeKind][g.pick % scopeIds[g.scopeKind].length]!, createdBy: S.carol.id, createdAt: 0, expiresAt: g.expired ? S.NOW - 1 : null }));

function inPlan(plan: ListingPlan, r: ResourceRef): boolean {
  if (plan.unbounded || r.kind === 'system') return true;
  if (plan.projectIds.has(r.project.id)) return true;
  if (r.kind === 'project') return false;
  if (plan.artifactIds.has(r.artifact.id)) return true;
  return r.kind === 'version' && plan.versionIds.has(r.version.id);
}

void it('covers every item the engine allows (read-metadata, download, upload)', () => {
  let bounded = 0;
  let allowed = 0;
  fc.assert(
    fc.property(
      fc.record({ principal: fc.constantFrom(S.alice, S.bob, S.ci), groupIds: fc.subarray([S.dataScience.id, S.mlTeam.id, S.ADMINS_GROUP]), grants: fc.array(grantArb, { maxLength: 5 }) }),
      fc.nat({ max: engines.length - 1 }),
      fc.constantFrom('read-metadata', 'download', 'upload'),
      (subject: Subject, k, action) => {
        const engine = engines[k]!;
        const plan = engine.listingPlan(subject, action, S.NOW);
        if (!plan.unbounded) bounded++;
        for (const r of items) {
          const d = engine.authorize({ subject, action, resource: r, context: S.context() });
          if (!d.allowed) continue;
          allowed++;
          assert.ok(inPlan(plan, r), `${action} on ${JSON.stringify(r).slice(0, 120)} allowed by ${d.determining.join(',')} but not in ${JSON.stringify({ ...plan, projectIds: [...plan.projectIds], artifactIds: [...plan.artifactIds], versionIds: [...plan.versionIds] })}`);
        }
      },
    ),
    { numRuns: 600, seed: 31 },
  );
  assert.ok(bounded > 200 && allowed > 200, `bounded ${bounded}, allowed ${allowed}`);
});

void it('is bounded by the grants for a plain user, unbounded for admins and broad permits', () => {
  const g = S.grant(S.alice, 'reader', 'project', S.p1.id);
  const v = S.grant(S.mlTeam, 'reader', 'version', S.resV1.id);
  const expired = S.grant(S.alice, 'owner', 'artifact', S.otherProject.id, S.NOW);
  const plan = engines[0]!.listingPlan(S.subject(S.alice, [g, v, expired], [S.mlTeam.id]), 'read-metadata', S.NOW);
  assert.deepEqual([plan.unbounded, [...plan.projectIds], [...plan.artifactIds], [...plan.versionIds]], [false, [S.p1.id], [], [S.resV1.id]]);
  assert.equal(engines[0]!.listingPlan(S.subject(S.carol, [], [S.ADMINS_GROUP]), 'read-metadata', S.NOW).unbounded, true);
  assert.equal(engines[0]!.listingPlan(S.subject(S.carol, [], [S.ADMINS_GROUP]), 'download', S.NOW).unbounded, false);
  assert.equal(engines[4]!.listingPlan(S.subject(S.alice), 'read-metadata', S.NOW).unbounded, true);
  assert.deepEqual([...engines[1]!.listingPlan(S.subject(S.alice), 'read-metadata', S.NOW).projectIds], [S.p2.id]);
});
