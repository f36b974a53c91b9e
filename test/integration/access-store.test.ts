/**
 * Contract of the AccessStore port, run against SQLite and PostgreSQL (when
 * COFFER_TEST_PG_URL is set): state changes are compare-and-set, approvals count
 * distinct approvers, exactly one final approval creates a grant, exactly one download
 * takes the last allowed use, even with two store instances racing.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import type { AccessRequestRecord, Promotion, ShareLink } from '../../src/access/access-types.js';
import { AccessRequestClosedError, AlreadyExistsError, ConflictError } from '../../src/domain/errors.js';
import { newId } from '../../src/domain/ids.js';
import type { Grant, Principal } from '../../src/domain/types.js';
import { openPostgresStore } from '../../src/store/postgres/open-postgres-store.js';
import { SqlAccessStore } from '../../src/store/sql/access-sql-store.js';
import type { SqlMetadataStore } from '../../src/store/sql/sql-metadata-store.js';
import { openSqliteStore } from '../../src/store/sqlite/open-sqlite-store.js';

interface Backend {
  core: SqlMetadataStore;
  store: SqlAccessStore;
  /** A second store on the same database (another connection where the driver allows it). */
  peer: SqlAccessStore;
  cleanup: () => Promise<void>;
}

const T0 = 1_700_000_000_000;

function principal(name: string): Principal {
  return { id: newId('prn'), kind: 'user', name: `${name}-${randomBytes(3).toString('hex')}`, displayName: name, ownerId: null, disabled: false, createdAt: T0 };
}

function request(requesterId: string, over: Partial<AccessRequestRecord> = {}): AccessRequestRecord {
  return {
    id: newId('req'),
    kind: 'grant',
    requesterId,
    role: 'reader',
    scopeKind: 'artifact',
    scopeId: newId('art'),
    projectId: newId('prj'),
    tier: 'restricted',
    durationMs: 7_200_000,
    justification: 'retrain',
    ticket: null,
    approvalsRequired: 1,
    status: 'pending',
    createdAt: T0,
    deadline: T0 + 3_600_000,
    decidedAt: null,
    decidedBy: null,
    reason: null,
    grantId: null,
    endsAt: null,
    target: null,
    expiryNotedAt: null,
    review: null,
    ...over,
  };
}

function grantFor(r: AccessRequestRecord, at: number): Grant {
  return { id: newId('grt'), principalId: r.requesterId, role: r.role!, scopeKind: r.scopeKind, scopeId: r.scopeId, createdBy: 'x', createdAt: at, expiresAt: at + r.durationMs };
}

function link(createdBy: string, over: Partial<ShareLink> = {}): ShareLink {
  return {
    id: newId('shl'),
    tokenHash: randomBytes(32).toString('hex'),
    hint: 'coffer_share_…abcd',
    projectId: newId('prj'),
    artifactId: newId('art'),
    versionId: newId('ver'),
    createdBy,
    createdAt: T0,
    ttlMs: 3_600_000,
    expiresAt: T0 + 3_600_000,
    maxDownloads: null,
    downloads: 0,
    cidrs: [],
    status: 'active',
    requestId: null,
    revokedAt: null,
    revokedBy: null,
    lastUsedAt: null,
    ...over,
  };
}

