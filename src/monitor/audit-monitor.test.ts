import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { AuditEvent } from '../audit/audit-event.js';
import { generateAuditKeys } from '../audit/audit-keys.js';
import { HashChainAuditLog } from '../audit/hash-chain-audit-log.js';
import { MonitorSqlStore } from '../store/sql/monitor-sql-store.js';
import { openSqliteStore } from '../store/sqlite/open-sqlite-store.js';
import type { SqlMetadataStore } from '../store/sql/sql-metadata-store.js';
import { AuditMonitor } from './audit-monitor.js';
import type { Finding } from './finding.js';
import { MonitorEngine } from './monitor-engine.js';
import { MonitorMetrics } from './monitor-metrics.js';
import { parseAuditRecord, withCatalog } from './monitor-event.js';
import { DEFAULT_RULES, mergeRules } from './rules.js';

const MiB = 1024 * 1024;
const T0 = Date.UTC(2025, 0, 6, 9, 0, 0);
const rules = mergeRules(DEFAULT_RULES, { volume: { tierCapsBytes: { internal: 5 * MiB }, cooldownMinutes: 1 } });

function download(i: number, who = 'dana'): AuditEvent[] {
  const base = { requestId: `r${i}`, actor: { id: `prn_${who}`, name: who, kind: 'user' }, action: 'download', resource: `project/vision/artifact/data/d${i % 7}@latest`, decision: 'allow' as const, policies: ['grt_x'], context: { sourceIp: '10.0.0.5', userAgent: 'coffer-cli/0.1.0' } };
  return [
    { ...base, time: T0 + i * 60_000, outcome: 'attempt' },
    { ...base, time: T0 + i * 60_000 + 500, outcome: 'success', bytes: MiB },
  ];
}

function monitorOn(store: SqlMetadataStore, findings: Finding[]): { monitor: AuditMonitor; engine: MonitorEngine } {
  const engine = new MonitorEngine(rules);
  const monitor = new AuditMonitor({
    store,
    monitorStore: new MonitorSqlStore(store.kysely, store.dialect),
    engine,
    catalog: { infoOf: () => Promise.resolve({ tier: 'internal', kind: 'dataset' }) },
    onFinding: (f) => {
      findings.push(f);
      return Promise.resolve();
    },
    onError: (err) => assert.fail(`monitor error: ${err.code} ${err.detail ?? ''}`),
    metrics: new MonitorMetrics({ openAlerts: () => Promise.resolve(0), lockedPrincipals: () => Promise.resolve(0), pendingReviewItems: () => Promise.resolve(0) }),
    clock: () => T0,
    persistEveryMs: 60_000,
  });
  return { monitor, engine };
}

void test('detector state survives a restart: records written while the monitor was down are replayed, nothing is counted twice', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'coffer-audit-monitor-'));
  const keys = generateAuditKeys();
  try {
    const path = join(dir, 'coffer.db');
    // run 1: the monitor sees records 1..(2*8) as they are written
    let store = openSqliteStore(path);
    await store.migrate();
    const seen1: Finding[] = [];
    const first = monitorOn(store, seen1);
    let log = new HashChainAuditLog(store, keys, { sinks: [first.monitor], checkpointEvery: 0 });
    await first.monitor.start();
    for (let i = 0; i < 4; i++) for (const e of download(i)) await log.record(e);
    await log.flush();
    assert.equal(first.engine.lastSeq, 8);
    await first.monitor.close();
    await log.close();

    // the monitor is down (or another node writes): 4 more downloads, 4 MiB more in the hour
    log = new HashChainAuditLog(store, keys, { checkpointEvery: 0 });
    for (let i = 4; i < 8; i++) for (const e of download(i)) await log.record(e);
    await log.close();
    await store.close();

    // run 2: state loads, the 8 missed records are replayed, then live records follow
    store = openSqliteStore(path);
    const seen2: Finding[] = [];
    const second = monitorOn(store, seen2);
    log = new HashChainAuditLog(store, keys, { sinks: [second.monitor], checkpointEvery: 0 });
    // a record written before start() waits for the state to load
    for (const e of download(8)) await log.record(e);
    await second.monitor.start();
    await log.flush();
    await second.monitor.idle();
    assert.equal(second.engine.lastSeq, 18);

    // the reference: one engine over the whole log, uninterrupted
    const reference = new MonitorEngine(rules);
    const expected: Finding[] = [];
    for await (const r of store.iterateAudit()) expected.push(...reference.process(withCatalog(parseAuditRecord(r.seq, r.body)!, { tier: 'internal', kind: 'dataset' })));
    assert.deepEqual([...seen1, ...seen2], expected);
    assert.deepEqual(expected.map((f) => f.triggerSeq), [12, 14, 16, 18], 'the sixth MiB within the hour crossed the 5 MiB cap, then each one after it (1 min cooldown)');
    assert.equal(second.engine.snapshotOf('prn_dana'), reference.snapshotOf('prn_dana'));

    // usage was saved with the state: each download counted exactly once
    const usage = await new MonitorSqlStore(store.kysely, store.dialect).principalUsage('prn_dana', 0);
    assert.equal(usage.reduce((n, u) => n + u.count, 0), 9);
    assert.deepEqual(usage.map((u) => u.action), Array(usage.length).fill('download'));
    await second.monitor.close();
    await log.close();
    await store.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
