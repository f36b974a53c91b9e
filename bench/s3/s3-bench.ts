/**
 * The S3 endpoint benchmark: upload and download of a large object (1 GiB by default,
 * COFFER_BENCH_S3_MIB to change) through Coffer's S3 endpoint with the AWS SDK for
 * JavaScript v3, side by side in the same run with Coffer's own REST API (target: S3 at
 * least 90% of REST) and with s3rver (an unencrypted fake S3 server from npm, the peer
 * a test suite would otherwise use). Servers and client run in this process on
 * 127.0.0.1; every figure is the median of the runs (COFFER_BENCH_S3_RUNS, default 3).
 */
import { createHash, randomBytes } from 'node:crypto';
import { Agent } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import S3rver from 's3rver';
import { CofferClient } from '../../src/client/index.js';
import { S3CredentialsClient } from '../../src/client/s3-client.js';
import { loadConfig } from '../../src/config/index.js';
import { startServer } from '../../src/main.js';

const MIB = 1024 * 1024;

/** One row of the benchmark table (the shape of bench/bench-row.ts). */
export interface S3BenchRow {
  name: string;
  unit: string;
  coffer: number;
  baseline: number | null;
  better: 'higher' | 'lower';
  target: string | null;
  pass: boolean | null;
  note?: string;
}

/** `size` bytes from a 1 MiB random block, each copy tagged with its index (no disk, no big buffers). */
function payload(size: number): () => Readable {
  const block = randomBytes(MIB);
  return () =>
    Readable.from(
      (function* () {
        for (let i = 0; i * MIB < size; i++) {
          const b = Buffer.from(block.subarray(0, Math.min(MIB, size - i * MIB)));
          b.writeUInt32BE(i, 0);
          yield b;
        }
      })(),
    );
}

async function drain(stream: AsyncIterable<unknown>): Promise<{ bytes: number; sha256: string }> {
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of stream) {
    hash.update(chunk as Buffer);
    bytes += (chunk as Buffer).length;
  }
  return { bytes, sha256: hash.digest('hex') };
}

async function timed(fn: () => Promise<void>): Promise<number> {
  const t = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t) / 1e9;
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

function sdk(endpoint: string, credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string }, options: { checksums?: boolean } = {}): S3Client {
  const { accessKeyId, secretAccessKey, sessionToken } = credentials;
  return new S3Client({
    endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}) },
    requestHandler: { httpAgent: new Agent({ keepAlive: true, maxSockets: 16 }) },
    // s3rver predates the SDKs' default checksums (aws-chunked trailers): it would store the framing
    ...(options.checksums === false ? { requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED' } : {}),
  });
}

/** Concurrent clients of the small-PUT case. */
const SMALL_CONNECTIONS = 16;

/** 4 KiB PutObject requests of never-used keys from SMALL_CONNECTIONS concurrent loops for `seconds`; PUTs per second. */
async function smallPuts(client: S3Client, label: string, seconds: number): Promise<number> {
  const body = randomBytes(4096);
  let done = 0;
  const start = performance.now();
  const deadline = start + seconds * 1000;
  await Promise.all(
    Array.from({ length: SMALL_CONNECTIONS }, async (_, c) => {
      for (let i = 0; performance.now() < deadline && i < 1_000_000; i++) {
        await client.send(new PutObjectCommand({ Bucket: 'bench', Key: `small/${label}-${c}-${i}`, Body: body, ContentLength: body.length }));
        done++;
      }
    }),
  );
  const rate = done / ((performance.now() - start) / 1000);
  log(`${label}: ${rate.toFixed(1)} small PUT/s`);
  return rate;
}

const log = (line: string) => process.stderr.write(`[s3 bench] ${line}\n`);