function contract(name: string, open: () => Promise<Backend>): void {
  void describe(`AccessStore contract: ${name}`, () => {
    let b: Backend;
    let alice: Principal;
    let bob: Principal;
    let carol: Principal;
    before(async () => {
      b = await open();
      alice = principal('alice');
      bob = principal('bob');
      carol = principal('carol');
      for (const p of [alice, bob, carol]) await b.core.createPrincipal(p);
    });
    after(async () => b.cleanup());

    void it('stores and lists requests', async () => {
      const r = request(alice.id, { ticket: 'OPS-1' });
      await b.store.createRequest(r);
      assert.deepEqual(await b.store.getRequest(r.id), r);
      assert.equal(await b.store.getRequest('req_missing'), null);
      const mine = await b.store.listRequests({ requesterId: alice.id });
      assert.ok(mine.some((x) => x.id === r.id));
      assert.ok((await b.store.listRequests({ requesterId: bob.id })).every((x) => x.requesterId === bob.id));
      await assert.rejects(b.store.createRequest(r), AlreadyExistsError);
    });

    void it('approves 1-of-1 at once and creates the grant in the same transaction', async () => {
      const r = request(alice.id);
      await b.store.createRequest(r);
      const g = grantFor(r, T0 + 10);
      const result = await b.store.approve({ requestId: r.id, approverId: bob.id, createdAt: T0 + 10, comment: 'ok' }, T0 + 10, { grant: g, endsAt: g.expiresAt! });
      assert.equal(result.final, true);
      assert.equal(result.approvals, 1);
      assert.equal(result.request.status, 'approved');
      assert.deepEqual(await b.core.getGrant(g.id), g);
      const stored = await b.store.getRequest(r.id);
      assert.equal(stored?.status, 'approved');
      assert.equal(stored?.grantId, g.id);
      assert.equal(stored?.endsAt, T0 + 10 + r.durationMs);
      assert.equal(stored?.decidedBy, bob.id);
      // already decided: a further approval is refused and creates nothing
      const g2 = grantFor(r, T0 + 20);
      await assert.rejects(b.store.approve({ requestId: r.id, approverId: carol.id, createdAt: T0 + 20, comment: '' }, T0 + 20, { grant: g2, endsAt: 1 }), AccessRequestClosedError);
      assert.equal(await b.core.getGrant(g2.id), null);
    });

    void it('counts distinct approvers for N-of-M and refuses a second approval by the same person', async () => {
      const r = request(alice.id, { approvalsRequired: 2 });
      await b.store.createRequest(r);
      const g = grantFor(r, T0 + 30);
      const first = await b.store.approve({ requestId: r.id, approverId: bob.id, createdAt: T0 + 30, comment: '' }, T0 + 30, { grant: g, endsAt: g.expiresAt! });
      assert.equal(first.final, false);
      assert.equal(await b.core.getGrant(g.id), null);
      await assert.rejects(b.store.approve({ requestId: r.id, approverId: bob.id, createdAt: T0 + 31, comment: '' }, T0 + 31, { grant: g, endsAt: g.expiresAt! }), AlreadyExistsError);
      const second = await b.store.approve({ requestId: r.id, approverId: carol.id, createdAt: T0 + 32, comment: '' }, T0 + 32, { grant: g, endsAt: g.expiresAt! });
      assert.equal(second.final, true);
      assert.equal(second.approvals, 2);
      assert.deepEqual((await b.store.listApprovals(r.id)).map((a) => a.approverId).sort(), [bob.id, carol.id].sort());
      assert.ok(await b.core.getGrant(g.id));
    });

    void it('refuses approvals past the deadline', async () => {
      const r = request(alice.id, { deadline: T0 + 100 });
      await b.store.createRequest(r);
      await assert.rejects(b.store.approve({ requestId: r.id, approverId: bob.id, createdAt: T0 + 100, comment: '' }, T0 + 100, { endsAt: 1 }), /past its deadline/);
      assert.deepEqual(await b.store.listApprovals(r.id), []);
    });

    void it('lets exactly one of two racing approvals (two connections) create the grant', async () => {
      for (let round = 0; round < 5; round++) {
        const r = request(alice.id);
        await b.store.createRequest(r);
        const g1 = grantFor(r, T0 + 40);
        const g2 = grantFor(r, T0 + 40);
        const results = await Promise.allSettled([
          b.store.approve({ requestId: r.id, approverId: bob.id, createdAt: T0 + 40, comment: '' }, T0 + 40, { grant: g1, endsAt: g1.expiresAt! }),
          b.peer.approve({ requestId: r.id, approverId: carol.id, createdAt: T0 + 40, comment: '' }, T0 + 40, { grant: g2, endsAt: g2.expiresAt! }),
        ]);
        const won = results.filter((x) => x.status === 'fulfilled' && x.value.final);
        const lost = results.filter((x) => x.status === 'rejected');
        assert.equal(won.length, 1, JSON.stringify(results));
        assert.equal(lost.length, 1);
        assert.ok((lost[0] as PromiseRejectedResult).reason instanceof AccessRequestClosedError);
        const grants = [await b.core.getGrant(g1.id), await b.core.getGrant(g2.id)].filter((x) => x !== null);
        assert.equal(grants.length, 1);
        assert.equal((await b.store.getRequest(r.id))?.grantId, grants[0]!.id);
      }
    });

    void it('does not lose an approval when the last two of 2-of-2 race', async () => {
      const r = request(alice.id, { approvalsRequired: 2 });
      await b.store.createRequest(r);
      const g = grantFor(r, T0 + 50);
      const results = await Promise.all([
        b.store.approve({ requestId: r.id, approverId: bob.id, createdAt: T0 + 50, comment: '' }, T0 + 50, { grant: g, endsAt: g.expiresAt! }),
        b.peer.approve({ requestId: r.id, approverId: carol.id, createdAt: T0 + 50, comment: '' }, T0 + 50, { grant: g, endsAt: g.expiresAt! }),
      ]);
      assert.equal(results.filter((x) => x.final).length, 1);
      assert.equal((await b.store.getRequest(r.id))?.status, 'approved');
      assert.ok(await b.core.getGrant(g.id));
    });

    void it('closes by compare-and-set: deny, cancel, revoke (grant deleted), use', async () => {
      const denied = request(alice.id);
      await b.store.createRequest(denied);
      const d = await b.store.close(denied.id, 'pending', 'denied', bob.id, 'no ticket', T0 + 60);
      assert.equal(d.status, 'denied');
      assert.equal(d.reason, 'no ticket');
      await assert.rejects(b.store.close(denied.id, 'pending', 'cancelled', alice.id, null, T0 + 61), AccessRequestClosedError);

      const r = request(alice.id);
      await b.store.createRequest(r);
      const g = grantFor(r, T0 + 62);
      await b.store.approve({ requestId: r.id, approverId: bob.id, createdAt: T0 + 62, comment: '' }, T0 + 62, { grant: g, endsAt: g.expiresAt! });
      const revoked = await b.store.close(r.id, 'approved', 'revoked', alice.id, 'done early', T0 + 63);
      assert.equal(revoked.status, 'revoked');
      assert.equal(await b.core.getGrant(g.id), null);
      assert.equal((await b.store.getRequest(r.id))?.grantId, g.id, 'the request keeps the id of the grant it created');
      await assert.rejects(b.store.close(r.id, 'approved', 'revoked', alice.id, null, T0 + 64), /already revoked/);
    });

    void it('takes share downloads atomically up to the limit, and never after revoke or expiry', async () => {
      const l = link(alice.id, { maxDownloads: 2 });
      await b.store.createShareLink(l);
      assert.deepEqual(await b.store.getShareLinkByHash(l.tokenHash), l);
      assert.equal(await b.store.takeShareDownload(l.id, T0 + 1), true);
      assert.equal(await b.store.takeShareDownload(l.id, T0 + 2), true);
      assert.equal(await b.store.takeShareDownload(l.id, T0 + 3), false);
      assert.equal((await b.store.getShareLink(l.id))?.downloads, 2);

      const limited = link(alice.id, { maxDownloads: 1 });
      await b.store.createShareLink(limited);
      const race = await Promise.all([b.store.takeShareDownload(limited.id, T0 + 5), b.peer.takeShareDownload(limited.id, T0 + 5), b.store.takeShareDownload(limited.id, T0 + 5)]);
      assert.equal(race.filter(Boolean).length, 1);

      const expiring = link(alice.id, { expiresAt: T0 + 10 });
      await b.store.createShareLink(expiring);
      assert.equal(await b.store.takeShareDownload(expiring.id, T0 + 9), true);
      assert.equal(await b.store.takeShareDownload(expiring.id, T0 + 10), false);

      const revoked = link(alice.id);
      await b.store.createShareLink(revoked);
      assert.equal(await b.store.revokeShareLink(revoked.id, alice.id, T0 + 20), true);
      assert.equal(await b.store.revokeShareLink(revoked.id, alice.id, T0 + 21), false);
      assert.equal(await b.store.takeShareDownload(revoked.id, T0 + 22), false);
      const stored = await b.store.getShareLink(revoked.id);
      assert.equal(stored?.status, 'revoked');
      assert.equal(stored?.revokedAt, T0 + 20);
    });

    void it('activates a pending share link at final approval, and revokes it with its request', async () => {
      const l = link(alice.id, { status: 'pending', expiresAt: null });
      const r = request(alice.id, { kind: 'share', role: null, scopeKind: 'version', scopeId: l.versionId, target: l.id });
      await b.store.createRequest(r, { link: { ...l, requestId: r.id } });
      assert.equal(await b.store.takeShareDownload(l.id, T0 + 1), false, 'a pending link serves nothing');
      await b.store.approve({ requestId: r.id, approverId: bob.id, createdAt: T0 + 5, comment: '' }, T0 + 5, { shareLinkId: l.id, endsAt: T0 + 5 + l.ttlMs });
      const active = await b.store.getShareLink(l.id);
      assert.equal(active?.status, 'active');
      assert.equal(active?.expiresAt, T0 + 5 + l.ttlMs);
      assert.equal(await b.store.takeShareDownload(l.id, T0 + 6), true);
      await b.store.close(r.id, 'approved', 'revoked', bob.id, null, T0 + 7);
      assert.equal((await b.store.getShareLink(l.id))?.status, 'revoked');
      assert.equal(await b.store.takeShareDownload(l.id, T0 + 8), false);

      const l2 = link(alice.id, { status: 'pending', expiresAt: null });
      const r2 = request(alice.id, { kind: 'share', role: null, target: l2.id });
      await b.store.createRequest(r2, { link: { ...l2, requestId: r2.id } });
      await b.store.close(r2.id, 'pending', 'denied', bob.id, 'no', T0 + 9);
      assert.equal((await b.store.getShareLink(l2.id))?.status, 'denied');
    });

    void it('records each promotion once and uses a promote approval once', async () => {
      const versionId = newId('ver');
      const artifactId = newId('art');
      const p = (env: Promotion['environment'], from: Promotion['environment'], requestId: string | null = null): Promotion => ({
        id: newId('prm'), versionId, artifactId, environment: env, fromEnvironment: from, promotedBy: alice.id, promotedAt: T0, requestId, sha256: 'a'.repeat(64), checks: ['digest'],
      });
      assert.equal(await b.store.promotedEnvironment(versionId), null);
      await b.store.createPromotion(p('staging', 'dev'));
      await assert.rejects(b.store.createPromotion(p('staging', 'dev')), ConflictError);
      assert.equal(await b.store.promotedEnvironment(versionId), 'staging');

      const r = request(alice.id, { kind: 'promote', role: null, scopeKind: 'version', scopeId: versionId, target: 'prod' });
      await b.store.createRequest(r);
      await b.store.approve({ requestId: r.id, approverId: bob.id, createdAt: T0, comment: '' }, T0, { endsAt: T0 + 1000 });
      await assert.rejects(b.store.usePromoteApproval(r.id, p('prod', 'staging', r.id), T0 + 1000), /past its deadline/);
      await b.store.usePromoteApproval(r.id, p('prod', 'staging', r.id), T0 + 999);
      await assert.rejects(b.store.usePromoteApproval(r.id, p('prod', 'staging', r.id), T0 + 999), /already used/);
      assert.equal(await b.store.promotedEnvironment(versionId), 'prod');
      assert.deepEqual((await b.store.listPromotions(artifactId)).map((x) => x.environment).sort(), ['prod', 'staging']);
    });

    void it('creates a request approved at creation together with its grant, or neither', async () => {
      const r = request(alice.id, { kind: 'break-glass', status: 'approved', approvalsRequired: 0 });
      const g = grantFor(r, T0);
      await b.store.createRequest({ ...r, grantId: g.id, endsAt: g.expiresAt }, { grant: g });
      assert.deepEqual(await b.core.getGrant(g.id), g);
      const g2 = grantFor(r, T0);
      await assert.rejects(b.store.createRequest(r, { grant: g2 }), AlreadyExistsError);
      assert.equal(await b.core.getGrant(g2.id), null, 'the grant of a request that could not be stored is rolled back');
    });

    void it('notes each end once and signs off a review once', async () => {
      const r = request(alice.id, { kind: 'break-glass', status: 'approved', approvalsRequired: 0, endsAt: T0 + 10, review: { status: 'open', by: null, at: null, note: null } });
      await b.store.createRequest(r);
      assert.ok(!(await b.store.listEndedUnnoted(T0 + 9, 100)).some((x) => x.id === r.id));
      assert.ok((await b.store.listEndedUnnoted(T0 + 10, 100)).some((x) => x.id === r.id));
      const notes = await Promise.all([b.store.noteExpiry(r.id, T0 + 11), b.peer.noteExpiry(r.id, T0 + 11)]);
      assert.equal(notes.filter(Boolean).length, 1);
      assert.ok(!(await b.store.listEndedUnnoted(T0 + 20, 100)).some((x) => x.id === r.id));

      assert.ok((await b.store.listRequests({ reviewOpen: true })).some((x) => x.id === r.id));
      assert.equal(await b.store.signOffReview(r.id, bob.id, 'checked', T0 + 30), true);
      assert.equal(await b.store.signOffReview(r.id, carol.id, 'again', T0 + 31), false);
      assert.deepEqual((await b.store.getRequest(r.id))?.review, { status: 'signed-off', by: bob.id, at: T0 + 30, note: 'checked' });
    });
  });
}

