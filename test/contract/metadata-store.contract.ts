import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { isCofferError } from '../../src/domain/errors.js';
import { newId } from '../../src/domain/ids.js';
import type { ApiToken, Artifact, ArtifactVersion, Grant, Principal, Project } from '../../src/domain/types.js';
import type { MetadataStore, StoredAuditRecord } from '../../src/store/metadata-store.js';

/** What a MetadataStore adapter test hands to the contract suite. */
export interface MetadataStoreHarness {
  /** A migrated, empty store. */
  store: MetadataStore;
  /**
   * Opens another handle on the same database, as a second process would. Adapters
   * whose second in-process handle cannot run concurrently (SQLite: a busy writer
   * blocks the thread) leave it out and test across processes on their own.
   */
  openPeer?: () => Promise<MetadataStore>;
  /** Closes the store and removes the database. */
  cleanup(): Promise<void>;
}

/** The genesis `prevHash` the test records start from. */
export const GENESIS = '0'.repeat(64);

/** A test audit record chained to `prev` (hash = SHA-256(body || prevHash), as audit/ does). */
export function chained(prev: StoredAuditRecord | null, body: string): StoredAuditRecord {
  const prevHash = prev?.hash ?? GENESIS;
  const hash = createHash('sha256').update(body).update(prevHash).digest('hex');
  return { seq: (prev?.seq ?? 0) + 1, body, prevHash, hash };
}

/** Builds `n` records continuing `tail`. */
export function chainOf(tail: StoredAuditRecord | null, n: number, label: string): StoredAuditRecord[] {
  const out: StoredAuditRecord[] = [];
  let prev = tail;
  for (let i = 0; i < n; i++) {
    prev = chained(prev, JSON.stringify({ label, i }));
    out.push(prev);
  }
  return out;
}

/** Asserts the whole stored log is one contiguous, correctly linked chain; returns its length. */
export async function assertChainIntact(store: MetadataStore): Promise<number> {
  let prev: StoredAuditRecord | null = null;
  let n = 0;
  for await (const r of store.iterateAudit()) {
    const expected = chained(prev, r.body);
    assert.deepEqual(r, expected, `record ${r.seq} does not continue the chain`);
    prev = r;
    n++;
  }
  return n;
}