/** Runs the S3 benchmark; returns its table rows. */
export async function runS3Bench(): Promise<S3BenchRow[]> {
  const sizeMib = Number(process.env.COFFER_BENCH_S3_MIB ?? 1024);
  const runs = Number(process.env.COFFER_BENCH_S3_RUNS ?? 3);
  const size = sizeMib * MIB;
  const body = payload(size);
  const expected = await drain(body());
  const dir = await mkdtemp(join(tmpdir(), 'coffer-s3-bench-'));
  const server = await startServer(loadConfig({ flags: { dataDir: join(dir, 'coffer'), listen: '127.0.0.1:0', logLevel: 'warn', monitorEnabled: 0 } }), { printSetupToken: () => undefined });
  const s3rver = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory: join(dir, 's3rver'), configureBuckets: [{ name: 'bench', configs: [] }] });
  try {
    const setup = server.runtime.setupToken!;
    const { token } = await new CofferClient({ baseUrl: server.url }).bootstrap({ setupToken: setup, name: 'bench' });
    const rest = new CofferClient({ baseUrl: server.url, token });
    await rest.createProject({ name: 'bench' });
    await rest.createArtifact('bench', { name: 'rest.bin', kind: 'other', tier: 'internal', environment: 'dev' });
    const creds = await new S3CredentialsClient({ baseUrl: server.url, token }).issue({ ttlSeconds: 3600 });
    const coffer = sdk(server.s3Url!, creds);
    const { port } = (await s3rver.run()) as unknown as { port: number };
    const fake = sdk(`http://127.0.0.1:${port}`, { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' }, { checksums: false });
    await fake.send(new CreateBucketCommand({ Bucket: 'bench' })).catch(() => undefined);

    const figures: Record<string, number[]> = {};
    const add = (name: string, seconds: number) => (figures[name] ??= []).push(sizeMib / seconds);
    const check = (got: { bytes: number; sha256: string }, what: string) => {
      if (got.bytes !== size || got.sha256 !== expected.sha256) throw new Error(`${what}: downloaded bytes differ from the upload`);
    };
    for (let r = 0; r < runs; r++) {
      log(`run ${r + 1}/${runs}: ${sizeMib} MiB`);
      add('rest-up', await timed(async () => void (await rest.push('bench', 'rest.bin', body(), { size }))));
      add('rest-down', await timed(async () => check(await drain((await rest.pull('bench', 'rest.bin', 'latest')).body), 'rest')));
      add('s3-put', await timed(async () => void (await coffer.send(new PutObjectCommand({ Bucket: 'bench', Key: 'put.bin', Body: body(), ContentLength: size })))));
      add('s3-get', await timed(async () => check(await drain((await coffer.send(new GetObjectCommand({ Bucket: 'bench', Key: 'put.bin' }))).Body as Readable), 's3')));
      add('s3-multipart', await timed(async () => void (await new Upload({ client: coffer, params: { Bucket: 'bench', Key: 'mp.bin', Body: body() }, partSize: 16 * MIB, queueSize: 4 }).done())));
      add('s3rver-put', await timed(async () => void (await fake.send(new PutObjectCommand({ Bucket: 'bench', Key: 'put.bin', Body: body(), ContentLength: size })))));
      add('s3rver-get', await timed(async () => check(await drain((await fake.send(new GetObjectCommand({ Bucket: 'bench', Key: 'put.bin' }))).Body as Readable), 's3rver')));
    }
    const smallSeconds = Number(process.env.COFFER_BENCH_S3_SMALL_S ?? 5);
    log(`4 KiB PutObject of new keys, ${SMALL_CONNECTIONS} connections, ${smallSeconds} s each`);
    const smallCoffer = await smallPuts(coffer, 'coffer', smallSeconds);
    const smallFake = await smallPuts(fake, 's3rver', smallSeconds);
    coffer.destroy();
    fake.destroy();
    const m = (name: string) => Math.round(median(figures[name]!) * 10) / 10;
    const vsRest = (s3: number, restFigure: number) => s3 >= 0.9 * restFigure;
    const rows: S3BenchRow[] = [
      { name: `s3 upload ${sizeMib} MiB (PutObject, JS SDK) vs REST push`, unit: 'MiB/s', coffer: m('s3-put'), baseline: m('rest-up'), better: 'higher', target: '>= 90% of REST', pass: vsRest(m('s3-put'), m('rest-up')), note: 'baseline: Coffer REST API upload of the same bytes in the same run' },
      { name: `s3 download ${sizeMib} MiB (GetObject, JS SDK) vs REST pull`, unit: 'MiB/s', coffer: m('s3-get'), baseline: m('rest-down'), better: 'higher', target: '>= 90% of REST', pass: vsRest(m('s3-get'), m('rest-down')), note: 'baseline: Coffer REST API download of the same bytes in the same run' },
      { name: `s3 multipart upload ${sizeMib} MiB (lib-storage, 16 MiB parts, 4 in flight) vs REST push`, unit: 'MiB/s', coffer: m('s3-multipart'), baseline: m('rest-up'), better: 'higher', target: null, pass: null, note: 'parts are sealed as they arrive and re-sealed as one version at Complete (docs/s3.md)' },
      { name: `s3 upload ${sizeMib} MiB vs s3rver`, unit: 'MiB/s', coffer: m('s3-put'), baseline: m('s3rver-put'), better: 'higher', target: null, pass: null, note: 's3rver 3.7.1: unencrypted fake S3 (files on disk, no audit, no policy); its client sends no CRC32 (s3rver cannot decode aws-chunked trailers), Coffer\'s client uses the SDK defaults' },
      { name: `s3 download ${sizeMib} MiB vs s3rver`, unit: 'MiB/s', coffer: m('s3-get'), baseline: m('s3rver-get'), better: 'higher', target: null, pass: null, note: 's3rver 3.7.1: unencrypted fake S3 (files on disk, no audit, no policy)' },
    ];
    rows.push({
      name: `s3 4 KiB PutObject of new keys, ${SMALL_CONNECTIONS} connections`,
      unit: 'PUT/s',
      coffer: Math.round(smallCoffer * 10) / 10,
      baseline: Math.round(smallFake * 10) / 10,
      better: 'higher',
      target: '>= 400/s',
      pass: smallCoffer >= 400,
      note: 'each Coffer PUT creates its artifact (creator grant, 2 audit records), authorizes, records the attempt, seals (blob fsync + directory fsyncs), stores the S3 metadata and the version row, records the outcome, all durable before the 200; baseline: s3rver (no fsync, no audit)',
    });
    for (const row of rows) log(`${row.name}: ${row.coffer} ${row.unit} (baseline ${row.baseline})`);
    return rows;
  } finally {
    await s3rver.close().catch(() => undefined);
    await server.close();
    await rm(dir, { recursive: true, force: true });
  }
}
