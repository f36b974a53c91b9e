/**
 * Listing by permission through the API: pages hold exactly the items a row-by-row
 * decision allows, in name order, whatever the mix of project, artifact and version
 * grants, restricted items, admins, and custom policies that name scopes or none.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ID_PREFIX, newId } from '../../src/domain/ids.js';
import type { Artifact, ArtifactVersion, Grant, Project } from '../../src/domain/types.js';
import type { Caller } from '../../src/service/index.js';
import { bearer, openAppHarness, type AppHarness } from '../support/app-harness.js';

void describe('listing by permission', { timeout: 120_000 }, () => {
  let h: AppHarness;
  const tokens: Record<string, string> = {};
  let projects: Project[] = [];
  const artifacts: Artifact[] = [];
  const versions: ArtifactVersion[] = [];

  before(async () => {
    h = await openAppHarness({ trustedNetworks: '127.0.0.0/8,::1/128' });
    const store = h.runtime.store;
    for (const name of ['alice', 'bob', 'carol', 'dave']) tokens[name] = await h.user(name);
    const id = async (name: string) => (await store.getPrincipalByName(name))!.id;
    const now = Date.now();
    projects = ['big', 'small', 'other'].map((name) => ({ id: newId(ID_PREFIX.project), name, description: '', createdBy: 'x', createdAt: now }));
    for (const p of projects) await store.createProject(p);
    const tiers = ['public', 'internal', 'confidential', 'restricted'] as const;
    for (let i = 0; i < 240; i++) {
      const p = projects[i % 8 === 0 ? 1 : i % 8 === 1 ? 2 : 0]!;
      const a: Artifact = { id: newId(ID_PREFIX.artifact), projectId: p.id, name: `m/${String(i).padStart(3, '0')}`, kind: 'model', tier: tiers[i % 4]!, environment: i % 3 === 0 ? 'prod' : 'dev', ownerId: 'x', labels: {}, createdAt: now };
      await store.createArtifact(a);
      artifacts.push(a);
      if (i % 10 === 0) {
        for (const n of [1, 2]) {
          const v: ArtifactVersion = { id: newId(ID_PREFIX.version), artifactId: a.id, number: n, sha256: '0'.repeat(64), size: 0, mediaType: 'x', createdBy: 'x', createdAt: now, blobKey: `k${i}-${n}`, wrappedKey: null, keyTerm: 1 };
          await store.createVersion(v);
          versions.push(v);
        }
      }
    }
    const grant = async (holder: string, role: Grant['role'], scopeKind: Grant['scopeKind'], scopeId: string) =>
      store.createGrant({ id: newId(ID_PREFIX.grant), principalId: await id(holder), role, scopeKind, scopeId, createdBy: 'x', createdAt: now, expiresAt: null });
    // alice: a few artifacts of `big` (one restricted) and one version of another
    for (const a of artifacts.filter((a) => a.projectId === projects[0]!.id).slice(5, 60).filter((_, i) => i % 6 === 0)) await grant('alice', 'reader', 'artifact', a.id);
    await grant('alice', 'reader', 'version', versions[3]!.id);
    // bob: the whole of `big` (restricted ones stay hidden) and `small` through a group
    await h.app.inject({ method: 'POST', url: '/v1/principals', headers: bearer(h.adminToken), payload: { kind: 'group', name: 'team' } });
    await h.app.inject({ method: 'POST', url: '/v1/groups/team/members', headers: bearer(h.adminToken), payload: { member: 'bob' } });
    await grant('bob', 'writer', 'project', projects[0]!.id);
    await grant('team', 'reader', 'project', projects[1]!.id);
    // carol: an expired project grant only
    await store.createGrant({ id: newId(ID_PREFIX.grant), principalId: await id('carol'), role: 'owner', scopeKind: 'project', scopeId: projects[2]!.id, createdBy: 'x', createdAt: 0, expiresAt: 1 });
  });
  after(async () => h.close());

  /** Every page of a listing, with page size `limit`. */
  async function all(token: string, url: string, limit: number): Promise<string[]> {
    const names: string[] = [];
    let cursor: string | null = null;
    for (let i = 0; i < 500; i++) {
      const query: string = `?limit=${limit}${cursor !== null ? `&cursor=${cursor}` : ''}`;
      const r = await h.app.inject({ method: 'GET', url: url + query, headers: bearer(token) });
      if (r.statusCode === 404 && names.length === 0 && cursor === null) return [];
      assert.equal(r.statusCode, 200, r.body);
      const page: { items: { name: string }[]; next: string | null } = r.json();
      assert.ok(page.items.length <= limit);
      names.push(...page.items.map((p) => p.name));
      cursor = page.next;
      if (cursor === null) return names;
    }
    throw new Error('too many pages');
  }

  /** What row-by-row decisions allow, in name order. */
  async function expected(token: string): Promise<{ projects: string[]; artifacts: Map<string, string[]> }> {
    const caller: Caller = await h.runtime.service.authenticate(token, { requestId: 't', sourceIp: '127.0.0.1', userAgent: 't' });
    const may = (r: Parameters<typeof h.runtime.service.gate.decide>[2]) => h.runtime.service.gate.decide(caller, 'read-metadata', r).allowed;
    const byName = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));
    const out = { projects: projects.filter((project) => may({ kind: 'project', project })).map((p) => p.name).sort(byName), artifacts: new Map<string, string[]>() };
    for (const project of projects) out.artifacts.set(project.name, artifacts.filter((a) => a.projectId === project.id && may({ kind: 'artifact', project, artifact: a })).map((a) => a.name).sort(byName));
    return out;
  }

  async function check(name: string): Promise<void> {
    const token = name === 'admin' ? h.adminToken : tokens[name]!;
    const want = await expected(token);
    for (const limit of [3, 100]) {
      assert.deepEqual(await all(token, '/v1/projects', limit), want.projects, `${name}: projects, limit ${limit}`);
      for (const p of projects) assert.deepEqual(await all(token, `/v1/projects/${p.name}/artifacts`, limit), want.artifacts.get(p.name), `${name}: artifacts of ${p.name}, limit ${limit}`);
    }
  }

  it('pages hold exactly what row-by-row decisions allow, for users with artifact, version, project and group grants, admins, and expired grants', async () => {
    for (const name of ['alice', 'bob', 'carol', 'dave', 'admin']) await check(name);
    const want = await expected(tokens.alice!);
    assert.equal(want.artifacts.get('big')!.length, 10);
    assert.deepEqual(want.projects, []);
    const bob = await expected(tokens.bob!);
    assert.ok(bob.artifacts.get('big')!.length > 100 && bob.artifacts.get('big')!.length < 180);
  });

  it('shows only the versions a version grant reaches', async () => {
    const v = versions[3]!;
    const a = artifacts.find((x) => x.id === v.artifactId)!;
    const p = projects.find((x) => x.id === a.projectId)!;
    const r = await h.app.inject({ method: 'GET', url: `/v1/projects/${p.name}/artifacts/${encodeURIComponent(a.name)}`, headers: bearer(tokens.alice!) });
    assert.equal(r.statusCode, 200, r.body);
    assert.deepEqual(r.json<{ versions: { number: number }[] }>().versions.map((x) => x.number), [v.number]);
  });

  it('follows custom policies that name a project, and those that name none', async () => {
    const other = projects[2]!;
    const applied = await h.app.inject({
      method: 'POST',
      url: '/v1/policy/apply',
      headers: bearer(h.adminToken),
      payload: { sources: [{ name: 'p.cedar', text: `@id("everyone-reads-other")\npermit (principal, action == Coffer::Action::"read-metadata", resource in Coffer::Project::"${other.id}");\n` }] },
    });
    assert.equal(applied.statusCode, 200, applied.body);
    for (const name of ['alice', 'dave']) await check(name);
    assert.deepEqual((await expected(tokens.dave!)).projects, ['other']);
    const broad = await h.app.inject({
      method: 'POST',
      url: '/v1/policy/apply',
      headers: bearer(h.adminToken),
      payload: { sources: [{ name: 'b.cedar', text: '@id("public-is-public")\npermit (principal, action == Coffer::Action::"read-metadata", resource is Coffer::Artifact) when { resource.tier == "public" };\n' }] },
    });
    assert.equal(broad.statusCode, 200, broad.body);
    for (const name of ['alice', 'dave']) await check(name);
    assert.equal((await expected(tokens.dave!)).artifacts.get('big')!.length, 30);
  });
});
