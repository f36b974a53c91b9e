import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import pg from 'pg';
import { openPostgresStore } from '../postgres/open-postgres-store.js';
import { openSqliteStore } from '../sqlite/open-sqlite-store.js';
import type { ReviewCampaign } from '../monitor-store.js';
import { MonitorSqlStore } from './monitor-sql-store.js';
import type { SqlMetadataStore } from './sql-metadata-store.js';

// The claim of a round of review reminders (migration 004_monitor_b), on SQLite and PostgreSQL.

const campaign = (id: string): ReviewCampaign => ({ id, name: id, scopeKind: 'all', scopeValue: null, staleDays: 0, createdBy: 'olga', createdAt: 1, dueAt: null, status: 'open', closedAt: null });

async function claims(core: SqlMetadataStore): Promise<void> {
  await core.migrate();
  const s = new MonitorSqlStore(core.kysely, core.dialect);
  await s.createCampaign(campaign('rvw_a'), []);
  await s.createCampaign(campaign('rvw_b'), []);
  assert.deepEqual(await s.lastReminders(['rvw_a', 'rvw_b']), new Map());
  assert.equal(await s.claimReminder('rvw_a', null, 100), true);
  assert.equal(await s.claimReminder('rvw_a', null, 101), false, 'a second first round is refused');
  assert.equal(await s.claimReminder('rvw_a', 99, 200), false, 'a stale previous round is refused');
  assert.equal(await s.claimReminder('rvw_a', 100, 200), true);
  assert.equal(await s.claimReminder('rvw_a', 100, 201), false, 'the same round is claimed once');
  assert.deepEqual(await s.lastReminders(['rvw_a', 'rvw_b', 'rvw_none']), new Map([['rvw_a', 200]]));
}

void test('review reminders: claims on SQLite', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'coffer-remind-store-'));
  const core = openSqliteStore(join(dir, 'meta.db'));
  try {
    await claims(core);
  } finally {
    await core.close();
    await rm(dir, { recursive: true, force: true });
  }
});

void test('review reminders: claims on PostgreSQL', { skip: process.env.COFFER_TEST_PG_URL === undefined ? 'COFFER_TEST_PG_URL is not set' : false }, async () => {
  const base = process.env.COFFER_TEST_PG_URL!;
  const name = `coffer_remind_${process.pid}_${Date.now()}`;
  const admin = new pg.Client({ connectionString: base });
  await admin.connect();
  await admin.query(`create database ${name}`);
  const url = new URL(base);
  url.pathname = `/${name}`;
  const core = openPostgresStore(url.toString());
  try {
    await claims(core);
  } finally {
    await core.close();
    await admin.query(`drop database if exists ${name} with (force)`);
    await admin.end();
  }
});
