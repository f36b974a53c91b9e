/**
 * Durable audit appends per second: Coffer's HashChainAuditLog (hash chain, HMAC of
 * sensitive values, group commit, signed checkpoints) over the SQLite metadata store
 * (WAL, synchronous=FULL) with 1 writer and with 64 concurrent writers, against raw
 * better-sqlite3 single-row INSERT transactions with the same pragmas, the same row
 * bytes and the same disk. The four variants run in interleaved one-second slices
 * (raw, Coffer x1, Coffer x64, raw batched, again and again), so a drift of a shared
 * machine hits them alike. Runs in the harness process (nothing else runs meanwhile).
 */
import BetterSqlite3 from 'better-sqlite3';
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { HashChainAuditLog, generateAuditKeys, type AuditEvent, type AuditStore } from '../../src/audit/index.js';
import { openSqliteStore } from '../../src/store/index.js';
import type { SqlMetadataStore, StoredAuditRecord } from '../../src/store/index.js';

/** Appends measured in one variant, summed over its slices. */
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
  slices: number;
  sliceSeconds: number;
}

/** No variant appends more than this many records in one slice, whatever the machine. */
const MAX_RECORDS_PER_SLICE = 500_000;
const SLICE_SECONDS = 1;

/** The audit record every audit case appends (a download attempt of one of 50 versions); also the scale case's. */
export function event(i: number): AuditEvent {
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

function emptyRate(): AppendRate {
  return { records: 0, seconds: 0, perSecond: 0, transactions: 0 };
}

function add(rate: AppendRate, records: number, seconds: number, transactions: number): void {
  rate.records += records;
  rate.seconds += seconds;
  rate.transactions += transactions;
  rate.perSecond = rate.records / rate.seconds;
}

/** A HashChainAuditLog on its own fresh SQLite store, counting append transactions. */
class CofferVariant {
  rate: AppendRate & { chainVerified: boolean } = { ...emptyRate(), chainVerified: false };
  #transactions = 0;
  /** Records written since the store was created, the first one included. */
  #written = 0;

  private constructor(
    readonly store: SqlMetadataStore,
    readonly log: HashChainAuditLog,
    readonly writers: number,
  ) {}

  static async open(dir: string, writers: number): Promise<CofferVariant> {
    const store = openSqliteStore(join(dir, `coffer-${writers}.db`));
    await store.migrate();
    let variant: CofferVariant | null = null;
    const counting: AuditStore = {
      appendAudit: (build) => {
        if (variant !== null) variant.#transactions++;
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
    variant = new CofferVariant(store, log, writers);
    variant.#written = 1;
    return variant;
  }

  async slice(seconds: number): Promise<void> {
    this.#transactions = 0;
    let records = 0;
    const start = performance.now();
    const deadline = start + seconds * 1000;
    const cap = Math.floor(MAX_RECORDS_PER_SLICE / this.writers);
    await Promise.all(
      Array.from({ length: this.writers }, async () => {
        for (let i = 0; i < cap && performance.now() < deadline; i++) {
          await this.log.record(event(this.#written++));
          records++;
        }
      }),
    );
    add(this.rate, records, (performance.now() - start) / 1000, this.#transactions);
  }

  /** Verifies the whole chain (every record written, in order) and closes. */
  async finish(): Promise<void> {
    await this.log.flush();
    const verified = await this.log.verify();
    this.rate.chainVerified = verified.ok && verified.checked === this.#written;
    await this.log.close();
    await this.store.close();
  }
}

/** Raw better-sqlite3 inserts of a fixed row, `rowsPerTransaction` per commit. */
class RawVariant {
  readonly rate: AppendRate = emptyRate();
  readonly #db: BetterSqlite3.Database;
  readonly #commit: (n: number) => void;
  #seq = 0;

  constructor(dir: string, readonly rowsPerTransaction: number, row: StoredAuditRecord) {
    this.#db = new BetterSqlite3(join(dir, `raw-${rowsPerTransaction}.db`));
    this.#db.pragma('journal_mode = WAL');
    this.#db.pragma('synchronous = FULL');
    this.#db.exec('CREATE TABLE audit_raw (seq INTEGER PRIMARY KEY, body TEXT NOT NULL, prev_hash TEXT NOT NULL, hash TEXT NOT NULL)');
    const insert = this.#db.prepare('INSERT INTO audit_raw (seq, body, prev_hash, hash) VALUES (?, ?, ?, ?)');
    this.#commit = this.#db.transaction((n: number) => {
      for (let i = 0; i < n; i++) insert.run(++this.#seq, row.body, row.prevHash, row.hash);
    });
  }

  slice(seconds: number): void {
    let transactions = 0;
    const first = this.#seq;
    const start = performance.now();
    const deadline = start + seconds * 1000;
    while (performance.now() < deadline && this.#seq - first < MAX_RECORDS_PER_SLICE) {
      this.#commit(this.rowsPerTransaction);
      transactions++;
    }
    add(this.rate, this.#seq - first, (performance.now() - start) / 1000, transactions);
  }

  finish(): void {
    const stored = (this.#db.prepare('SELECT count(*) AS n FROM audit_raw').get() as { n: number }).n;
    this.#db.close();
    if (stored !== this.rate.records) throw new Error(`raw audit baseline stored ${stored} rows, expected ${this.rate.records}`);
  }
}

/**
 * Runs the four variants in interleaved one-second slices, `seconds` slices each, in
 * fresh databases under `workDir`, and verifies Coffer's chains at the end.
 */
export async function runAuditBench(workDir: string, seconds: number): Promise<AuditBenchResult> {
  const dir = await mkdtemp(join(workDir, 'coffer-bench-audit-'));
  try {
    const one = await CofferVariant.open(dir, 1);
    const many = await CofferVariant.open(dir, 64);
    // one record of the real format, so the raw baseline writes the same bytes per row
    await one.slice(0.05);
    let row: StoredAuditRecord | null = null;
    for await (const r of one.store.iterateAudit(2)) {
      row = r;
      break;
    }
    if (row === null) throw new Error('audit bench: no record was stored');
    one.rate = { ...emptyRate(), chainVerified: false };
    const raw1 = new RawVariant(dir, 1, row);
    const raw64 = new RawVariant(dir, 64, row);
    for (let i = 0; i < seconds; i++) {
      raw1.slice(SLICE_SECONDS);
      await one.slice(SLICE_SECONDS);
      await many.slice(SLICE_SECONDS);
      raw64.slice(SLICE_SECONDS);
    }
    raw1.finish();
    raw64.finish();
    await one.finish();
    await many.finish();
    return { coffer1: one.rate, coffer64: many.rate, raw1: raw1.rate, raw64Batch: raw64.rate, bodyBytes: Buffer.byteLength(row.body), slices: seconds, sliceSeconds: SLICE_SECONDS };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
