import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { sql, type Kysely } from 'kysely';
import type { Config } from '../../config/index.js';
import { HashChainAuditLog } from '../../audit/index.js';
import { openKeyring, type Keyring, type KeyringStore } from '../../crypto/index.js';
import { ConfigInvalidError, MigrationSourceInvalidError, MigrationTargetNotEmptyError, MigrationVerifyFailedError } from '../../domain/errors.js';
import { FsBlobStore, openPostgresStore, openSqliteStore, type MetadataStore } from '../../store/index.js';
import { INSTALL_MIGRATION_TABLE } from '../../store/sql/migrations-install.js';
import { settingsKeyringStore } from '../../vault/index.js';
import { lockDataDir } from '../data-dir-lock.js';
import { openBlobStore } from '../open-blob-store.js';
import { openKeyProvider } from '../open-key-provider.js';
import { loadAuditKeys } from '../sealed-audit-keys.js';
import { copyBlobs, hasBlobs, verifyBlobs, type BlobTally } from './blob-copy.js';
import { copyTable, sourceDigest, sourceTables, targetDigest, targetHasRows, targetTables, type TableDigest, type TargetTable } from './table-copy.js';

/** What `coffer migrate` did and verified. */
export interface MigrationReport {
  /** SHA-256 of the source's audit public key: the id of the install being moved. */
  sourceId: string;
  /** `copied` (this run did it all), `resumed` (an interrupted run was finished) or `already-done` (only verified again). */
  outcome: 'copied' | 'resumed' | 'already-done';
  tables: Array<{ name: string } & TableDigest>;
  blobs: BlobTally;
  audit: { records: number; lastSeq: number };
}

/** Options of {@link migrateInstall}. */
export interface MigrateOptions {
  /** Progress lines for the operator (stderr of the CLI). */
  log?: (line: string) => void;
  now?: () => number;
  /** Test hook: called after each copied table and blob batch (a test kills the process here). */
  onStep?: (step: string) => void;
}

type AnyDb = Kysely<any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/**
 * Moves an embedded install (`source`: SQLite and blobs in its dataDir) to PostgreSQL and
 * an S3 bucket (`target`), then verifies the target: the row count and a content digest of
 * every table, every blob read back and compared by SHA-256 (ciphertext is copied as it is,
 * nothing is decrypted), and the audit chain verified on the target with the keyring opened
 * by the target's key provider.
 *
 * Refuses while a server holds the source's data dir (DataDirInUseError), when the source's
 * audit chain does not verify (MigrationSourceInvalidError), and when the target holds data
 * that no earlier run of this migration put there (MigrationTargetNotEmptyError).
 *
 * Resumable: each table is copied in one transaction that also records the step, so an
 * interrupted run leaves whole tables; blobs already in the bucket are kept and compared.
 * Running it again after success only verifies again.
 */
