/**
 * The scale-out case (`COFFER_BENCH_ONLY=scale`): Coffer on PostgreSQL + a real S3 server
 * (Ceph RGW, `scripts/ceph-rgw.sh`), side by side with the same work done without Coffer.
 *
 * - download and upload of `COFFER_BENCH_SIZE_MIB` through one Coffer node on S3, against
 *   the same bytes straight to/from RGW with the AWS SDK (GetObject; lib-storage Upload with
 *   Coffer's part size and concurrency);
 * - authorized 4 KiB GETs: two Coffer nodes (two processes, one database, one bucket) with
 *   the load split between them, against one node with the same connections;
 * - what the scaling model in docs/deploy.md rests on: audit appends/s on PostgreSQL (1 and
 *   64 writers), and small-object S3 requests/s on RGW (PUT and GET, 32 in flight).
 *
 * Needs COFFER_TEST_PG_URL (or COFFER_BENCH_PG_URL) and COFFER_TEST_S3_*; a fresh database and
 * bucket prefix are made and removed. Everything runs on this machine: with 2 shared cores
 * the 2-node figure shows contention, not scale-out (see docs/deploy.md).
 */
import { createReadStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { randomBytes } from 'node:crypto';
import { CreateBucketCommand, DeleteObjectsCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import pg from 'pg';
import { CofferClient } from '../../src/client/index.js';
import { HashChainAuditLog, generateAuditKeys } from '../../src/audit/index.js';
import { openPostgresStore } from '../../src/store/index.js';
import type { BenchRow } from '../bench-row.js';
import { benchScript, runChild, startChildServer, type ChildServer } from '../child.js';
import { downloadOnce, uploadOnce, type TransferTarget } from '../cases/transfer-bench.js';
import { event } from '../cases/audit-bench.js';
import type { SmallGetsInput, SmallGetsResult } from '../load/small-gets.js';
import type { UploadResult } from '../load/upload.js';
import type { CofferServerInput, CofferServerReady } from '../servers/coffer-server.js';
import { gibPerSecond, median } from '../stats.js';

const MIB = 1024 * 1024;
const PART = 16 * MIB;
const SMALL_BYTES = 4096;

interface Env {
  pgUrl: string;
  s3: { endpoint: string; accessKeyId: string; secretAccessKey: string; region: string; bucket: string };
}

/** Why the scale case cannot run here (its servers are not configured), or null. */
export function scaleBenchMissing(): string | null {
  const pgUrl = process.env.COFFER_BENCH_PG_URL ?? process.env.COFFER_TEST_PG_URL;
  if (!pgUrl) return 'COFFER_TEST_PG_URL is not set';
  if (!process.env.COFFER_TEST_S3_ENDPOINT || !process.env.COFFER_TEST_S3_ACCESS_KEY || !process.env.COFFER_TEST_S3_SECRET) return 'COFFER_TEST_S3_* are not set (scripts/ceph-rgw.sh)';
  return null;
}

function env(): Env {
  const pgUrl = process.env.COFFER_BENCH_PG_URL ?? process.env.COFFER_TEST_PG_URL;
  const endpoint = process.env.COFFER_TEST_S3_ENDPOINT;
  const accessKeyId = process.env.COFFER_TEST_S3_ACCESS_KEY;
  const secretAccessKey = process.env.COFFER_TEST_S3_SECRET;
  if (!pgUrl || !endpoint || !accessKeyId || !secretAccessKey) {
    throw new Error('the scale case needs COFFER_TEST_PG_URL and COFFER_TEST_S3_ENDPOINT/ACCESS_KEY/SECRET (eval "$(scripts/ceph-rgw.sh start DIR && scripts/ceph-rgw.sh wait DIR)")');
  }
  return { pgUrl, s3: { endpoint, accessKeyId, secretAccessKey, region: process.env.COFFER_TEST_S3_REGION || 'us-east-1', bucket: process.env.COFFER_TEST_S3_BUCKET || 'coffer-test' } };
}

async function admin(url: string, statement: string): Promise<void> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    await c.query(statement);
  } finally {
    await c.end();
  }
}

function withDb(url: string, name: string): string {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}

/** Options the harness passes in. */
export interface ScaleBenchOptions {
  sizeMiB: number;
  runs: number;
  getSeconds: number;
  connections: number;
  auditSeconds: number;
  workDir: string;
  bigFile: string;
  bigSha: string;
  log: (line: string) => void;
}