/** The behaviour every MetadataStore adapter must have. */
export function runMetadataStoreContract(adapterName: string, open: () => Promise<MetadataStoreHarness>): void {
  describe(`MetadataStore contract: ${adapterName}`, () => {
    let h: MetadataStoreHarness;
    let store: MetadataStore;
    before(async () => {
      h = await open();
      store = h.store;
    });
    after(async () => {
      await h.cleanup();
    });

    const now = 1_700_000_000_000;
    let seqNo = 0;
    const uniq = (p: string) => `${p}${(++seqNo).toString().padStart(4, '0')}`;
    const principal = (over: Partial<Principal> = {}): Principal => ({
      id: newId('prn'),
      kind: 'user',
      name: uniq('user-'),
      displayName: 'A User',
      ownerId: null,
      disabled: false,
      createdAt: now,
      ...over,
    });
    const project = (over: Partial<Project> = {}): Project => ({
      id: newId('prj'),
      name: uniq('proj-'),
      description: 'a project',
      createdBy: 'prn_admin',
      createdAt: now,
      ...over,
    });
    const artifact = (projectId: string, over: Partial<Artifact> = {}): Artifact => ({
      id: newId('art'),
      projectId,
      name: uniq('models/net-'),
      kind: 'model',
      tier: 'confidential',
      environment: 'prod',
      ownerId: 'prn_owner',
      labels: { team: 'vision', 'é': 'ü "quoted"' },
      createdAt: now,
      ...over,
    });
    const version = (artifactId: string, number: number, over: Partial<ArtifactVersion> = {}): ArtifactVersion => ({
      id: newId('ver'),
      artifactId,
      number,
      sha256: 'ab'.repeat(32),
      size: 5 * 2 ** 40,
      mediaType: 'application/octet-stream',
      createdBy: 'prn_owner',
      createdAt: now + number,
      blobKey: `objects/${newId('blob').toLowerCase()}`,
      wrappedKey: new Uint8Array([0, 1, 2, 255, 0, 128]),
      keyTerm: 1,
      // a new version has no gate verdict yet (it waits for its scan)
      scan: null,
      ...over,
    });
    const token = (principalId: string, over: Partial<ApiToken> = {}): ApiToken => ({
      id: newId('tok'),
      principalId,
      hash: createHash('sha256').update(uniq('secret')).digest('hex'),
      hint: 'cfr_…abcd',
      description: 'ci',
      createdAt: now,
      expiresAt: now + 86_400_000,
      revokedAt: null,
      lastUsedAt: null,
      ...over,
    });
    const grant = (principalId: string, over: Partial<Grant> = {}): Grant => ({
      id: newId('grt'),
      principalId,
      role: 'reader',
      scopeKind: 'project',
      scopeId: 'prj_x',
      createdBy: 'prn_admin',
      createdAt: now,
      expiresAt: null,
      ...over,
    });

    describe('lifecycle', () => {
      test('migrate is idempotent and ping answers', async () => {
        await store.migrate();
        await store.migrate();
        await store.ping();
      });
    });

    describe('settings', () => {
      test('get, put, overwrite and delete binary values', async () => {
        assert.equal(await store.getSetting('k1'), null);
        const v1 = new Uint8Array([0, 255, 1, 0, 7]);
        assert.equal(await store.putSetting('k1', v1), true);
        assert.deepEqual(await store.getSetting('k1'), v1);
        const v2 = new Uint8Array(4096).fill(9);
        assert.equal(await store.putSetting('k1', v2), true);
        assert.deepEqual(await store.getSetting('k1'), v2);
        await store.deleteSetting('k1');
        assert.equal(await store.getSetting('k1'), null);
        await store.deleteSetting('k1');
      });

      test('put with expected is a compare-and-set', async () => {
        const a = new Uint8Array([1, 2, 3]);
        const b = new Uint8Array([4, 5, 6]);
        assert.equal(await store.putSetting('cas', a, null), true, 'absent: insert');
        assert.equal(await store.putSetting('cas', b, null), false, 'present: expected absent fails');
        assert.deepEqual(await store.getSetting('cas'), a);
        assert.equal(await store.putSetting('cas', b, new Uint8Array([1, 2, 4])), false, 'mismatch fails');
        assert.equal(await store.putSetting('cas', b, new Uint8Array([1, 2])), false, 'prefix is not equal');
        assert.deepEqual(await store.getSetting('cas'), a);
        assert.equal(await store.putSetting('cas', b, a), true, 'match swaps');
        assert.deepEqual(await store.getSetting('cas'), b);
        assert.equal(await store.putSetting('cas-missing', a, a), false, 'absent with expected value fails');
        assert.equal(await store.getSetting('cas-missing'), null);
      });

      test('concurrent compare-and-set: exactly one writer wins', async () => {
        const start = new Uint8Array([0]);
        await store.putSetting('cas-race', start);
        const peer = h.openPeer ? await h.openPeer() : store;
        try {
          const results = await Promise.all(
            Array.from({ length: 8 }, (_, i) => (i % 2 ? peer : store).putSetting('cas-race', new Uint8Array([i + 1]), start)),
          );
          assert.equal(results.filter(Boolean).length, 1);
        } finally {
          if (peer !== store) await peer.close();
        }
      });
    });

    describe('principals and memberships', () => {
      test('create, get by id and by name, round-trip every field', async () => {
        const owner = principal();
        const sa = principal({ kind: 'service-account', ownerId: owner.id, disabled: true, displayName: 'CI bot ✓' });
        await store.createPrincipal(owner);
        await store.createPrincipal(sa);
        assert.deepEqual(await store.getPrincipal(sa.id), sa);
        assert.deepEqual(await store.getPrincipalByName(owner.name), owner);
        assert.equal(await store.getPrincipal('prn_missing'), null);
        assert.equal(await store.getPrincipalByName('nobody-here'), null);
      });

      test('duplicate names or ids are AlreadyExistsError', async () => {
        const p = principal();
        await store.createPrincipal(p);
        await assert.rejects(store.createPrincipal(principal({ name: p.name })), code('COFFER_ALREADY_EXISTS'));
        await assert.rejects(store.createPrincipal(principal({ id: p.id })), code('COFFER_ALREADY_EXISTS'));
      });

      test('disable and enable; unknown id is NotFoundError', async () => {
        const p = principal();
        await store.createPrincipal(p);
        await store.setPrincipalDisabled(p.id, true);
        assert.equal((await store.getPrincipal(p.id))?.disabled, true);
        await store.setPrincipalDisabled(p.id, true);
        await store.setPrincipalDisabled(p.id, false);
        assert.equal((await store.getPrincipal(p.id))?.disabled, false);
        await assert.rejects(store.setPrincipalDisabled('prn_missing', true), code('COFFER_NOT_FOUND'));
      });

      test('count follows creations', async () => {
        const before = await store.countPrincipals();
        await store.createPrincipal(principal());
        await store.createPrincipal(principal());
        assert.equal(await store.countPrincipals(), before + 2);
      });

      test('list pages through all principals by name, bytewise, with a kind filter', async () => {
        const names = ['zz-b', 'zz.a', 'zz0', 'zz_c', 'zz-a', 'zza', 'zzz'];
        for (const [i, name] of names.entries()) {
          await store.createPrincipal(principal({ name, kind: i % 2 ? 'group' : 'user' }));
        }
        const seen: Principal[] = [];
        let cursor: string | null = null;
        let pages = 0;
        do {
          const page = await store.listPrincipals({ limit: 3, cursor });
          assert.ok(page.items.length <= 3);
          seen.push(...page.items);
          cursor = page.next;
          pages++;
        } while (cursor !== null && pages < 100);
        const all = seen.map((p) => p.name);
        assert.deepEqual(all, [...all].sort(bytewise), 'ordered by name');
        assert.equal(new Set(all).size, all.length, 'no duplicates across pages');
        assert.equal(all.length, await store.countPrincipals(), 'every principal listed once');
        const zz = all.filter((n) => n.startsWith('zz'));
        assert.deepEqual(zz, [...names].sort(bytewise));

        const groups: string[] = [];
        cursor = null;
        do {
          const page = await store.listPrincipals({ kind: 'group', limit: 2, cursor });
          assert.ok(page.items.every((p) => p.kind === 'group'));
          groups.push(...page.items.map((p) => p.name));
          cursor = page.next;
        } while (cursor !== null);
        assert.deepEqual(groups.filter((n) => n.startsWith('zz')), names.filter((_, i) => i % 2).sort(bytewise));
      });

      test('a page of exactly the remaining items has no next cursor', async () => {
        const total = await store.countPrincipals();
        const page = await store.listPrincipals({ limit: total });
        assert.equal(page.items.length, total);
        assert.equal(page.next, null);
        const full = await store.listPrincipals({ limit: total - 1 });
        assert.equal(full.items.length, total - 1);
        assert.notEqual(full.next, null);
      });

      test('bad cursors and limits are ValidationError', async () => {
        await assert.rejects(store.listPrincipals({ cursor: 'not a cursor!' }), code('COFFER_VALIDATION_FAILED'));
        await assert.rejects(store.listPrincipals({ cursor: Buffer.from('{"k":5}').toString('base64url') }), code('COFFER_VALIDATION_FAILED'));
        await assert.rejects(store.listVersions('art_x', { cursor: Buffer.from('{"k":"a"}').toString('base64url') }), code('COFFER_VALIDATION_FAILED'));
        await assert.rejects(store.listProjects({ limit: 0 }), code('COFFER_VALIDATION_FAILED'));
        await assert.rejects(store.listProjects({ limit: 1.5 }), code('COFFER_VALIDATION_FAILED'));
        const capped = await store.listPrincipals({ limit: 1_000_000 });
        assert.ok(capped.items.length <= 1000);
      });

      test('memberships: idempotent add, both directions, remove', async () => {
        const g1 = principal({ kind: 'group' });
        const g2 = principal({ kind: 'group' });
        const u = principal();
        const v = principal();
        for (const p of [g1, g2, u, v]) await store.createPrincipal(p);
        await store.addMember(g1.id, u.id);
        await store.addMember(g1.id, u.id);
        await store.addMember(g2.id, u.id);
        await store.addMember(g1.id, v.id);
        assert.deepEqual(await store.listGroupsOf(u.id), [g1.id, g2.id].sort());
        assert.deepEqual(await store.listMembers(g1.id), [u.id, v.id].sort());
        await store.removeMember(g1.id, u.id);
        await store.removeMember(g1.id, u.id);
        assert.deepEqual(await store.listGroupsOf(u.id), [g2.id]);
        assert.deepEqual(await store.listMembers(g1.id), [v.id]);
        assert.deepEqual(await store.listGroupsOf('prn_missing'), []);
        await assert.rejects(store.addMember(g1.id, 'prn_missing'), code('COFFER_NOT_FOUND'));
        await assert.rejects(store.addMember('prn_missing', u.id), code('COFFER_NOT_FOUND'));
      });
    });

    describe('tokens', () => {
      test('create, find by hash, list, touch and revoke', async () => {
        const p = principal();
        await store.createPrincipal(p);
        const t1 = token(p.id);
        const t2 = token(p.id, { createdAt: now + 1, expiresAt: null });
        await store.createToken(t1);
        await store.createToken(t2);
        assert.deepEqual(await store.getTokenByHash(t1.hash), t1);
        assert.equal(await store.getTokenByHash('00'.repeat(32)), null);
        assert.deepEqual(await store.listTokens(p.id), [t1, t2]);
        await store.touchToken(t1.id, now + 5);
        assert.equal((await store.getTokenByHash(t1.hash))?.lastUsedAt, now + 5);
        await store.touchToken('tok_missing', now);
        await store.revokeToken(t1.id, now + 10);
        await store.revokeToken(t1.id, now + 20);
        assert.equal((await store.getTokenByHash(t1.hash))?.revokedAt, now + 10, 'first revocation time is kept');
        await assert.rejects(store.revokeToken('tok_missing', now), code('COFFER_NOT_FOUND'));
      });

      test('duplicate hash is AlreadyExistsError; unknown principal is NotFoundError', async () => {
        const p = principal();
        await store.createPrincipal(p);
        const t = token(p.id);
        await store.createToken(t);
        await assert.rejects(store.createToken(token(p.id, { hash: t.hash })), code('COFFER_ALREADY_EXISTS'));
        await assert.rejects(store.createToken(token('prn_missing')), code('COFFER_NOT_FOUND'));
      });
    });

    describe('projects and artifacts', () => {
      test('projects: create, get, get by name, duplicates', async () => {
        const p = project();
        await store.createProject(p);
        assert.deepEqual(await store.getProject(p.id), p);
        assert.deepEqual(await store.getProjectByName(p.name), p);
        assert.equal(await store.getProject('prj_missing'), null);
        await assert.rejects(store.createProject(project({ name: p.name })), code('COFFER_ALREADY_EXISTS'));
      });

      test('projects: list pages by name', async () => {
        for (let i = 0; i < 5; i++) await store.createProject(project());
        const names: string[] = [];
        let cursor: string | null = null;
        do {
          const page = await store.listProjects({ limit: 2, cursor });
          names.push(...page.items.map((p) => p.name));
          cursor = page.next;
        } while (cursor !== null);
        assert.ok(names.length >= 6);
        assert.deepEqual(names, [...names].sort(bytewise));
        assert.equal(new Set(names).size, names.length);
      });

      test('artifacts: round-trip with labels, unique per project, unknown project', async () => {
        const p1 = project();
        const p2 = project();
        await store.createProject(p1);
        await store.createProject(p2);
        const a = artifact(p1.id, { name: 'models/resnet' });
        await store.createArtifact(a);
        assert.deepEqual(await store.getArtifact(a.id), a);
        assert.deepEqual(await store.getArtifactByName(p1.id, 'models/resnet'), a);
        assert.equal(await store.getArtifactByName(p2.id, 'models/resnet'), null);
        await store.createArtifact(artifact(p2.id, { name: 'models/resnet' }));
        await assert.rejects(store.createArtifact(artifact(p1.id, { name: 'models/resnet' })), code('COFFER_ALREADY_EXISTS'));
        await assert.rejects(store.createArtifact(artifact('prj_missing')), code('COFFER_NOT_FOUND'));
      });

      test('artifacts: list is per project and pages by name bytewise', async () => {
        const p = project();
        const other = project();
        await store.createProject(p);
        await store.createProject(other);
        const names = ['b/x', 'B', 'a', 'a/b', 'a-b', 'Z9', 'data/train.csv'];
        for (const name of names) await store.createArtifact(artifact(p.id, { name }));
        await store.createArtifact(artifact(other.id, { name: 'a' }));
        const listed: Artifact[] = [];
        let cursor: string | null = null;
        do {
          const page = await store.listArtifacts(p.id, { limit: 3, cursor });
          listed.push(...page.items);
          cursor = page.next;
        } while (cursor !== null);
        assert.deepEqual(listed.map((a) => a.name), [...names].sort(bytewise));
        assert.ok(listed.every((a) => a.projectId === p.id));
        assert.deepEqual((await store.listArtifacts('prj_missing')).items, []);
      });
    });

    describe('versions', () => {
      let art: Artifact;
      before(async () => {
        const p = project();
        await store.createProject(p);
        art = artifact(p.id);
        await store.createArtifact(art);
      });

      test('numbers must be consecutive from 1; fields round-trip', async () => {
        assert.equal(await store.latestVersionNumber(art.id), 0);
        await assert.rejects(store.createVersion(version(art.id, 2)), code('COFFER_CONFLICT'));
        const v1 = version(art.id, 1);
        await store.createVersion(v1);
        assert.deepEqual(await store.getVersion(v1.id), v1);
        assert.deepEqual(await store.getVersionByNumber(art.id, 1), v1);
        await assert.rejects(store.createVersion(version(art.id, 1)), code('COFFER_CONFLICT'));
        await assert.rejects(store.createVersion(version(art.id, 3)), code('COFFER_CONFLICT'));
        await assert.rejects(store.createVersion(version(art.id, 0)), code('COFFER_VALIDATION_FAILED'));
        await assert.rejects(store.createVersion({ ...version(art.id, 2), id: v1.id }), code('COFFER_ALREADY_EXISTS'));
        const v2 = version(art.id, 2, { wrappedKey: null, size: 0 });
        await store.createVersion(v2);
        assert.deepEqual(await store.getVersion(v2.id), v2);
        assert.equal(await store.latestVersionNumber(art.id), 2);
        assert.equal(await store.getVersionByNumber(art.id, 3), null);
        assert.equal(await store.getVersion('ver_missing'), null);
        await assert.rejects(store.createVersion(version('art_missing', 1)), code('COFFER_NOT_FOUND'));
      });

      test('gate verdicts: a queue of versions without one, leased, written once', async () => {
        const a = await store.getArtifact(art.id);
        assert.ok(a);
        const start = (await store.latestVersionNumber(art.id)) + 1;
        const vs = [version(art.id, start), version(art.id, start + 1)];
        for (const v of vs) await store.createVersion(v);
        const t0 = now + 10_000_000;
        const claimed = await store.claimVersionsToScan(t0, 60_000, 1000);
        const mine = claimed.filter((v) => vs.some((w) => w.id === v.id));
        assert.equal(mine.length, 2, 'both wait for their scan');
        assert.deepEqual(await store.claimVersionsToScan(t0 + 1, 60_000, 1000), [], 'a live lease keeps others off');
        assert.equal(await store.claimVersionToScan(vs[0]!.id, t0 + 1, 60_000), null);
        const again = await store.claimVersionToScan(vs[0]!.id, t0 + 60_000, 60_000);
        assert.equal(again?.id, vs[0]!.id, 'a lapsed lease is taken over');
        const verdict = { state: 'flagged' as const, unsafeCode: true, secrets: false, pii: true, scannedAt: t0 + 5, exceptionRequestId: null };
        assert.equal(await store.recordVersionScan(vs[0]!.id, verdict, '{"format":"pickle"}'), true);
        assert.equal(await store.recordVersionScan(vs[0]!.id, { ...verdict, state: 'clean', unsafeCode: false, pii: false }, '{}'), false, 'written once');
        assert.deepEqual((await store.getVersion(vs[0]!.id))?.scan, verdict);
        assert.equal(await store.getVersionScanReport(vs[0]!.id), '{"format":"pickle"}');
        assert.equal(await store.getVersionScanReport(vs[1]!.id), null);
        assert.equal(await store.claimVersionToScan(vs[0]!.id, t0 + 10 ** 9, 60_000), null, 'a version with a verdict is not scanned again');
        assert.equal(await store.recordVersionScan('ver_missing', verdict, '{}'), false);
      });

      test('list pages by number', async () => {
        for (let n = (await store.latestVersionNumber(art.id)) + 1; n <= 12; n++) await store.createVersion(version(art.id, n));
        const numbers: number[] = [];
        let cursor: string | null = null;
        do {
          const page = await store.listVersions(art.id, { limit: 5, cursor });
          numbers.push(...page.items.map((v) => v.number));
          cursor = page.next;
        } while (cursor !== null);
        assert.deepEqual(numbers, Array.from({ length: 12 }, (_, i) => i + 1), 'numeric, not lexical, order');
      });

      test('blob keys are found', async () => {
        const v = await store.getVersionByNumber(art.id, 1);
        assert.ok(v);
        assert.equal(await store.hasBlobKey(v.blobKey), true);
        assert.equal(await store.hasBlobKey('objects/none'), false);
      });

      test('rewrap: list versions under other terms, compare-and-set the key, skip shredded ones', async () => {
        const p = project();
        await store.createProject(p);
        const a = artifact(p.id);
        await store.createArtifact(a);
        const v1 = version(a.id, 1, { keyTerm: 7 });
        const v2 = version(a.id, 2, { keyTerm: 8 });
        const v3 = version(a.id, 3, { keyTerm: 7, wrappedKey: null });
        for (const v of [v1, v2, v3]) await store.createVersion(v);
        const stale = (await store.listVersionsNotUnderTerm(8, 1000)).filter((v) => v.artifactId === a.id);
        assert.deepEqual(stale.map((v) => v.id), [v1.id], 'current-term and shredded versions are not listed');
        const limited = await store.listVersionsNotUnderTerm(8, 1);
        assert.equal(limited.length, 1);
        const newKey = new Uint8Array([9, 9, 9]);
        assert.equal(await store.rewrapVersionKey(v1.id, 6, newKey, 8), false, 'stale expected term');
        assert.equal(await store.rewrapVersionKey(v1.id, 7, newKey, 8), true);
        assert.equal(await store.rewrapVersionKey(v1.id, 7, newKey, 8), false, 'already rewrapped');
        const after = await store.getVersion(v1.id);
        assert.deepEqual(after?.wrappedKey, newKey);
        assert.equal(after?.keyTerm, 8);
        assert.equal(await store.rewrapVersionKey(v3.id, 7, newKey, 8), false, 'a shredded key stays shredded');
        assert.equal((await store.getVersion(v3.id))?.wrappedKey, null);
        assert.deepEqual((await store.listVersionsNotUnderTerm(8, 1000)).filter((v) => v.artifactId === a.id), []);
      });

      test('rewrap listing pages with a cursor: by id, strictly after the cursor, at most limit', async () => {
        const p = project();
        await store.createProject(p);
        const a = artifact(p.id);
        await store.createArtifact(a);
        const mine: ArtifactVersion[] = [];
        for (let n = 1; n <= 7; n++) {
          // 3 is under the listed-away term, 5 is shredded: neither is listed
          const v = version(a.id, n, { keyTerm: n === 3 ? 31 : 30, wrappedKey: n === 5 ? null : new Uint8Array([n]) });
          await store.createVersion(v);
          mine.push(v);
        }
        const ids = (list: ArtifactVersion[]) => list.map((v) => v.id);
        const mineIds = new Set(ids(mine));
        // the listing spans every artifact: other tests' versions are in it too
        const all = ids(await store.listVersionsNotUnderTerm(31, 1000));
        assert.ok(all.length < 1000, 'one listing holds them all');
        assert.deepEqual(all, [...all].sort(), 'by id');
        assert.equal(new Set(all).size, all.length);
        const listedMine = all.filter((id) => mineIds.has(id));
        assert.deepEqual(listedMine, ids(mine.filter((v) => v.keyTerm === 30 && v.wrappedKey !== null)).sort());

        const paged: string[] = [];
        let after: string | null = null;
        for (let calls = 0; ; calls++) {
          assert.ok(calls <= all.length, 'the walk ends');
          const page = await store.listVersionsNotUnderTerm(31, 2, after);
          assert.ok(page.length <= 2, 'at most limit');
          if (page.length === 0) break;
          paged.push(...ids(page));
          after = page.at(-1)!.id;
        }
        assert.deepEqual(paged, all, 'walking with the last id as cursor lists every row once, in order');

        const first = listedMine[0]!;
        const at = all.indexOf(first);
        assert.deepEqual(ids(await store.listVersionsNotUnderTerm(31, 1000, first)), all.slice(at + 1), 'strictly after the cursor');
        assert.deepEqual(ids(await store.listVersionsNotUnderTerm(31, 1, first)), all.slice(at + 1, at + 2), 'at most limit after the cursor');
        for (const cursor of [mine[2]!.id, mine[4]!.id]) {
          assert.deepEqual(ids(await store.listVersionsNotUnderTerm(31, 1000, cursor)), all.filter((id) => id > cursor), 'a cursor needs not be a listed row');
        }
        const last = all.at(-1);
        assert.ok(last !== undefined);
        assert.deepEqual(await store.listVersionsNotUnderTerm(31, 1000, last), [], 'nothing after the last');
        assert.deepEqual(ids(await store.listVersionsNotUnderTerm(31, 1000, null)), all, 'a null cursor is the start');
      });

      test('concurrent creation of the same number: exactly one wins, the others get ConflictError', async () => {
        const p = project();
        await store.createProject(p);
        const a = artifact(p.id);
        await store.createArtifact(a);
        await store.createVersion(version(a.id, 1));
        const peer = h.openPeer ? await h.openPeer() : store;
        try {
          for (let round = 2; round <= 4; round++) {
            const results = await Promise.allSettled(
              Array.from({ length: 6 }, (_, i) => (i % 2 ? peer : store).createVersion(version(a.id, round))),
            );
            const won = results.filter((r) => r.status === 'fulfilled').length;
            assert.equal(won, 1, `round ${round}: exactly one insert wins`);
            for (const r of results) if (r.status === 'rejected') assert.equal(errCode(r.reason), 'COFFER_CONFLICT', String(r.reason));
          }
          assert.equal(await store.latestVersionNumber(a.id), 4);
          assert.equal((await store.listVersions(a.id)).items.length, 4);
        } finally {
          if (peer !== store) await peer.close();
        }
      });
    });

    describe('grants', () => {
      test('create, get, list by principals and scope, delete', async () => {
        const u = principal();
        const g = principal({ kind: 'group' });
        const other = principal();
        for (const p of [u, g, other]) await store.createPrincipal(p);
        const scopeId = newId('prj');
        const g1 = grant(u.id, { scopeId, role: 'writer', expiresAt: now + 1000 });
        const g2 = grant(g.id, { scopeId });
        const g3 = grant(other.id, { scopeKind: 'artifact', scopeId: 'art_1', role: 'owner' });
        for (const x of [g1, g2, g3]) await store.createGrant(x);
        assert.deepEqual(await store.getGrant(g1.id), g1);
        assert.equal(await store.getGrant('grt_missing'), null);
        assert.deepEqual(sortById(await store.listGrantsForPrincipals([u.id, g.id])), sortById([g1, g2]));
        assert.deepEqual(sortById(await store.listGrantsForPrincipals([u.id, u.id])), [g1]);
        assert.deepEqual(await store.listGrantsForPrincipals([]), []);
        assert.deepEqual(sortById(await store.listGrantsOnScope('project', scopeId)), sortById([g1, g2]));
        assert.deepEqual(await store.listGrantsOnScope('artifact', scopeId), []);
        const all = await store.listAllGrants();
        for (const x of [g1, g2, g3]) assert.ok(all.some((y) => y.id === x.id));
        await store.deleteGrant(g1.id);
        assert.equal(await store.getGrant(g1.id), null);
        await assert.rejects(store.deleteGrant(g1.id), code('COFFER_NOT_FOUND'));
        assert.deepEqual(await store.listGrantsForPrincipals([u.id]), []);
      });

      test('unknown principal is NotFoundError; duplicate id is AlreadyExistsError', async () => {
        const u = principal();
        await store.createPrincipal(u);
        const g = grant(u.id);
        await store.createGrant(g);
        await assert.rejects(store.createGrant(grant('prn_missing')), code('COFFER_NOT_FOUND'));
        await assert.rejects(store.createGrant({ ...grant(u.id), id: g.id }), code('COFFER_ALREADY_EXISTS'));
      });
    });

    describe('audit log', () => {
      test('an empty log has no tail and yields nothing', async () => {
        assert.equal(await store.lastAudit(), null);
        assert.deepEqual(await collect(store.iterateAudit()), []);
      });

      test('append gives build the current tail and stores what it returns', async () => {
        const seen: (StoredAuditRecord | null)[] = [];
        await store.appendAudit((tail) => {
          seen.push(tail);
          return [chained(tail, '{"first":true}')];
        });
        assert.equal(seen.length, 1);
        assert.equal(seen[0], null);
        const first = await store.lastAudit();
        assert.deepEqual(first, chained(null, '{"first":true}'));
        await store.appendAudit((tail) => {
          seen.push(tail);
          return chainOf(tail, 3, 'batch');
        });
        assert.deepEqual(seen[1], first);
        assert.equal((await store.lastAudit())?.seq, 4);
        await store.appendAudit(() => []);
        assert.equal((await store.lastAudit())?.seq, 4);
        assert.equal(await assertChainIntact(store), 4);
      });

      test('records that do not continue the chain are refused and nothing is written', async () => {
        const tail = await store.lastAudit();
        const good = chainOf(tail, 2, 'x');
        const gap = [{ ...good[0]!, seq: good[0]!.seq + 1 }];
        const fork = [{ ...good[0]!, prevHash: 'f'.repeat(64) }];
        const innerGap = [good[0]!, { ...good[1]!, seq: good[1]!.seq + 5 }];
        const innerFork = [good[0]!, { ...good[1]!, prevHash: GENESIS }];
        const replay = tail ? [tail] : [];
        for (const bad of [gap, fork, innerGap, innerFork, replay]) {
          await assert.rejects(store.appendAudit(() => bad), code('COFFER_CONFLICT'));
        }
        assert.deepEqual(await store.lastAudit(), tail);
      });

      test('an exception in build rolls back and propagates', async () => {
        const tail = await store.lastAudit();
        const boom = new Error('builder failed');
        await assert.rejects(store.appendAudit(() => {
          throw boom;
        }), (err: unknown) => err === boom || (isCofferError(err) && err.cause === boom));
        assert.deepEqual(await store.lastAudit(), tail);
        await store.appendAudit((t) => chainOf(t, 1, 'after-failure'));
        assert.equal((await store.lastAudit())?.seq, (tail?.seq ?? 0) + 1);
      });

      test('iterate pages through large logs in order, from any seq', async () => {
        const tail = await store.lastAudit();
        await store.appendAudit((t) => chainOf(t, 2500, 'bulk'));
        const total = (tail?.seq ?? 0) + 2500;
        let expected = 1;
        for await (const r of store.iterateAudit()) assert.equal(r.seq, expected++);
        assert.equal(expected - 1, total);
        const from = await collect(store.iterateAudit(total - 1200));
        assert.deepEqual(from.map((r) => r.seq), Array.from({ length: 1201 }, (_, i) => total - 1200 + i));
        assert.deepEqual(await collect(store.iterateAudit(total + 1)), []);
        assert.equal(await assertChainIntact(store), total);
      });

      test('concurrent appenders never fork or leave a gap', async () => {
        const before = (await store.lastAudit())?.seq ?? 0;
        const peer = h.openPeer ? await h.openPeer() : store;
        try {
          const writers = Array.from({ length: 24 }, (_, i) =>
            (i % 2 ? peer : store).appendAudit((tail) => chainOf(tail, 1 + (i % 3), `writer-${i}`)),
          );
          await Promise.all(writers);
        } finally {
          if (peer !== store) await peer.close();
        }
        const expectedAdded = Array.from({ length: 24 }, (_, i) => 1 + (i % 3)).reduce((a, b) => a + b, 0);
        assert.equal((await store.lastAudit())?.seq, before + expectedAdded);
        assert.equal(await assertChainIntact(store), before + expectedAdded);
      });

      test('checkpoints are stored once per seq and listed in order', async () => {
        await store.putAuditCheckpoint({ seq: 20, hash: 'b'.repeat(64), signature: 'sig-20', createdAt: now + 20 });
        await store.putAuditCheckpoint({ seq: 10, hash: 'a'.repeat(64), signature: 'sig-10', createdAt: now + 10 });
        await assert.rejects(
          store.putAuditCheckpoint({ seq: 10, hash: 'c'.repeat(64), signature: 'other', createdAt: now }),
          code('COFFER_ALREADY_EXISTS'),
        );
        assert.deepEqual(await store.listAuditCheckpoints(), [
          { seq: 10, hash: 'a'.repeat(64), signature: 'sig-10', createdAt: now + 10 },
          { seq: 20, hash: 'b'.repeat(64), signature: 'sig-20', createdAt: now + 20 },
        ]);
      });
    });

    describe('after close', () => {
      test('operations reject with a catalog StorageError and close is idempotent', async () => {
        await store.close();
        await store.close();
        await assert.rejects(store.getSetting('x'), code('COFFER_STORAGE_FAILED'));
        await assert.rejects(store.appendAudit((t) => chainOf(t, 1, 'closed')), code('COFFER_STORAGE_FAILED'));
      });
    });
  });
}

function bytewise(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

function sortById<T extends { id: string }>(xs: T[]): T[] {
  return [...xs].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

function errCode(err: unknown): string | undefined {
  return isCofferError(err) ? err.code : undefined;
}

function code(expected: string) {
  return (err: unknown) => {
    assert.equal(errCode(err), expected, `expected ${expected}, got ${String(err)}`);
    return true;
  };
}