export async function migrateInstall(source: Config, target: Config, options: MigrateOptions = {}): Promise<MigrationReport> {
  const log = options.log ?? (() => undefined);
  const now = options.now ?? Date.now;
  const step = options.onStep ?? (() => undefined);
  if (source.databaseUrl !== null) throw new ConfigInvalidError('the source must be an embedded install (SQLite in its data dir): its config sets databaseUrl');
  if (source.blobStore.kind !== 'fs') throw new ConfigInvalidError('the source must keep its blobs on local disk: its config sets blobStore');
  if (target.databaseUrl === null) throw new ConfigInvalidError('the target config must set databaseUrl (PostgreSQL)');
  if (target.blobStore.kind !== 's3') throw new ConfigInvalidError('the target config must set blobStore to s3');
  const dbFile = join(source.dataDir, 'coffer.db');
  if (!existsSync(dbFile)) throw new ConfigInvalidError(`no embedded install at \`${source.dataDir}\` (no coffer.db)`);

  // INVARIANT: the source does not change while it is copied: no server may hold its data dir
  const lock = lockDataDir(source.dataDir);
  const closers: Array<() => Promise<void>> = [async () => lock.release()];
  try {
    const src = openSqliteStore(dbFile);
    closers.push(() => src.close());
    await src.migrate();
    const srcKeys = await openKeyProvider(source);
    closers.push(async () => {
      await srcKeys.provider.close();
      await srcKeys.previous?.close();
    });
    const srcKeyring = await openKeyring(srcKeys.provider, settingsKeyringStore(src), { previous: srcKeys.previous });
    closers.push(async () => srcKeyring.close());
    const srcAudit = await verifyChain(src, srcKeyring);
    if (!srcAudit.ok) {
      throw new MigrationSourceInvalidError(`the source's audit chain does not verify (seq ${srcAudit.firstBad?.seq}: ${srcAudit.firstBad?.reason}): nothing was copied; investigate the tampering first (coffer audit verify)`);
    }
    const sourceId = createHash('sha256').update(srcAudit.publicKey).digest('hex');
    log(`source ${source.dataDir}: install ${sourceId.slice(0, 16)}, audit chain verified (${srcAudit.checked} records)`);

    const dst = openPostgresStore(target.databaseUrl, { applicationName: 'coffer-migrate' });
    closers.push(() => dst.close());
    await dst.migrate();
    const blobs = await openBlobStore(target, (m, d) => log(`${m} ${JSON.stringify(d)}`));
    closers.push(() => blobs.close());
    const srcBlobs = new FsBlobStore(join(source.dataDir, 'blobs'));

    const tables = await targetTables(dst.kysely);
    await checkSameSchema(src.kysely, tables);
    const wanted = new Map<string, TableDigest>();
    for (const t of tables) wanted.set(t.name, await sourceDigest(src.kysely, t));
    const fingerprint = JSON.stringify({ auditLastSeq: srcAudit.lastSeq, tables: Object.fromEntries(wanted) });

    const steps = await readSteps(dst.kysely);
    const others = [...steps.keys()].filter((k) => k !== sourceId);
    if (others.length > 0) throw new MigrationTargetNotEmptyError(`the target database holds a migration of another install (${others[0]!.slice(0, 16)}): use an empty database and bucket prefix`);
    const mine = steps.get(sourceId) ?? new Map<string, string>();
    let outcome: MigrationReport['outcome'] = 'copied';
    if (mine.size === 0) {
      // INVARIANT: a migration never mixes an install into data it did not write
      for (const t of tables) {
        if (await targetHasRows(dst.kysely, t.name)) throw new MigrationTargetNotEmptyError(`the target database is not empty (table \`${t.name}\` has rows): migrate into an empty database`);
      }
      if (await hasBlobs(blobs.store)) throw new MigrationTargetNotEmptyError(`the target bucket prefix is not empty: migrate into an empty bucket or prefix`);
      await recordStep(dst.kysely, sourceId, 'start', fingerprint, now());
    } else {
      if (mine.get('start') !== fingerprint) {
        throw new MigrationSourceInvalidError('the source changed since the interrupted migration (was its server started again?): drop the target database and bucket prefix and migrate again');
      }
      outcome = mine.has('done') ? 'already-done' : 'resumed';
      log(outcome === 'resumed' ? 'resuming an interrupted migration' : 'this install was already migrated here: verifying again');
    }

    for (const t of tables) {
      if (mine.has(`table:${t.name}`)) continue;
      await dst.kysely.transaction().execute(async (trx) => {
        const rows = await copyTable(src.kysely, trx, t);
        await recordStep(trx, sourceId, `table:${t.name}`, JSON.stringify({ rows }), now());
        log(`table ${t.name}: ${rows} rows`);
      });
      step(`table:${t.name}`);
    }
    let lastLogged = 0;
    const copied = await copyBlobs(srcBlobs, blobs.store, (tally) => {
      if (tally.count - lastLogged >= 100) {
        lastLogged = tally.count;
        log(`blobs: ${tally.count} (${tally.bytes} bytes)`);
      }
      step('blob');
    });
    log(`blobs: ${copied.count} objects, ${copied.bytes} bytes in the bucket`);

    // ---- verification: the target must hold exactly the source ----
    const problems: string[] = [];
    const report: MigrationReport['tables'] = [];
    for (const t of tables) {
      const got = await targetDigest(dst.kysely, t);
      const want = wanted.get(t.name)!;
      if (got.rows !== want.rows || got.digest !== want.digest) problems.push(`table ${t.name}: source ${want.rows} rows (${want.digest.slice(0, 12)}), target ${got.rows} rows (${got.digest.slice(0, 12)})`);
      report.push({ name: t.name, ...got });
    }
    const checked = await verifyBlobs(srcBlobs, blobs.store);
    for (const m of checked.mismatches.slice(0, 20)) problems.push(`blob ${m.key}: ${m.reason}`);
    // the keyring must open with the target's key provider, and the chain verify there
    const dstKeys = await openKeyProvider(target);
    closers.push(async () => {
      await dstKeys.provider.close();
      await dstKeys.previous?.close();
    });
    let dstAudit: Awaited<ReturnType<typeof verifyChain>> | null = null;
    try {
      const dstKeyring = await openKeyring(dstKeys.provider, readOnly(settingsKeyringStore(dst)), { previous: dstKeys.previous });
      closers.push(async () => dstKeyring.close());
      dstAudit = await verifyChain(dst, dstKeyring);
    } catch (err) {
      problems.push(`the target's key provider cannot open the keyring (${(err as Error).message}): set keyProvider as the source had it, or rootKeyPrevious to the source's root key`);
    }
    if (dstAudit !== null && !dstAudit.ok) problems.push(`the audit chain does not verify on the target (seq ${dstAudit.firstBad?.seq}: ${dstAudit.firstBad?.reason})`);
    if (dstAudit !== null && dstAudit.ok && (dstAudit.lastSeq !== srcAudit.lastSeq || dstAudit.publicKey.toString('hex') !== srcAudit.publicKey.toString('hex'))) {
      problems.push(`the audit chain on the target ends at seq ${dstAudit.lastSeq}, the source's at ${srcAudit.lastSeq}`);
    }
    if (problems.length > 0) throw new MigrationVerifyFailedError(`the target does not match the source:\n  ${problems.join('\n  ')}`);

    const result: MigrationReport = { sourceId, outcome, tables: report, blobs: checked.tally, audit: { records: srcAudit.checked, lastSeq: srcAudit.lastSeq } };
    if (!mine.has('done')) await recordStep(dst.kysely, sourceId, 'done', JSON.stringify({ tables: report.length, blobs: checked.tally, audit: result.audit }), now());
    log(`verified: ${report.length} tables (${report.reduce((n, t) => n + t.rows, 0)} rows), ${checked.tally.count} blobs (${checked.tally.bytes} bytes), audit chain of ${srcAudit.checked} records`);
    return result;
  } finally {
    for (const close of closers.reverse()) await close().catch(() => undefined);
  }
}