/** Runs the scale-out case; returns its rows. */
export async function runScaleBench(o: ScaleBenchOptions): Promise<BenchRow[]> {
  const e = env();
  const suffix = randomBytes(5).toString('hex');
  const dbName = `coffer_bench_${suffix}`;
  const prefix = `bench-${suffix}/`;
  const dbUrl = withDb(e.pgUrl, dbName);
  const s3 = new S3Client({ endpoint: e.s3.endpoint, region: e.s3.region, forcePathStyle: true, credentials: { accessKeyId: e.s3.accessKeyId, secretAccessKey: e.s3.secretAccessKey } });
  await s3.send(new CreateBucketCommand({ Bucket: e.s3.bucket })).catch((err: { name?: string }) => {
    if (err.name !== 'BucketAlreadyOwnedByYou' && err.name !== 'BucketAlreadyExists') throw err;
  });
  await admin(e.pgUrl, `CREATE DATABASE ${dbName}`);
  const nodes: Array<ChildServer<CofferServerReady>> = [];
  const rootKey = randomBytes(32).toString('base64');
  const flags = {
    databaseUrl: dbUrl,
    blobStore: 's3',
    blobS3Endpoint: e.s3.endpoint,
    blobS3Region: e.s3.region,
    blobS3Bucket: e.s3.bucket,
    blobS3Prefix: `${prefix}coffer/`,
    blobS3PathStyle: 1,
    blobS3AccessKeyId: e.s3.accessKeyId,
    blobS3SecretAccessKey: e.s3.secretAccessKey,
    blobS3PartSize: PART,
    keyProvider: 'env',
    rootKey,
  };
  const rows: BenchRow[] = [];
  try {
    for (const i of [1, 2]) {
      const dataDir = join(o.workDir, `scale-node-${i}`);
      await mkdir(dataDir);
      nodes.push(await startChildServer<CofferServerReady>(benchScript('servers/coffer-server'), { dataDir, profile: false, flags } satisfies CofferServerInput));
    }
    const [one, two] = nodes as [ChildServer<CofferServerReady>, ChildServer<CofferServerReady>];
    // each start while no admin exists issues a fresh setup token: the last node's is valid
    if (two.ready.setupToken === null) throw new Error('the fresh node has no setup token');
    const { token } = await new CofferClient({ baseUrl: one.ready.url }).bootstrap({ setupToken: two.ready.setupToken, name: 'bench-admin' });
    const client = new CofferClient({ baseUrl: one.ready.url, token, userAgent: 'coffer-bench' });
    await client.createProject({ name: 'bench' });
    await client.createArtifact('bench', { name: 'model', kind: 'model', tier: 'restricted', environment: 'dev' });
    await client.createArtifact('bench', { name: 'small', kind: 'other', tier: 'restricted', environment: 'dev' });
    await client.push('bench', 'small', Readable.from([Buffer.alloc(SMALL_BYTES, 7)]), { size: SMALL_BYTES });

    // ---- big transfers: Coffer on S3 vs the SDK straight to RGW ----
    const bytes = o.sizeMiB * MIB;
    const versions = `${one.ready.url}/v1/projects/bench/artifacts/model/versions`;
    const coffer: TransferTarget = {
      label: 'coffer',
      pid: one.pid,
      token,
      uploadUrl: () => versions,
      afterUpload: (run: number, result: UploadResult) => {
        const v = result.body as { size?: number; sha256?: string; number?: number };
        if (v.size !== bytes || v.sha256 !== o.bigSha) throw new Error(`Coffer upload ${run}: size ${v.size} digest ${v.sha256}`);
        if (run === 0) coffer.downloadUrl = `${versions}/${v.number}/content`;
        return Promise.resolve();
      },
      downloadUrl: '',
    };
    const rawKey = `${prefix}raw/big.bin`;
    const rawUpload = async (): Promise<number> => {
      const start = performance.now();
      await new Upload({ client: s3, params: { Bucket: e.s3.bucket, Key: rawKey, Body: createReadStream(o.bigFile, { highWaterMark: MIB }) }, partSize: PART, queueSize: 4 }).done();
      return (performance.now() - start) / 1000;
    };
    const rawDownload = async (): Promise<number> => {
      const start = performance.now();
      const got = await s3.send(new GetObjectCommand({ Bucket: e.s3.bucket, Key: rawKey }));
      let n = 0;
      await pipeline(got.Body as Readable, new Writable({ write: (chunk: Buffer, _enc, cb) => ((n += chunk.length), cb()) }));
      if (n !== bytes) throw new Error(`RGW served ${n} bytes, expected ${bytes}`);
      return (performance.now() - start) / 1000;
    };
    o.log(`scale: warm-up upload of ${o.sizeMiB} MiB to Coffer-on-RGW and to RGW (not timed)`);
    await uploadOnce(coffer, o.bigFile, bytes, 0);
    await rawUpload();
    const check = await downloadOnce(coffer, bytes, true);
    if (check.sha256 !== o.bigSha) throw new Error(`Coffer on S3 served ${check.sha256}, expected ${o.bigSha}`);
    const up = { coffer: [] as number[], raw: [] as number[] };
    const down = { coffer: [] as number[], raw: [] as number[] };
    for (let run = 1; run <= o.runs; run++) {
      up.raw.push(gibPerSecond(bytes, await rawUpload()));
      up.coffer.push((await uploadOnce(coffer, o.bigFile, bytes, run)).gibPerSecond);
      down.raw.push(gibPerSecond(bytes, await rawDownload()));
      down.coffer.push((await downloadOnce(coffer, bytes, false)).gibPerSecond);
      o.log(`  run ${run}: upload coffer ${up.coffer.at(-1)!.toFixed(3)} / rgw ${up.raw.at(-1)!.toFixed(3)} GiB/s; download coffer ${down.coffer.at(-1)!.toFixed(3)} / rgw ${down.raw.at(-1)!.toFixed(3)} GiB/s`);
    }
    const sdkNote = `baseline: the AWS JS SDK straight to RGW on the same file (${PART / MIB} MiB parts, 4 in flight, like Coffer's adapter); median of ${o.runs}`;
    rows.push({ name: `S3 download ${o.sizeMiB} MiB, Coffer on RGW`, unit: 'GiB/s', coffer: median(down.coffer), baseline: median(down.raw), better: 'higher', target: null, pass: null, note: `GET through one Coffer node (authorize, audit, decrypt) from Ceph RGW; ${sdkNote}` });
    rows.push({ name: `S3 upload ${o.sizeMiB} MiB, Coffer on RGW`, unit: 'GiB/s', coffer: median(up.coffer), baseline: median(up.raw), better: 'higher', target: null, pass: null, note: `POST through one Coffer node (encrypt, multipart to RGW); ${sdkNote}` });

    // ---- authorized 4 KiB GETs: 2 nodes vs 1 node ----
    const small = (node: ChildServer<CofferServerReady>) => `${node.ready.url}/v1/projects/bench/artifacts/small/versions/1/content`;
    const gets = (url: string, connections: number) =>
      runChild<SmallGetsResult>(
        benchScript('load/small-gets'),
        { url, token, connections, expectedBytes: SMALL_BYTES, warmupSeconds: Math.min(2, o.getSeconds), durationSeconds: o.getSeconds } satisfies SmallGetsInput,
        (o.getSeconds + 62) * 1000,
      );
    o.log(`scale: 4 KiB GETs, ${o.connections} connections, 1 node`);
    const single = await gets(small(one), o.connections);
    o.log(`  1 node: ${Math.round(single.requestsPerSecond)} req/s, errors ${single.errors}`);
    o.log(`scale: 4 KiB GETs, ${o.connections} connections split over 2 nodes`);
    const half = Math.max(1, Math.floor(o.connections / 2));
    const pair = await Promise.all([gets(small(one), half), gets(small(two), o.connections - half || 1)]);
    const pairRate = pair[0].requestsPerSecond + pair[1].requestsPerSecond;
    o.log(`  2 nodes: ${Math.round(pairRate)} req/s, errors ${pair[0].errors + pair[1].errors}`);
    const errors = single.errors + pair[0].errors + pair[1].errors;
    rows.push({
      name: `4 KiB GETs on PG + RGW, 2 nodes vs 1 node, ${o.connections} conns`,
      unit: 'req/s',
      coffer: pairRate,
      baseline: single.requestsPerSecond,
      better: 'higher',
      target: 'no errors',
      pass: errors === 0,
      note: `coffer = two Coffer processes on one PostgreSQL and one bucket, the connections split between them (client round-robin); baseline = one process with all of them; each GET authenticated, authorized, audited in PostgreSQL, decrypted from RGW; p50 ${single.latencyMs.p50.toFixed(1)} ms (1 node) / ${pair[0].latencyMs.p50.toFixed(1)} ms (2 nodes); all on this machine's cores`,
    });
    await Promise.all(nodes.splice(0).map((n) => n.stop()));

    // ---- the scaling model's inputs: PG audit appends, RGW small requests ----
    rows.push(...(await pgAuditRows(dbUrl, o.auditSeconds, o.log)));
    rows.push(...(await s3RequestRows(s3, e.s3.bucket, `${prefix}small/`, o.auditSeconds, o.log)));
  } finally {
    await Promise.all(nodes.map((n) => n.stop().catch(() => undefined)));
    await emptyPrefix(s3, e.s3.bucket, prefix);
    s3.destroy();
    await admin(e.pgUrl, `DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
  }
  return rows;
}

async function pgAuditRows(dbUrl: string, seconds: number, log: (line: string) => void): Promise<BenchRow[]> {
  const out: BenchRow[] = [];
  for (const writers of [1, 64]) {
    const store = openPostgresStore(dbUrl, { maxConnections: 10, applicationName: 'coffer-bench-audit' });
    const before = await store.lastAudit();
    const audit = new HashChainAuditLog(store, generateAuditKeys(), { checkpointEvery: 1000 });
    let records = 0;
    const start = performance.now();
    const deadline = start + seconds * 1000;
    await Promise.all(
      Array.from({ length: writers }, async () => {
        while (performance.now() < deadline) {
          await audit.record(event(records));
          records++;
        }
      }),
    );
    const elapsed = (performance.now() - start) / 1000;
    await audit.flush();
    await audit.close();
    await store.close();
    log(`scale: PostgreSQL audit appends, ${writers} writer(s): ${Math.round(records / elapsed)} rec/s (from seq ${before?.seq ?? 0})`);
    out.push({ name: `audit appends/s on PostgreSQL, ${writers} writer${writers === 1 ? '' : 's'}`, unit: 'rec/s', coffer: records / elapsed, baseline: null, better: 'higher', target: null, pass: null, note: `HashChainAuditLog over openPostgresStore (local PostgreSQL 15, default fsync), ${seconds} s; each record durable before the call returns (group commit with concurrent writers)` });
  }
  return out;
}

async function s3RequestRows(s3: S3Client, bucket: string, prefix: string, seconds: number, log: (line: string) => void): Promise<BenchRow[]> {
  const body = randomBytes(SMALL_BYTES);
  const inFlight = 32;
  const rate = async (op: (i: number) => Promise<unknown>) => {
    let n = 0;
    const start = performance.now();
    const deadline = start + seconds * 1000;
    await Promise.all(
      Array.from({ length: inFlight }, async () => {
        while (performance.now() < deadline) await op(n++);
      }),
    );
    return { n, perSecond: n / ((performance.now() - start) / 1000) };
  };
  const puts = await rate((i) => s3.send(new PutObjectCommand({ Bucket: bucket, Key: `${prefix}${i}`, Body: body })));
  const gets = await rate(async (i) => {
    const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: `${prefix}${i % puts.n}` }));
    await (got.Body as Readable).toArray();
  });
  log(`scale: RGW 4 KiB PUT ${Math.round(puts.perSecond)} req/s, GET ${Math.round(gets.perSecond)} req/s (${inFlight} in flight)`);
  const note = `the AWS JS SDK straight to the local single-OSD Ceph RGW, ${inFlight} requests in flight, ${seconds} s`;
  return [
    { name: 'RGW 4 KiB PUT requests/s', unit: 'req/s', coffer: puts.perSecond, baseline: null, better: 'higher', target: null, pass: null, note },
    { name: 'RGW 4 KiB GET requests/s', unit: 'req/s', coffer: gets.perSecond, baseline: null, better: 'higher', target: null, pass: null, note },
  ];
}

async function emptyPrefix(s3: S3Client, bucket: string, prefix: string): Promise<void> {
  for (;;) {
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, MaxKeys: 1000 }));
    const keys = (listed.Contents ?? []).map((c) => ({ Key: c.Key! }));
    if (keys.length === 0) return;
    await s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: keys, Quiet: true } }));
  }
}
