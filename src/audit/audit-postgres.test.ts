import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { openPostgresStore } from '../store/postgres/open-postgres-store.js';
import type { SqlMetadataStore } from '../store/sql/sql-metadata-store.js';
import { generateAuditKeys } from './audit-keys.js';
import { HashChainAuditLog } from './hash-chain-audit-log.js';
import { sampleEvent } from './test-support.js';

// Runs when COFFER_TEST_PG_URL is set (CI sets it), in a database of its own, dropped after.
const url = process.env.COFFER_TEST_PG_URL;

async function withDatabase(fn: (dbUrl: string) => Promise<void>): Promise<void> {
  const name = `coffer_audit_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
    const u = new URL(url!);
    u.pathname = `/${name}`;
    try {
      await fn(u.toString());
    } finally {
      await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    }
  } finally {
    await admin.end();
  }
}

void test('postgres: two nodes writing concurrently share one contiguous chain that verifies; tampering is found', { skip: url === undefined ? 'COFFER_TEST_PG_URL not set' : false }, async () => {
  await withDatabase(async (dbUrl) => {
    const keys = generateAuditKeys();
    const stores: SqlMetadataStore[] = [openPostgresStore(dbUrl, { maxConnections: 4 }), openPostgresStore(dbUrl, { maxConnections: 4 })];
    try {
      await stores[0]!.migrate();
      const logs = stores.map((s) => new HashChainAuditLog(s, keys, { checkpointEvery: 50 }));
      const results = await Promise.all(
        Array.from({ length: 300 }, (_, i) => logs[i % 2]!.record(sampleEvent(i))),
      );
      const seqs = results.map((r) => r.seq).sort((a, b) => a - b);
      assert.deepEqual(seqs, Array.from({ length: 300 }, (_, i) => i + 1));
      for (const log of logs) await log.flush();
      const v = await logs[0]!.verify();
      assert.deepEqual([v.ok, v.checked, v.lastSeq], [true, 300, 300], v.firstBad?.reason);
      assert.ok((await stores[0]!.listAuditCheckpoints()).length >= 1);

      const raw = new pg.Client({ connectionString: dbUrl });
      await raw.connect();
      try {
        await raw.query(`UPDATE audit_records SET body = replace(body, '"download"', '"upload"') WHERE seq = 123`);
      } finally {
        await raw.end();
      }
      const bad = await logs[1]!.verify();
      assert.deepEqual([bad.ok, bad.firstBad?.seq, bad.firstBad?.kind], [false, 123, 'changed']);
    } finally {
      for (const s of stores) await s.close();
    }
  });
});