contract('sqlite', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'coffer-access-store-'));
  const core = openSqliteStore(join(dir, 'coffer.db'));
  await core.migrate();
  // better-sqlite3 is synchronous: a second connection in this same process would block the
  // thread on the write lock the first one holds. Writers in one process share the store's
  // connection (Kysely serializes them); other processes wait on SQLite's lock.
  return {
    core,
    store: new SqlAccessStore(core),
    peer: new SqlAccessStore(core),
    cleanup: async () => {
      await core.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

const pgUrl = process.env.COFFER_TEST_PG_URL;
if (pgUrl !== undefined && pgUrl !== '') {
  contract('postgres', async () => {
    const name = `coffer_access_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
    const admin = new pg.Client({ connectionString: pgUrl });
    await admin.connect();
    await admin.query(`create database ${name}`).finally(() => admin.end());
    const url = new URL(pgUrl);
    url.pathname = `/${name}`;
    const core = openPostgresStore(url.toString());
    await core.migrate();
    const peerCore = openPostgresStore(url.toString());
    return {
      core,
      store: new SqlAccessStore(core),
      peer: new SqlAccessStore(peerCore),
      cleanup: async () => {
        await peerCore.close();
        await core.close();
        const c = new pg.Client({ connectionString: pgUrl });
        await c.connect();
        await c.query(`drop database if exists ${name} with (force)`).finally(() => c.end());
      },
    };
  });
} else {
  void it('AccessStore contract: postgres', { skip: 'COFFER_TEST_PG_URL is not set' }, () => {});
}
