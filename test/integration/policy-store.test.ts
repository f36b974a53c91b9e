/**
 * Contract of the PolicyStore port, run on SQLite and on PostgreSQL (COFFER_TEST_PG_URL,
 * a fresh database per run): versions, atomic apply, activations and rollback, the
 * concurrent-apply conflict, and locating audit records by time.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, after, before } from 'node:test';
import pg from 'pg';
import { openPostgresStore, openSqliteStore, type SqlMetadataStore } from '../../src/store/index.js';
import { SqlPolicyStore } from '../../src/store/sql/policy-sql-store.js';
import { GENESIS_HASH } from '../../src/audit/audit-record.js';

interface Opened {
  core: SqlMetadataStore;
  peer?: SqlMetadataStore;
  cleanup: () => Promise<void>;
}

function contract(name: string, open: () => Promise<Opened>): void {
  void describe(`PolicyStore on ${name}`, () => {
    let o: Opened;
    let store: SqlPolicyStore;
    before(async () => {
      o = await open();
      store = new SqlPolicyStore(o.core);
    });
    after(async () => o.cleanup());

    void it('starts with no activation (the built-in set) and no versions', async () => {
      assert.equal(await store.currentActivation(), null);
      assert.deepEqual(await store.listVersions(), []);
      assert.equal(await store.getVersion(1), null);
    });

    void it('creates and activates versions atomically, numbering them in order', async () => {
      const sources = [{ name: 'a.cedar', text: '@id("a")\npermit (principal, action, resource);\n' }];
      const first = await store.createAndActivate({ sources, digest: 'd1', policyCount: 1, message: 'first', createdBy: 'prn_admin', createdAt: 1000 });
      assert.deepEqual(first.version, { sources, digest: 'd1', policyCount: 1, message: 'first', createdBy: 'prn_admin', createdAt: 1000, version: 1 });
      assert.deepEqual(first.activation, { seq: 1, version: 1, kind: 'apply', activatedBy: 'prn_admin', activatedAt: 1000 });
      const second = await store.createAndActivate({ sources: [], digest: 'd2', policyCount: 0, message: '', createdBy: 'prn_admin', createdAt: 2000 });
      assert.equal(second.version.version, 2);
      assert.deepEqual(await store.currentActivation(), { seq: 2, version: 2, kind: 'apply', activatedBy: 'prn_admin', activatedAt: 2000 });
      assert.deepEqual(await store.getVersion(1), first.version);
      assert.deepEqual((await store.listVersions()).map((v) => [v.version, v.digest, v.message]), [[1, 'd1', 'first'], [2, 'd2', '']]);
    });

    void it('rolls back by activating an older version or the built-in set, and refuses unknown versions', async () => {
      const back = await store.activate(1, 'rollback', 'prn_admin', 3000);
      assert.deepEqual(back, { seq: 3, version: 1, kind: 'rollback', activatedBy: 'prn_admin', activatedAt: 3000 });
      await store.activate(0, 'rollback', 'prn_admin', 4000);
      assert.equal((await store.currentActivation())!.version, 0);
      await assert.rejects(store.activate(99, 'rollback', 'prn_admin', 5000), { code: 'COFFER_NOT_FOUND' });
      assert.deepEqual((await store.listActivations(10)).map((a) => [a.seq, a.version, a.kind]), [[4, 0, 'rollback'], [3, 1, 'rollback'], [2, 2, 'apply'], [1, 1, 'apply']]);
    });

    void it('never loses an apply when two run at once: one succeeds, the other conflicts or comes after', async () => {
      const peerStore = new SqlPolicyStore(o.peer ?? o.core);
      const results = await Promise.allSettled([
        store.createAndActivate({ sources: [], digest: 'x', policyCount: 0, message: 'x', createdBy: 'a', createdAt: 6000 }),
        peerStore.createAndActivate({ sources: [], digest: 'y', policyCount: 0, message: 'y', createdBy: 'b', createdAt: 6000 }),
      ]);
      const ok = results.filter((r) => r.status === 'fulfilled').map((r) => r.value.version.version);
      for (const r of results) if (r.status === 'rejected') assert.equal((r.reason as { code?: string }).code, 'COFFER_CONFLICT');
      assert.ok(ok.length >= 1);
      assert.equal(new Set(ok).size, ok.length);
      const versions = (await store.listVersions()).map((v) => v.version);
      assert.deepEqual(versions, [...versions].sort((a, b) => a - b));
      assert.equal((await store.currentActivation())!.version, Math.max(...ok));
    });

    void it('finds the first audit record at or after a time', async () => {
      assert.equal(await store.firstAuditSeqSince(0), null);
      const times = [100, 200, 200, 300, 400, 1000];
      await o.core.appendAudit(() => {
        let prev = GENESIS_HASH;
        return times.map((time, i) => {
          const hash = randomBytes(32).toString('hex');
          const r = { seq: i + 1, body: JSON.stringify({ time, v: 1 }), prevHash: prev, hash };
          prev = hash;
          return r;
        });
      });
      assert.equal(await store.firstAuditSeqSince(0), 1);
      assert.equal(await store.firstAuditSeqSince(100), 1);
      assert.equal(await store.firstAuditSeqSince(150), 2);
      assert.equal(await store.firstAuditSeqSince(200), 2);
      assert.equal(await store.firstAuditSeqSince(301), 5);
      assert.equal(await store.firstAuditSeqSince(1000), 6);
      assert.equal(await store.firstAuditSeqSince(1001), null);
    });
  });
}

contract('SQLite', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'coffer-policy-store-'));
  const core = openSqliteStore(join(dir, 'coffer.db'));
  await core.migrate();
  return { core, cleanup: async () => { await core.close(); rmSync(dir, { recursive: true, force: true }); } };
});

const pgUrl = process.env.COFFER_TEST_PG_URL;
if (pgUrl) {
  contract('PostgreSQL', async () => {
    const name = `coffer_policy_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
    const admin = new pg.Client({ connectionString: pgUrl });
    await admin.connect();
    await admin.query(`create database ${name}`);
    await admin.end();
    const url = new URL(pgUrl);
    url.pathname = `/${name}`;
    const core = openPostgresStore(url.toString());
    await core.migrate();
    const peer = openPostgresStore(url.toString());
    return {
      core,
      peer,
      cleanup: async () => {
        await core.close();
        await peer.close();
        const c = new pg.Client({ connectionString: pgUrl });
        await c.connect();
        await c.query(`drop database if exists ${name} with (force)`);
        await c.end();
      },
    };
  });
}
