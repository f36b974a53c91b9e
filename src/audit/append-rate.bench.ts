/**
 * Micro-measure (not a test): durable audit appends per second on the SQLite file
 * store (WAL, synchronous=FULL), with 1 writer (each record awaited before the next)
 * and with 64 concurrent writers (group commit). Prints one JSON line per case.
 *
 *   node --import tsx src/audit/append-rate.bench.ts      (or node dist/src/audit/append-rate.bench.js)
 *
 * Env AUDIT_BENCH_DIR picks the directory of the database (default: the OS temp dir),
 * so the figure reflects that disk's fsync cost.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqliteStore } from '../store/sqlite/open-sqlite-store.js';
import type { AuditEvent } from './audit-event.js';
import { generateAuditKeys } from './audit-keys.js';
import { HashChainAuditLog } from './hash-chain-audit-log.js';

function event(i: number): AuditEvent {
  return {
    time: Date.now(),
    requestId: `req-${i}`,
    actor: { id: 'prn_bench', name: 'bench', kind: 'user' },
    action: 'download',
    resource: `project/bench/artifact/model@${i % 50}`,
    decision: 'allow',
    policies: ['baseline-reader'],
    outcome: 'attempt',
    context: { ip: '127.0.0.1', userAgent: 'bench/1', mfa: true },
    sensitive: { email: 'bench@example.com' },
  };
}

async function measure(writers: number, perWriter: number): Promise<void> {
  const dir = await mkdtemp(join(process.env.AUDIT_BENCH_DIR ?? tmpdir(), 'coffer-audit-bench-'));
  const store = openSqliteStore(join(dir, 'meta.db'));
  await store.migrate();
  let appends = 0;
  const counting = {
    appendAudit: (build: Parameters<typeof store.appendAudit>[0]) => {
      appends++;
      return store.appendAudit(build);
    },
    iterateAudit: (fromSeq?: number) => store.iterateAudit(fromSeq),
    lastAudit: () => store.lastAudit(),
    putAuditCheckpoint: (c: Parameters<typeof store.putAuditCheckpoint>[0]) => store.putAuditCheckpoint(c),
    listAuditCheckpoints: () => store.listAuditCheckpoints(),
  };
  const log = new HashChainAuditLog(counting, generateAuditKeys());
  try {
    await log.record(event(-1));
    appends = 0;
    const start = process.hrtime.bigint();
    await Promise.all(
      Array.from({ length: writers }, async (_, w) => {
        for (let i = 0; i < perWriter; i++) await log.record(event(w * perWriter + i));
      }),
    );
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    const records = writers * perWriter;
    const verified = await log.verify();
    console.log(JSON.stringify({
      case: `${writers} writer(s)`,
      records,
      seconds: Number(seconds.toFixed(3)),
      recordsPerSecond: Math.round(records / seconds),
      appendTransactions: appends,
      recordsPerTransaction: Number((records / appends).toFixed(1)),
      chainVerified: verified.ok,
    }));
  } finally {
    await log.close();
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
}

await measure(1, 1000);
await measure(64, 100);
