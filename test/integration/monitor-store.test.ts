import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import pg from 'pg';
import { openPostgresStore } from '../../src/store/postgres/open-postgres-store.js';
import { openSqliteStore } from '../../src/store/sqlite/open-sqlite-store.js';
import type { SqlMetadataStore } from '../../src/store/sql/sql-metadata-store.js';
import { MonitorSqlStore } from '../../src/store/sql/monitor-sql-store.js';
import type { AlertRecord, MonitorStore, ReviewCampaign, ReviewItem } from '../../src/store/monitor-store.js';

// The MonitorStore contract, run on SQLite and (with COFFER_TEST_PG_URL) on PostgreSQL
// in a database created for the run and dropped after it.

interface Opened {
  store: MonitorStore;
  close: () => Promise<void>;
}

async function freshPostgres(url: string): Promise<Opened> {
  const name = `coffer_monitor_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  try {
    await admin.query(`create database ${name}`);
  } finally {
    await admin.end();
  }
  const fresh = new URL(url);
  fresh.pathname = `/${name}`;
  const core = openPostgresStore(fresh.toString());
  await core.migrate();
  return {
    store: new MonitorSqlStore(core.kysely, core.dialect),
    close: async () => {
      await core.close();
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      try {
        await c.query(`drop database if exists ${name} with (force)`);
      } finally {
        await c.end();
      }
    },
  };
}

async function sqlite(): Promise<Opened> {
  const core: SqlMetadataStore = openSqliteStore(':memory:');
  await core.migrate();
  return { store: new MonitorSqlStore(core.kysely, core.dialect), close: () => core.close() };
}

function alert(id: string, time: number, over: Partial<AlertRecord> = {}): AlertRecord {
  return {
    id,
    rule: 'volume',
    severity: 'critical',
    action: 'lock',
    principalKey: 'prn_a',
    principalId: 'prn_a',
    principalName: 'dana',
    time,
    createdAt: time + 5,
    triggerSeq: time,
    summary: 'bulk download',
    evidence: [time - 2, time - 1, time],
    measures: { bytes: 123, windowMinutes: 60 },
    status: 'open',
    ackedBy: null,
    ackedAt: null,
    note: null,
    ...over,
  };
}

function item(id: string, campaignId: string, scopeName: string, over: Partial<ReviewItem> = {}): ReviewItem {
  return {
    id,
    campaignId,
    grantId: `grt_${id}`,
    principalId: 'prn_a',
    principalName: 'dana',
    principalKind: 'user',
    principalDisabled: false,
    role: 'reader',
    scopeKind: 'project',
    scopeId: 'prj_1',
    scopeName,
    tier: null,
    grantCreatedAt: 1000,
    grantExpiresAt: null,
    lastUsedAt: null,
    reviewers: ['olga'],
    decision: 'pending',
    decidedBy: null,
    decidedAt: null,
    note: null,
    ...over,
  };
}

function contract(name: string, open: () => Promise<Opened>): void {
  void describe(`MonitorStore contract: ${name}`, { timeout: 60_000 }, () => {
    const withStore = (fn: (s: MonitorStore) => Promise<void>) => async () => {
      const o = await open();
      try {
        await fn(o.store);
      } finally {
        await o.close();
      }
    };

    void test('detector state, cursor and usage are saved together and read back', withStore(async (s) => {
      assert.deepEqual(await s.loadMonitorState(), { seq: 0, states: [] });
      await s.saveMonitorState({
        seq: 10,
        states: [['prn_a', '{"v":1}'], ['ip:1.2.3.4', '{"v":1,"x":2}']],
        grantUses: [{ grantId: 'grt_1', principalId: 'prn_a', lastUsedAt: 500, lastSeq: 9 }],
        principalUses: [{ principalId: 'prn_a', action: 'download', project: 'p', artifact: 'a/b', lastUsedAt: 500, count: 2 }],
      });
      await s.saveMonitorState({
        seq: 20,
        states: [['ip:1.2.3.4', null], ['prn_a', '{"v":1,"y":3}']],
        grantUses: [{ grantId: 'grt_1', principalId: 'prn_a', lastUsedAt: 400, lastSeq: 12 }, { grantId: 'grt_2', principalId: 'prn_a', lastUsedAt: 700, lastSeq: 19 }],
        principalUses: [{ principalId: 'prn_a', action: 'download', project: 'p', artifact: 'a/b', lastUsedAt: 900, count: 3 }, { principalId: 'prn_a', action: 'create-artifact', project: 'p', artifact: '', lastUsedAt: 100, count: 1 }],
      });
      const loaded = await s.loadMonitorState();
      assert.equal(loaded.seq, 20);
      assert.deepEqual(loaded.states, [['prn_a', '{"v":1,"y":3}']]);
      const uses = await s.grantLastUse(['grt_1', 'grt_2', 'grt_none']);
      // a use recorded out of order never moves the last use back
      assert.deepEqual([...uses.entries()].sort(), [['grt_1', 500], ['grt_2', 700]]);
      assert.deepEqual(await s.principalUsage('prn_a', 200), [{ principalId: 'prn_a', action: 'download', project: 'p', artifact: 'a/b', lastUsedAt: 900, count: 5 }]);
      assert.equal((await s.principalUsage('prn_a', 0)).length, 2);
      assert.deepEqual(await s.principalUsage('prn_other', 0), []);
    }));

    void test('many grants are looked up in chunks', withStore(async (s) => {
      const grantUses = Array.from({ length: 450 }, (_, i) => ({ grantId: `grt_${i}`, principalId: 'prn_a', lastUsedAt: 1000 + i, lastSeq: i + 1 }));
      await s.saveMonitorState({ seq: 450, states: [], grantUses, principalUses: [] });
      const uses = await s.grantLastUse(grantUses.map((g) => g.grantId));
      assert.equal(uses.size, 450);
      assert.equal(uses.get('grt_449'), 1449);
    }));

    void test('alerts: insert once, list newest first in pages, filter, acknowledge once', withStore(async (s) => {
      assert.equal(await s.insertAlert(alert('alr_1', 100)), true);
      assert.equal(await s.insertAlert(alert('alr_1', 100, { summary: 'replayed' })), false, 'the same finding replayed is not a second alert');
      await s.insertAlert(alert('alr_2', 300, { principalId: 'prn_b', principalKey: 'prn_b' }));
      await s.insertAlert(alert('alr_3', 200, { action: 'alert', rule: 'probing' }));
      await s.insertAlert(alert('alr_4', 200));
      assert.deepEqual(await s.getAlert('alr_1'), alert('alr_1', 100));
      assert.equal(await s.getAlert('alr_x'), null);

      const first = await s.listAlerts({ limit: 2 });
      assert.deepEqual(first.items.map((a) => a.id), ['alr_2', 'alr_4']);
      assert.notEqual(first.next, null);
      const second = await s.listAlerts({ limit: 2, cursor: first.next });
      assert.deepEqual(second.items.map((a) => a.id), ['alr_3', 'alr_1']);
      assert.equal(second.next, null);
      assert.deepEqual((await s.listAlerts({ principalId: 'prn_b' })).items.map((a) => a.id), ['alr_2']);

      assert.equal(await s.countOpenAlerts(), 4);
      assert.equal(await s.ackAlert('alr_3', 'olga', 999, 'known scanner'), true);
      assert.equal(await s.ackAlert('alr_3', 'olga', 1000, 'again'), false);
      assert.equal(await s.ackAlert('alr_x', 'olga', 1000, null), false);
      const acked = await s.getAlert('alr_3');
      assert.equal(acked?.status, 'acked');
      assert.equal(acked?.ackedBy, 'olga');
      assert.equal(acked?.ackedAt, 999);
      assert.equal(acked?.note, 'known scanner');
      assert.deepEqual((await s.listAlerts({ status: 'open' })).items.map((a) => a.id), ['alr_2', 'alr_4', 'alr_1']);
      assert.equal(await s.countOpenAlerts(), 3);
    }));

    void test('locks: open until closed, per principal', withStore(async (s) => {
      const lock = { id: 'lck_1', principalId: 'prn_a', principalName: 'dana', alertId: 'alr_1', reason: 'volume', lockedAt: 10, tokensRevoked: 2, downloadsAborted: 1, unlockedAt: null, unlockedBy: null, note: null };
      await s.insertLock(lock);
      await s.insertLock({ ...lock, id: 'lck_2', principalId: 'prn_b', principalName: 'ed', lockedAt: 20 });
      assert.deepEqual((await s.listOpenLocks()).map((l) => l.id), ['lck_1', 'lck_2']);
      assert.deepEqual(await s.listOpenLocks('prn_a'), [lock]);
      assert.equal(await s.closeLocks('prn_a', 'olga', 30, 'verified with dana'), 1);
      assert.equal(await s.closeLocks('prn_a', 'olga', 31, null), 0);
      assert.deepEqual((await s.listOpenLocks()).map((l) => l.id), ['lck_2']);
    }));

    void test('review campaigns: items in one transaction, one decision per item', withStore(async (s) => {
      const c: ReviewCampaign = { id: 'rvw_1', name: 'q1', scopeKind: 'project', scopeValue: 'vision', staleDays: 90, createdBy: 'olga', createdAt: 5, dueAt: 50, status: 'open', closedAt: null };
      await s.createCampaign(c, [item('rvi_2', 'rvw_1', 'project/vision/artifact/b'), item('rvi_1', 'rvw_1', 'project/vision', { tier: 'internal', lastUsedAt: 4, principalDisabled: true, reviewers: ['olga', 'pat'] })]);
      await assert.rejects(s.createCampaign(c, []), { code: 'COFFER_ALREADY_EXISTS' });
      await s.createCampaign({ ...c, id: 'rvw_2', createdAt: 6, scopeKind: 'all', scopeValue: null }, []);
      assert.deepEqual(await s.getCampaign('rvw_1'), c);
      assert.deepEqual((await s.listCampaigns()).map((x) => x.id), ['rvw_2', 'rvw_1']);
      const items = await s.listItems('rvw_1');
      assert.deepEqual(items.map((i) => i.id), ['rvi_1', 'rvi_2']);
      assert.deepEqual(items[0], item('rvi_1', 'rvw_1', 'project/vision', { tier: 'internal', lastUsedAt: 4, principalDisabled: true, reviewers: ['olga', 'pat'] }));
      assert.equal(await s.decideItem('rvi_1', 'revoke', 'olga', 40, 'left the team'), true);
      assert.equal(await s.decideItem('rvi_1', 'certify', 'pat', 41, null), false, 'a decided item stays decided');
      const decided = await s.getItem('rvi_1');
      assert.equal(decided?.decision, 'revoke');
      assert.equal(decided?.decidedBy, 'olga');
      assert.equal(decided?.note, 'left the team');
      await s.closeCampaign('rvw_1', 60);
      const closed = await s.getCampaign('rvw_1');
      assert.equal(closed?.status, 'closed');
      assert.equal(closed?.closedAt, 60);
      assert.deepEqual((await s.listCampaigns({ status: 'open' })).map((x) => x.id), ['rvw_2']);
    }));
  });
}

contract('sqlite', sqlite);
const pgUrl = process.env.COFFER_TEST_PG_URL;
if (pgUrl !== undefined && pgUrl !== '') contract('postgres', () => freshPostgres(pgUrl));
else void test('MonitorStore contract: postgres', { skip: 'COFFER_TEST_PG_URL is not set' }, () => {});
