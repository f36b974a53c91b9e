import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { copyFile, cp, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import Database from 'better-sqlite3';
import pg from 'pg';
import { CofferClient } from '../../src/client/index.js';
import { loadConfig, type Config } from '../../src/config/index.js';
import { isCofferError } from '../../src/domain/errors.js';
import { migrateInstall } from '../../src/runtime/migrate/migrate-install.js';
import { FsBlobStore, openPostgresStore } from '../../src/store/index.js';
import { openS3BlobStore } from '../../src/store/s3/index.js';
import { bootstrapAdmin, runCli, startInProcess } from '../support/index.js';
import type { ConfigFlags, InProcessServer } from '../support/index.js';
import { cleanEnv, cliArgs, repoRoot } from '../support/paths.js';
import { pgAdmin } from '../support/postgres.js';
import { emptyPrefix, ensureBucket, rawS3Client, requireS3TestServer, s3Settings, s3Skip, s3TestServer, uniquePrefix } from '../support/s3-server.js';

// `coffer migrate`: an embedded install (SQLite + local disk) moved to a real PostgreSQL and
// a real S3 server (Ceph RGW in CI), verified, resumed after kill -9, and refused when the
// source server runs, when the source's audit chain is tampered with, and into a non-empty target.

const pgUrl = process.env.COFFER_TEST_PG_URL;
const inCi = process.env.CI !== undefined && process.env.CI !== '' && process.env.CI !== 'false';
const pgSkip = pgUrl ? false : inCi ? false : 'skipped: set COFFER_TEST_PG_URL to run the migration to PostgreSQL + S3';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const VERSIONS = 40;

function isCode(code: string) {
  return (err: unknown) => isCofferError(err) && err.code === code;
}

void describe('coffer migrate: SQLite + disk to PostgreSQL + S3 (real RGW)', { skip: s3Skip() || pgSkip, timeout: 600_000 }, () => {
  const suffix = randomBytes(5).toString('hex');
  const dbs = [`coffer_mig_${suffix}`, `coffer_mig2_${suffix}`];
  const created: string[] = [];
  let dir: string;
  let srcDir: string;
  let tgtDir: string;
  let prefix: string;
  let token: string;
  const contents: Buffer[] = [];
  let targetFile: string;
  let target: Config;
  let source: Config;
  let server: InProcessServer | undefined;

  const dbUrl = (name: string) => {
    const u = new URL(pgUrl!);
    u.pathname = `/${name}`;
    return u.toString();
  };
  const targetConfig = (db: string, pfx: string, extra: Record<string, unknown> = {}) => {
    const s3 = requireS3TestServer();
    return {
      dataDir: tgtDir,
      databaseUrl: dbUrl(db),
      blobStore: 's3',
      blobS3Endpoint: s3.endpoint,
      blobS3Region: s3.region,
      blobS3Bucket: s3.bucket,
      blobS3Prefix: pfx,
      blobS3PathStyle: 1,
      blobS3AccessKeyId: s3.accessKeyId,
      blobS3SecretAccessKey: s3.secretAccessKey,
      ...extra,
    };
  };
  const objectsUnder = async (pfx: string) => {
    const client = rawS3Client(requireS3TestServer());
    try {
      const listed = await client.send(new ListObjectsV2Command({ Bucket: requireS3TestServer().bucket, Prefix: pfx }));
      // the adapter's probe of conditional creates (`.coffer-probe/`) is not a blob
      return (listed.Contents ?? []).filter((o) => !o.Key!.slice(pfx.length).startsWith('.coffer-probe/')).length;
    } finally {
      client.destroy();
    }
  };
  const rowsIn = async (db: string, table: string) => {
    const c = new pg.Client({ connectionString: dbUrl(db) });
    await c.connect();
    try {
      return Number((await c.query(`select count(*)::int as n from ${table}`)).rows[0].n);
    } finally {
      await c.end();
    }
  };

  before(async () => {
    // INVARIANT: in CI the migration test never silently vanishes
    assert.ok(pgUrl, 'CI is set but COFFER_TEST_PG_URL is not');
    await ensureBucket(requireS3TestServer());
    for (const db of dbs) {
      await pgAdmin(pgUrl, `CREATE DATABASE ${db}`);
      created.push(db);
    }
    // the first target's schema exists already (an operator may have started a node on it): still empty
    const schema = openPostgresStore(dbUrl(dbs[0]!));
    await schema.migrate();
    await schema.close();
    dir = await mkdtemp(join(tmpdir(), 'coffer-migrate-'));
    srcDir = join(dir, 'source');
    tgtDir = join(dir, 'target');
    await mkdir(tgtDir, { recursive: true });
    prefix = uniquePrefix('migrate');

    // the source: an embedded install with users, grants, many versions and a multi-segment one
    const s = await startInProcess(srcDir);
    try {
      const admin = await bootstrapAdmin(s.url, s.setupToken);
      token = admin.token;
      await admin.client.createProject({ name: 'vision' });
      await admin.client.createArtifact('vision', { name: 'resnet', kind: 'model', tier: 'restricted', environment: 'dev' });
      await admin.client.createPrincipal({ kind: 'user', name: 'bob' });
      await admin.client.createGrant({ principal: 'bob', role: 'reader', project: 'vision', artifact: 'resnet' });
      for (let i = 0; i < VERSIONS; i++) {
        const body = randomBytes(i === 0 ? 3 * 1024 * 1024 + 5 : 24 * 1024 + i);
        contents.push(body);
        await admin.client.push('vision', 'resnet', Readable.from([body]), { size: body.length });
      }
    } finally {
      await s.close();
    }
    // the target's node gets the root key as a file of its own (a real deployment: HSM/KMS, docs/deploy.md)
    await copyFile(join(srcDir, 'root.key'), join(tgtDir, 'root.key'));
    targetFile = join(dir, 'target.json');
    await writeFile(targetFile, JSON.stringify(targetConfig(dbs[0]!, prefix)));
    target = loadConfig({ file: targetFile });
    source = loadConfig({ flags: { dataDir: srcDir } });
  });

  after(async () => {
    await server?.close();
    for (const db of created) await pgAdmin(pgUrl!, `DROP DATABASE IF EXISTS ${db} WITH (FORCE)`).catch(() => undefined);
    const s3 = s3TestServer();
    if (s3 !== null && prefix !== undefined) {
      const store = await openS3BlobStore(s3Settings(s3, prefix, { conditionalCreate: 'none' }));
      await emptyPrefix(s3, store, prefix);
      store.close();
    }
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  void test('refused while the source server runs (in this process and from the CLI), and a second server on the data dir is refused too', async () => {
    const running = await startInProcess(srcDir);
    try {
      await assert.rejects(migrateInstall(source, target), isCode('COFFER_DATA_DIR_IN_USE'));
      const cli = await runCli(['migrate', '--data-dir', srcDir, '--to-config', targetFile], { timeoutMs: 120_000 });
      assert.notEqual(cli.code, 0, cli.stdout);
      assert.match(cli.stderr, /COFFER_DATA_DIR_IN_USE/);
      await assert.rejects(startInProcess(srcDir), isCode('COFFER_DATA_DIR_IN_USE'));
    } finally {
      await running.close();
    }
    assert.equal(await objectsUnder(prefix), 0, 'nothing was copied');
  });

  void test('a tampered source (an audit record rewritten) is refused before anything is copied', async () => {
    const tampered = join(dir, 'tampered');
    await cp(srcDir, tampered, { recursive: true });
    const db = new Database(join(tampered, 'coffer.db'));
    try {
      const row = db.prepare('select seq, body from audit_records where seq = 3').get() as { seq: number; body: string };
      assert.ok(row.body.includes('alice'), row.body);
      db.prepare('update audit_records set body = ? where seq = 3').run(row.body.replace('alice', 'mallo'));
    } finally {
      db.close();
    }
    await assert.rejects(migrateInstall(loadConfig({ flags: { dataDir: tampered } }), target), (err: unknown) => isCode('COFFER_MIGRATION_SOURCE_INVALID')(err) && /seq 3/.test((err as Error).message));
    assert.equal(await rowsIn(dbs[0]!, 'principals'), 0);
    assert.equal(await rowsIn(dbs[0]!, 'install_migration_steps'), 0);
    assert.equal(await objectsUnder(prefix), 0);
  });

  void test('interrupted twice (a failure between tables, then kill -9 mid-blobs), resumed, verified equal; a third run only verifies', async () => {
    // 1: the run fails after a few tables: those stay whole, the rest is not there
    await assert.rejects(
      migrateInstall(source, target, {
        onStep: (step) => {
          if (step === 'table:artifacts') throw new Error('interrupted by the test');
        },
      }),
      /interrupted by the test/,
    );
    assert.ok((await rowsIn(dbs[0]!, 'principals')) >= 2);
    assert.equal(await rowsIn(dbs[0]!, 'versions'), 0, 'a later table is untouched');
    assert.equal(await objectsUnder(prefix), 0);

    // every object of the source (the versions' blobs and any other, such as an orphan) is copied
    let blobs = 0;
    for await (const _ of new FsBlobStore(join(srcDir, 'blobs')).list()) blobs++;
    assert.ok(blobs >= VERSIONS);

    // 2: the CLI, killed -9 while it copies blobs
    const child = spawn(process.execPath, [...cliArgs(), 'migrate', '--data-dir', srcDir, '--to-config', targetFile], { cwd: repoRoot(), env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('close', (code, signal) => resolve({ code, signal })));
    let atKill = 0;
    for (let i = 0; i < 6000; i++) {
      atKill = await objectsUnder(prefix);
      if (atKill > 0) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    child.kill('SIGKILL');
    const end = await exited;
    assert.equal(end.signal, 'SIGKILL', `the migration ended before it was killed: ${stderr}`);
    assert.ok(atKill > 0 && atKill < blobs, `killed mid-blobs (${atKill} of ${blobs} in the bucket)`);

    // 3: run again: resumes, copies the rest, verifies
    const resumed = await runCli(['migrate', '--data-dir', srcDir, '--to-config', targetFile, '--json'], { timeoutMs: 300_000 });
    assert.equal(resumed.code, 0, resumed.stderr);
    const report = JSON.parse(resumed.stdout) as { outcome: string; tables: Array<{ name: string; rows: number; digest: string }>; blobs: { count: number }; audit: { records: number } };
    assert.equal(report.outcome, 'resumed');
    assert.equal(report.blobs.count, blobs);
    const sourceRows = (table: string) => {
      const db = new Database(join(srcDir, 'coffer.db'), { readonly: true });
      try {
        return (db.prepare(`select count(*) as n from ${table}`).get() as { n: number }).n;
      } finally {
        db.close();
      }
    };
    for (const table of ['versions', 'principals', 'grants', 'audit_records', 'settings']) assert.equal(report.tables.find((t) => t.name === table)!.rows, sourceRows(table), table);
    assert.ok(sourceRows('versions') >= VERSIONS);
    assert.ok(report.audit.records > VERSIONS);
    assert.equal(await objectsUnder(prefix), blobs);

    // 4: a third run finds it done, verifies again: the same result
    const again = await migrateInstall(source, target);
    assert.equal(again.outcome, 'already-done');
    assert.deepEqual(again.tables, report.tables);
    assert.deepEqual(again.blobs, report.blobs);
  });

  void test('the migrated install serves on PostgreSQL + S3: the same token, every version byte for byte, the audit chain verifies', async () => {
    const flags = { ...targetConfig(dbs[0]!, prefix), dataDir: undefined } as unknown as ConfigFlags;
    server = await startInProcess(tgtDir, { flags });
    const alice = new CofferClient({ baseUrl: server.url, token });
    for (const [i, body] of contents.entries()) {
      const got = Buffer.concat((await (await alice.pull('vision', 'resnet', i + 1)).body.toArray()) as Buffer[]);
      assert.equal(sha(got), sha(body), `version ${i + 1}`);
    }
    const verified = await alice.verifyAudit();
    assert.equal(verified.ok, true, JSON.stringify(verified));
    await server.close();
    server = undefined;
  });

  void test('a target that is not empty is refused: rows in the database, or objects under the bucket prefix', async () => {
    const other = dbs[1]!;
    const store = openPostgresStore(dbUrl(other));
    await store.migrate();
    await store.close();
    // objects under the prefix (the first migration's), an empty database
    await writeFile(targetFile + '.2', JSON.stringify(targetConfig(other, prefix)));
    await assert.rejects(migrateInstall(source, loadConfig({ file: targetFile + '.2' })), (err: unknown) => isCode('COFFER_MIGRATION_TARGET_NOT_EMPTY')(err) && /bucket/.test((err as Error).message));
    // a row in the database, an empty prefix
    await pgAdmin(dbUrl(other), `insert into settings (key, value, updated_at) values ('stranger', '\\x00', 1)`);
    const fresh = uniquePrefix('migrate-empty');
    await writeFile(targetFile + '.3', JSON.stringify(targetConfig(other, fresh)));
    const cli = await runCli(['migrate', '--data-dir', srcDir, '--to-config', targetFile + '.3'], { timeoutMs: 120_000 });
    assert.notEqual(cli.code, 0, cli.stdout);
    assert.match(cli.stderr, /COFFER_MIGRATION_TARGET_NOT_EMPTY.*settings/);
    assert.equal(await rowsIn(other, 'principals'), 0);
    assert.equal(await objectsUnder(fresh), 0);
  });
});
