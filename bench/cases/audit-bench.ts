/**
 * Durable audit appends per second: Coffer's HashChainAuditLog (hash chain, HMAC of
 * sensitive values, group commit, signed checkpoints) over the SQLite metadata store
 * (WAL, synchronous=FULL) with 1 writer and with 64 concurrent writers, against raw
 * better-sqlite3 single-row INSERT transactions with the same pragmas, the same row
 * bytes and the same disk. Runs in the harness process (nothing else runs meanwhile).
 */
import BetterSqlite3 from 'better-sqlite3';
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { HashChainAuditLog, generateAuditKeys, type AuditEvent, type AuditStore } from '../../src/audit/index.js';
import { openSqliteStore } from '../../src/store/index.js';
import type { StoredAuditRecord } from '../../src/store/index.js';

/** Appends measured in one case. */
export interface AppendRate {
  records: number;
  seconds: number;
  perSecond: number;
  /** Commit transactions used (Coffer: appendAudit calls; raw: one per row or per batch). */
  transactions: number;
}

/** Everything the audit case measured. */
export interface AuditBenchResult {
  coffer1: AppendRate & { chainVerified: boolean };
  coffer64: AppendRate & { chainVerified: boolean };
  raw1: AppendRate;
  /** Raw better-sqlite3 with 64 rows per transaction: what group commit could reach at best. */
  raw64Batch: AppendRate;
  /** Bytes of the record body written per row by both. */
  bodyBytes: number;
}

/** No case appends more than this many records, whatever the duration. */
const MAX_RECORDS = 2_000_000;

function event(i: number): AuditEvent {
  return {
    time: Date.now(),
    requestId: `req-${i}`,
    actor: { id: 'prn_bench', name: 'bench', kind: 'user' },
    action: 'download',
    resource: `project/bench/artifact/model@${i % 50}`,
    decision: 'allow',
    policies: ['grant/artifact-owner'],
    outcome: 'attempt',
    context: { ip: '127.0.0.1', userAgent: 'coffer-bench/1', mfa: false },
    sensitive: { email: 'bench@example.com' },
  };
}

async function cofferCase(workDir: string, writers: number, seconds: number): Promise<{ rate: AppendRate & { chainVerified: boolean }; sample: StoredAuditRecord | null }> {
  const dir = await mkdtemp(join(workDir, 'coffer-bench-audit-'));
  const store = openSqliteStore(join(dir, 'coffer.db'));
  try {
    await store.migrate();
    let transactions = 0;
    const counting: AuditStore = {
      appendAudit: (build) => {
        transactions++;
        return store.appendAudit(build);
      },
      iterateAudit: (fromSeq) => store.iterateAudit(fromSeq),
      lastAudit: () => store.lastAudit(),
      putAuditCheckpoint: (c) => store.putAuditCheckpoint(c),
      listAuditCheckpoints: () => store.listAuditCheckpoints(),
    };
    // the server's default checkpoint interval, so checkpoint signing is part of the cost
    const log = new HashChainAuditLog(counting, generateAuditKeys(), { checkpointEvery: 1000 });
    await log.record(event(-1));
    transactions = 0;
    let records = 0;
    const perWriter = Math.floor(MAX_RECORDS / writers);
    const start = performance.now();
    const deadline = start + seconds * 1000;
    await Promise.all(
      Array.from({ length: writers }, async (_, w) => {
        for (let i = 0; i < perWriter && performance.now() < deadline; i++) {
          await log.record(event(w * perWriter + i));
          records++;
        }
      }),
    );
    const elapsed = (performance.now() - start) / 1000;
    await log.flush();
    const verified = await log.verify();
    let sample: StoredAuditRecord | null = null;
    for await (const r of store.iterateAudit(2)) {
      sample = r;
      break;
    }
    await log.close();
    return { rate: { records, seconds: elapsed, perSecond: records / elapsed, transactions, chainVerified: verified.ok && verified.checked === records + 1 }, sample };
  } finally {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
}

async function rawCase(workDir: string, rowsPerTransaction: number, seconds: number, row: StoredAuditRecord): Promise<AppendRate> {
  const dir = await mkdtemp(join(workDir, 'coffer-bench-raw-'));
  const db = new BetterSqlite3(join(dir, 'raw.db'));
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.exec('CREATE TABLE audit_raw (seq INTEGER PRIMARY KEY, body TEXT NOT NULL, prev_hash TEXT NOT NULL, hash TEXT NOT NULL)');
    const insert = db.prepare('INSERT INTO audit_raw (seq, body, prev_hash, hash) VALUES (?, ?, ?, ?)');
    let seq = 0;
    const commit = db.transaction((n: number) => {
      for (let i = 0; i < n; i++) insert.run(++seq, row.body, row.prevHash, row.hash);
    });
    let transactions = 0;
    const start = performance.now();
    const deadline = start + seconds * 1000;
    while (performance.now() < deadline && seq < MAX_RECORDS) {
      commit(rowsPerTransaction);
      transactions++;
    }
    const elapsed = (performance.now() - start) / 1000;
    const stored = (db.prepare('SELECT count(*) AS n FROM audit_raw').get() as { n: number }).n;
    if (stored !== seq) throw new Error(`raw audit baseline stored ${stored} rows, expected ${seq}`);
    return { records: seq, seconds: elapsed, perSecond: seq / elapsed, transactions };
  } finally {
    db.close();
    await rm(dir, { recursive: true, force: true });
  }
}

/** Runs the four audit cases one after the other in fresh databases under `workDir`. */
export async function runAuditBench(workDir: string, seconds: number): Promise<AuditBenchResult> {
  const one = await cofferCase(workDir, 1, seconds);
  const many = await cofferCase(workDir, 64, seconds);
  const row = one.sample;
  if (row === null) throw new Error('audit bench: no record was stored');
  const raw1 = await rawCase(workDir, 1, seconds, row);
  const raw64Batch = await rawCase(workDir, 64, seconds, row);
  return { coffer1: one.rate, coffer64: many.rate, raw1, raw64Batch, bodyBytes: Buffer.byteLength(row.body) };
}
