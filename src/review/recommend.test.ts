import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import type { Environment, Role, Tier } from '../domain/types.js';
import { recommendGrants, type ArtifactFacts, type HeldGrant, type Use } from './recommend.js';

const facts = (tiers: Record<string, Tier> = {}, envs: Record<string, Environment> = {}): ArtifactFacts => ({
  artifact: (p, a) => ({ tier: tiers[`${p}/${a}`] ?? 'internal', environment: envs[`${p}/${a}`] ?? 'dev' }),
});
const grant = (id: string, role: Role, scopeKind: HeldGrant['scopeKind'], project: string, artifact: string | null = null, extra: Partial<HeldGrant> = {}): HeldGrant => ({
  id,
  role,
  scopeKind,
  project,
  artifact,
  version: scopeKind === 'version' ? 1 : null,
  tier: artifact === null ? null : 'internal',
  environment: artifact === null ? null : 'dev',
  expiresAt: null,
  ...extra,
});
const use = (action: string, project: string, artifact = ''): Use => ({ action, project, artifact, lastUsedAt: 1, count: 1 });

void test('a pipeline with owner on the whole project used to pull one dataset and push one model gets two artifact grants', () => {
  const r = recommendGrants(
    [grant('g1', 'owner', 'project', 'vision')],
    [use('download', 'vision', 'datasets/train'), use('read-metadata', 'vision', 'datasets/train'), use('upload', 'vision', 'models/resnet')],
    facts(),
  );
  assert.deepEqual(r.keep, []);
  assert.deepEqual(r.remove.map((g) => [g.id, g.reason]), [['g1', 'used for 2 artifacts only: replaced by narrower grants']]);
  assert.deepEqual(
    r.add.map((p) => [p.scopeKind, p.project, p.artifact, p.role, p.coveredBy]),
    [
      ['artifact', 'vision', 'datasets/train', 'reader', 'g1'],
      ['artifact', 'vision', 'models/resnet', 'writer', 'g1'],
    ],
  );
});

void test('unused grants go, matching grants stay, roles shrink to what was used', () => {
  const r = recommendGrants(
    [grant('g1', 'reader', 'artifact', 'vision', 'datasets/train'), grant('g2', 'owner', 'artifact', 'vision', 'models/a'), grant('g3', 'writer', 'project', 'nlp')],
    [use('download', 'vision', 'datasets/train'), use('download', 'vision', 'models/a')],
    facts(),
  );
  assert.deepEqual(r.keep.map((g) => g.id), ['g1']);
  assert.deepEqual(r.remove.map((g) => [g.id, g.reason]), [['g2', 'owner is more than the use needs (reader)'], ['g3', 'not used within the window']]);
  assert.deepEqual(r.add.map((p) => [p.artifact, p.role, p.coveredBy]), [['models/a', 'reader', 'g2']]);
});

void test('creating artifacts needs the project; uploads to prod need owner; restricted needs an artifact grant', () => {
  const r = recommendGrants(
    [grant('g1', 'owner', 'project', 'vision'), grant('g2', 'reader', 'artifact', 'vision', 'pii/users')],
    [use('create-artifact', 'vision'), use('upload', 'vision', 'models/prod-model'), use('download', 'vision', 'features/x'), use('download', 'vision', 'pii/users')],
    facts({ 'vision/pii/users': 'restricted' }, { 'vision/models/prod-model': 'prod' }),
  );
  assert.deepEqual(r.add.map((p) => [p.scopeKind, p.artifact, p.role]), [['project', null, 'writer'], ['artifact', 'models/prod-model', 'owner']]);
  assert.deepEqual(r.keep.map((g) => g.id), ['g2']);
  assert.deepEqual(r.remove.map((g) => g.id), ['g1']);
});