/** The source must have exactly the target's tables and columns (both migrated to the same version). */
async function checkSameSchema(source: AnyDb, tables: TargetTable[]): Promise<void> {
  const src = await sourceTables(source);
  for (const t of tables) {
    const cols = src.get(t.name);
    const want = t.columns.map((c) => c.name).join(',');
    if (cols === undefined || cols.join(',') !== want) {
      throw new MigrationSourceInvalidError(`table \`${t.name}\` differs between source and target (source: ${cols?.join(',') ?? 'absent'}; target: ${want}): are both at the same Coffer version?`);
    }
    src.delete(t.name);
  }
  if (src.size > 0) throw new MigrationSourceInvalidError(`the source has tables the target lacks: ${[...src.keys()].join(', ')}`);
}

async function verifyChain(store: MetadataStore, keyring: Keyring) {
  const keys = await loadAuditKeys(store, keyring);
  const audit = new HashChainAuditLog(store, keys, {});
  const result = await audit.verify();
  return { ...result, publicKey: keys.publicKey.export({ format: 'der', type: 'spki' }) };
}

/** Verification never writes to the target: a keyring the provider would reseal is resealed by the first server start. */
function readOnly(store: KeyringStore): KeyringStore {
  return { load: () => store.load(), save: () => Promise.resolve(true) };
}

async function readSteps(db: AnyDb): Promise<Map<string, Map<string, string>>> {
  const rows = await sql<{ source_id: string; step: string; detail: string }>`select source_id, step, detail from ${sql.table(INSTALL_MIGRATION_TABLE)}`.execute(db);
  const out = new Map<string, Map<string, string>>();
  for (const r of rows.rows) (out.get(r.source_id) ?? out.set(r.source_id, new Map()).get(r.source_id)!).set(r.step, r.detail);
  return out;
}

async function recordStep(db: AnyDb, sourceId: string, name: string, detail: string, at: number): Promise<void> {
  await sql`insert into ${sql.table(INSTALL_MIGRATION_TABLE)} (source_id, step, detail, done_at) values (${sourceId}, ${name}, ${detail}, ${at})`.execute(db);
}