void test('use covered by no direct grant is reported, never granted', () => {
  const r = recommendGrants([grant('g1', 'reader', 'artifact', 'vision', 'a')], [use('download', 'vision', 'a'), use('download', 'nlp', 'b'), use('upload', 'vision', 'a')], facts());
  assert.deepEqual(r.add, []);
  assert.deepEqual(r.viaOtherRights.map((u) => `${u.action} ${u.project}/${u.artifact}`), ['download nlp/b', 'upload vision/a']);
  assert.deepEqual(r.keep.map((g) => g.id), ['g1']);
});

void test('version grants stay while their artifact is used', () => {
  const r = recommendGrants([grant('g1', 'reader', 'version', 'vision', 'a'), grant('g2', 'reader', 'version', 'vision', 'b')], [use('download', 'vision', 'a')], facts());
  assert.deepEqual(r.keep.map((g) => g.id), ['g1']);
  assert.deepEqual(r.remove.map((g) => g.id), ['g2']);
  assert.deepEqual(r.viaOtherRights, []);
});

const roles: Role[] = ['reader', 'writer', 'owner'];
const rank = { reader: 0, writer: 1, owner: 2 } as const;

void test('property: a recommendation never grants beyond what is held and covers every use a held grant covered', () => {
  const projects = ['p', 'q'];
  const arts = ['a', 'b', 'c'];
  const arbGrant = fc.record({
    role: fc.constantFrom(...roles),
    scopeKind: fc.constantFrom('project' as const, 'artifact' as const),
    project: fc.constantFrom(...projects),
    artifact: fc.constantFrom(...arts),
  });
  const arbUse = fc.record({ action: fc.constantFrom('download', 'read-metadata', 'upload', 'delete', 'create-artifact'), project: fc.constantFrom(...projects), artifact: fc.constantFrom(...arts, '') });
  fc.assert(
    fc.property(fc.array(arbGrant, { maxLength: 6 }), fc.array(arbUse, { maxLength: 10 }), fc.constantFrom<Tier>('internal', 'restricted'), (gs, us, tierOfA) => {
      const tiers = { 'p/a': tierOfA, 'q/a': tierOfA };
      const held = gs.map((g, i) => grant(`g${i}`, g.role, g.scopeKind, g.project, g.scopeKind === 'project' ? null : g.artifact, { tier: g.scopeKind === 'project' ? null : tiers[`${g.project}/${g.artifact}` as 'p/a'] ?? 'internal' }));
      const uses = us.filter((u) => !(u.action === 'create-artifact' && u.artifact !== '')).map((u) => use(u.action, u.project, u.artifact));
      const r = recommendGrants(held, uses, facts(tiers));
      const after = [...r.keep, ...r.add.map((p, i) => grant(`n${i}`, p.role, p.scopeKind, p.project, p.artifact))];
      // nothing proposed beyond its covering held grant
      for (const p of r.add) {
        const c = held.find((g) => g.id === p.coveredBy)!;
        assert.ok(rank[c.role] >= rank[p.role] && c.project === p.project && (c.scopeKind === 'project' || c.artifact === p.artifact));
      }
      assert.equal(r.keep.length + r.remove.length, held.length);
      // every write or download a held grant allowed is still allowed afterwards
      const allowed = (set: HeldGrant[], u: Use) => {
        const need = u.action === 'download' ? 0 : u.action === 'upload' || u.action === 'create-artifact' ? 1 : u.action === 'delete' ? 2 : -1;
        if (need < 0) return true;
        const tier = u.artifact === '' ? null : (tiers[`${u.project}/${u.artifact}` as 'p/a'] ?? 'internal');
        return set.some((g) => g.project === u.project && rank[g.role] >= need && (g.scopeKind === 'project' ? u.artifact === '' || tier !== 'restricted' : u.artifact !== '' && g.artifact === u.artifact));
      };
      for (const u of uses) if (allowed(held, u)) assert.ok(allowed(after, u), `lost ${u.action} ${u.project}/${u.artifact}`);
    }),
    { numRuns: 300 },
  );
});
