/**
 * Coffer's benchmark harness (`npm run bench`). Every case measures Coffer and its
 * baseline side by side in the same run on the same bytes, prints a table to stdout
 * (progress goes to stderr) and writes the raw figures as JSON to
 * bench/results/latest.json and a timestamped copy.
 *
 * Topology: the Coffer server and the bare baseline server each run in their own
 * Node child process for the whole run; every load-generator run is a fresh Node child
 * process; all traffic stays on 127.0.0.1. The audit case runs in this process.
 *
 * Settings: see options.ts (COFFER_BENCH_SIZE_MIB, COFFER_BENCH_RUNS, ...).
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, unlink } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { CofferClient } from '../src/client/index.js';
import { normalizeRows, type BenchRow } from './bench-row.js';
import { runAuditBench, type AuditBenchResult } from './cases/audit-bench.js';
import { alternate, downloadOnce, uploadOnce, type TransferRun, type TransferTarget } from './cases/transfer-bench.js';
import { benchScript, runChild, startChildServer, type ChildServer } from './child.js';
import { writeRandomFile } from './fixture-file.js';
import type { SmallGetsInput, SmallGetsResult } from './load/small-gets.js';
import type { UploadResult } from './load/upload.js';
import { machineFacts } from './machine-facts.js';
import { readOptions, type BenchOptions } from './options.js';
import { ProcSampler } from './proc-sampler.js';
import { loadPolicyRows, type PolicyRowsOutcome } from './policy-rows.js';
import { runS3Bench } from './s3/s3-bench.js';
import { runGateBench } from './gate/gate-bench.js';
import { runScaleBench, scaleBenchMissing } from './scale/scale-bench.js';
import { monitorRows, runMonitorBench, type MonitorBenchResult } from './monitor/monitor-bench.js';
import { monitorSoakRows, runMonitorSoak, type MonitorSoakResult } from './monitor/soak-bench.js';
import { formatProfileSummary, summarizeProfileFile, type ProfileSummary } from './profile-summary.js';
import { formatTable, writeResults } from './report.js';
import type { BareServerInput, BareServerReady } from './servers/bare-server.js';
import type { CofferServerInput, CofferServerReady } from './servers/coffer-server.js';
import { median } from './stats.js';

const MIB = 1024 * 1024;
const SMALL_BYTES = 4096;
const PROJECT = 'bench';
const BIG = 'model';
const SMALL = 'small';
/** Growth of a server's RSS over its idle RSS that still counts as "flat". */
const FLAT_RSS_GROWTH = 128 * MIB;

const TOPOLOGY =
  'Coffer server and bare baseline server: one Node child process each, alive for the whole run; ' +
  'load generator: a fresh Node child process per run; all on 127.0.0.1; audit case: in the harness process.';

const log = (line: string) => process.stderr.write(`${line}\n`);

function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('package.json not found above bench/');
    dir = up;
  }
  return dir;
}

interface TransferPhase {
  runs: Record<string, TransferRun[]>;
  /** Untimed runs (warm-up, digest check) included in the memory figures. */
  untimed: Record<string, TransferRun[]>;
}

interface GetsPhase {
  coffer: SmallGetsResult;
  bare: SmallGetsResult;
  auditRecordsPerGet: number;
  auditChainVerified: boolean;
  /** Server CPU busy (cores) over warm-up and measured phase. */
  serverCpuCores: { coffer: number; bare: number };
}

/** Everything measured, as written to the JSON file. */
interface Results {
  upload?: TransferPhase;
  download?: TransferPhase;
  gets?: GetsPhase;
  audit?: AuditBenchResult;
  policy?: PolicyRowsOutcome;
  s3?: BenchRow[];
  gate?: BenchRow[];
  scale?: BenchRow[];
  monitor?: MonitorBenchResult;
  monitorSoak?: MonitorSoakResult;
  cpuProfiles?: { phase: string; file: string; summary: ProfileSummary }[];
}

/** The two servers under test and what the cases need to reach them. */
interface Servers {
  coffer: ChildServer<CofferServerReady>;
  bare: ChildServer<BareServerReady>;
  client: CofferClient;
  token: string;
  targets: { coffer: TransferTarget & { downloadUrl: string }; bare: TransferTarget };
  /** Where per-phase CPU profiles of the Coffer server go; null: no profiling. */
  profileDir: string | null;
  profiles: { phase: string; file: string }[];
}

/** Runs `work` with the Coffer server's CPU profiler on, if profiling was asked for. */
async function profiled<T>(servers: Servers, phase: string, work: () => Promise<T>): Promise<T> {
  if (servers.profileDir === null) return work();
  await servers.coffer.command('profile-start');
  try {
    return await work();
  } finally {
    const file = join(servers.profileDir, `coffer-${phase}.cpuprofile`);
    await servers.coffer.command('profile-stop', file);
    servers.profiles.push({ phase, file });
  }
}

async function startServers(root: string, filesDir: string, bigSha: string, bigBytes: number, profileDir: string | null): Promise<Servers> {
  const uploadDir = join(root, 'bare-uploads');
  await mkdir(uploadDir);
  const bare = await startChildServer<BareServerReady>(benchScript('servers/bare-server'), { filesDir, uploadDir } satisfies BareServerInput);
  let coffer: ChildServer<CofferServerReady>;
  try {
    coffer = await startChildServer<CofferServerReady>(benchScript('servers/coffer-server'), { dataDir: join(root, 'coffer-data'), profile: profileDir !== null } satisfies CofferServerInput);
  } catch (err) {
    await bare.stop();
    throw err;
  }
  try {
    const url = coffer.ready.url;
    if (coffer.ready.setupToken === null) throw new Error('the fresh Coffer server has no setup token');
    const { token } = await new CofferClient({ baseUrl: url }).bootstrap({ setupToken: coffer.ready.setupToken, name: 'bench-admin' });
    const client = new CofferClient({ baseUrl: url, token, userAgent: 'coffer-bench' });
    await client.createProject({ name: PROJECT, description: 'benchmark' });
    // restricted: the strictest tier, reachable only through the creator's artifact grant
    await client.createArtifact(PROJECT, { name: BIG, kind: 'model', tier: 'restricted', environment: 'dev' });
    await client.createArtifact(PROJECT, { name: SMALL, kind: 'other', tier: 'restricted', environment: 'dev' });
    const small = await client.push(PROJECT, SMALL, Readable.from([Buffer.alloc(SMALL_BYTES, 7)]), { size: SMALL_BYTES });
    if (small.size !== SMALL_BYTES) throw new Error(`small version has ${small.size} bytes`);

    const versions = `${url}/v1/projects/${PROJECT}/artifacts/${BIG}/versions`;
    const cofferTarget: TransferTarget & { downloadUrl: string } = {
      label: 'coffer',
      pid: coffer.pid,
      token,
      uploadUrl: () => versions,
      afterUpload: (run: number, result: UploadResult) => {
        const v = result.body as { size?: number; sha256?: string; number?: number };
        if (v.size !== bigBytes || v.sha256 !== bigSha) throw new Error(`Coffer upload ${run}: stored size ${v.size} digest ${v.sha256}, expected ${bigBytes} ${bigSha}`);
        // the first (warm-up) upload is the version every download reads
        if (run === 0) cofferTarget.downloadUrl = `${versions}/${v.number}/content`;
        return Promise.resolve();
      },
      downloadUrl: '',
    };
    const bareTarget: TransferTarget = {
      label: 'bare',
      pid: bare.pid,
      uploadUrl: (run) => `${bare.ready.url}/uploads/upload-${run}.bin`,
      afterUpload: async (run, result) => {
        const size = (result.body as { size?: number }).size;
        if (size !== bigBytes) throw new Error(`bare upload ${run}: stored ${size} bytes, expected ${bigBytes}`);
        await unlink(join(uploadDir, `upload-${run}.bin`));
      },
      downloadUrl: `${bare.ready.url}/files/big.bin`,
    };
    return { coffer, bare, client, token, targets: { coffer: cofferTarget, bare: bareTarget }, profileDir, profiles: [] };
  } catch (err) {
    await Promise.all([coffer.stop(), bare.stop()]);
    throw err;
  }
}

function byLabel(map: Map<string, TransferRun[]>): Record<string, TransferRun[]> {
  return Object.fromEntries(map);
}

async function transfers(options: BenchOptions, servers: Servers, bigFile: string, bigSha: string, bigBytes: number, results: Results): Promise<void> {
  const targets = [servers.targets.bare, servers.targets.coffer];
  log(`warm-up: one upload of ${options.sizeMiB} MiB to each server (not timed; Coffer's is the version downloaded later)`);
  const warm: Record<string, TransferRun[]> = {};
  for (const t of targets) warm[t.label] = [await uploadOnce(t, bigFile, bigBytes, 0)];

  if (options.cases.has('upload')) {
    log(`upload ${options.sizeMiB} MiB x ${options.runs}`);
    const runs = await profiled(servers, 'upload', () => alternate(targets, options.runs, (t, run) => uploadOnce(t, bigFile, bigBytes, run), log));
    results.upload = { runs: byLabel(runs), untimed: warm };
  }
  if (options.cases.has('download')) {
    log(`download check: one download from each server with SHA-256 (not timed)`);
    const checks: Record<string, TransferRun[]> = {};
    for (const t of targets) {
      const r = await downloadOnce(t, bigBytes, true);
      if (r.sha256 !== bigSha) throw new Error(`${t.label} served ${r.sha256}, expected ${bigSha}`);
      checks[t.label] = [r];
    }
    log(`download ${options.sizeMiB} MiB x ${options.runs}`);
    const runs = await profiled(servers, 'download', () => alternate(targets, options.runs, (t) => downloadOnce(t, bigBytes, false), log));
    results.download = { runs: byLabel(runs), untimed: checks };
  }
}

async function smallGets(options: BenchOptions, servers: Servers, results: Results): Promise<void> {
  const base = {
    connections: options.connections,
    expectedBytes: SMALL_BYTES,
    warmupSeconds: Math.min(2, options.getSeconds),
    durationSeconds: options.getSeconds,
  };
  const timeoutMs = (base.warmupSeconds + base.durationSeconds) * 1000 + 60_000;
  log(`4 KiB GETs, ${options.connections} connections, ${options.getSeconds} s (+${base.warmupSeconds} s warm-up): bare`);
  const bareSampler = new ProcSampler(servers.bare.pid);
  bareSampler.start();
  const bare = await runChild<SmallGetsResult>(benchScript('load/small-gets'), { ...base, url: `${servers.bare.ready.url}/files/small.bin` } satisfies SmallGetsInput, timeoutMs);
  const bareServer = bareSampler.stop();
  log(`  bare   ${Math.round(bare.requestsPerSecond)} req/s, p50 ${bare.latencyMs.p50.toFixed(2)} ms, p99 ${bare.latencyMs.p99.toFixed(2)} ms, errors ${bare.errors}`);
  log('4 KiB GETs: Coffer');
  // verify calls are audited too: two in a row tell how many records one adds
  const first = await servers.client.verifyAudit();
  const before = await servers.client.verifyAudit();
  const perVerify = before.lastSeq - first.lastSeq;
  const cofferSampler = new ProcSampler(servers.coffer.pid);
  cofferSampler.start();
  const coffer = await profiled(servers, 'gets', () =>
    runChild<SmallGetsResult>(
      benchScript('load/small-gets'),
      { ...base, url: `${servers.coffer.ready.url}/v1/projects/${PROJECT}/artifacts/${SMALL}/versions/1/content`, token: servers.token } satisfies SmallGetsInput,
      timeoutMs,
    ),
  );
  const cofferServer = cofferSampler.stop();
  log(`  coffer ${Math.round(coffer.requestsPerSecond)} req/s, p50 ${coffer.latencyMs.p50.toFixed(2)} ms, p99 ${coffer.latencyMs.p99.toFixed(2)} ms, errors ${coffer.errors}`);
  log('  verifying the audit chain');
  const after = await servers.client.verifyAudit();
  const gets = coffer.warmupRequests + coffer.requests + coffer.errors;
  results.gets = {
    coffer,
    bare,
    auditRecordsPerGet: (after.lastSeq - before.lastSeq - perVerify) / gets,
    auditChainVerified: first.ok && before.ok && after.ok,
    serverCpuCores: { coffer: cofferServer.cpuSeconds / cofferServer.wallSeconds, bare: bareServer.cpuSeconds / bareServer.wallSeconds },
  };
}

function transferRows(kind: 'upload' | 'download', phase: TransferPhase, options: BenchOptions): BenchRow[] {
  const speed = (label: string) => median(phase.runs[label]!.map((r) => r.gibPerSecond));
  const coffer = speed('coffer');
  const bare = speed('bare');
  const all = (label: string) => [...phase.untimed[label]!, ...phase.runs[label]!];
  const memory = (label: string) => {
    const runs = all(label);
    const idle = runs[0]!.server.startRssBytes;
    const peak = Math.max(...runs.map((r) => r.server.peakRssBytes));
    return { idle, peak, growth: peak - idle, source: runs[0]!.server.peakSource };
  };
  const cm = memory('coffer');
  const bm = memory('bare');
  const cpu = (label: string) => median(phase.runs[label]!.map((r) => r.server.cpuSeconds / r.seconds));
  const clientCpu = (label: string) => median(phase.runs[label]!.map((r) => r.clientCpuSeconds / r.seconds));
  const busy = `server CPU busy: Coffer ${cpu('coffer').toFixed(2)} cores, bare ${cpu('bare').toFixed(2)}; client ${clientCpu('coffer').toFixed(2)} / ${clientCpu('bare').toFixed(2)} cores`;
  const rows: BenchRow[] = [];
  if (kind === 'download') {
    rows.push({
      name: `download ${options.sizeMiB} MiB`,
      unit: 'GiB/s',
      coffer,
      baseline: bare,
      better: 'higher',
      target: '>= 0.8x; server CPU/GiB <= bare + 1.0 core-s',
      pass: coffer >= 0.8 * bare && cpu('coffer') / coffer <= cpu('bare') / bare + 1.0,
      note: `server CPU per GiB: Coffer ${(cpu('coffer') / coffer).toFixed(2)} core-s, bare ${(cpu('bare') / bare).toFixed(2)}; GET .../content through Coffer (token auth + Cedar policy + 2 durable audit records + AES-256-GCM decrypt) vs bare node:http + fs.createReadStream of the plaintext; client http.get discarding the body; median of ${options.runs}; ${busy}`,
    });
  } else {
    rows.push({
      name: `upload ${options.sizeMiB} MiB`,
      unit: 'GiB/s',
      coffer,
      baseline: bare,
      better: 'higher',
      target: '>= 0.85x',
      pass: coffer >= 0.85 * bare,
      note: `POST .../versions through Coffer (auth + policy + audit + AES-256-GCM encrypt + SHA-256 + fsync + rename + metadata commit) vs bare node:http writing the body to a file + fsync; client streams the file from disk; median of ${options.runs}; ${busy}`,
    });
  }
  rows.push({
    name: `server peak RSS during ${kind}`,
    unit: 'MiB',
    coffer: cm.peak / MIB,
    baseline: bm.peak / MIB,
    better: 'lower',
    target: `growth < ${FLAT_RSS_GROWTH / MIB} MiB`,
    pass: cm.growth < FLAT_RSS_GROWTH,
    note: `peak RSS of the server process over ${all('coffer').length} ${kind}s of ${options.sizeMiB} MiB (${cm.source === 'vmhwm' ? 'VmHWM reset per transfer' : 'VmRSS sampled every 20 ms'}); growth over idle: Coffer ${(cm.growth / MIB).toFixed(0)} MiB (idle ${(cm.idle / MIB).toFixed(0)}), bare ${(bm.growth / MIB).toFixed(0)} MiB (idle ${(bm.idle / MIB).toFixed(0)})`,
  });
  return rows;
}

function getRows(g: GetsPhase, options: BenchOptions): BenchRow[] {
  const conns = `${options.connections} conns`;
  return [
    {
      name: `4 KiB GETs, ${conns}`,
      unit: 'req/s',
      coffer: g.coffer.requestsPerSecond,
      baseline: g.bare.requestsPerSecond,
      better: 'higher',
      target: '>= 0.5x, p99 <= 2x bare, no errors',
      pass: g.coffer.errors === 0 && g.bare.errors === 0 && g.auditChainVerified && g.coffer.requestsPerSecond >= 0.5 * g.bare.requestsPerSecond && g.coffer.latencyMs.p99 <= 2 * g.bare.latencyMs.p99,
      note:
        `keep-alive http.Agent (maxSockets ${options.connections}), ${options.getSeconds} s after a warm-up; each Coffer GET is authenticated, authorized and writes ` +
        `${g.auditRecordsPerGet.toFixed(2)} durable audit records (SQLite WAL, synchronous=FULL, group commit; chain verified: ${g.auditChainVerified}); ` +
        `bare serves a 4 KiB file with fs.createReadStream; CPU busy (cores), server / client: Coffer run ${g.serverCpuCores.coffer.toFixed(2)} / ${(g.coffer.clientCpuSeconds / g.coffer.seconds).toFixed(2)}, ` +
        `bare run ${g.serverCpuCores.bare.toFixed(2)} / ${(g.bare.clientCpuSeconds / g.bare.seconds).toFixed(2)}`,
    },
    { name: `4 KiB GET p50 latency, ${conns}`, unit: 'ms', coffer: g.coffer.latencyMs.p50, baseline: g.bare.latencyMs.p50, better: 'lower', target: null, pass: null },
    { name: `4 KiB GET p99 latency, ${conns}`, unit: 'ms', coffer: g.coffer.latencyMs.p99, baseline: g.bare.latencyMs.p99, better: 'lower', target: null, pass: null },
  ];
}

function auditRows(a: AuditBenchResult): BenchRow[] {
  const base = `baseline: raw better-sqlite3 single-row INSERT transactions (WAL, synchronous=FULL) of the same ${a.bodyBytes}-byte record bodies on the same disk`;
  return [
    {
      name: 'audit appends/s, 1 writer',
      unit: 'rec/s',
      coffer: a.coffer1.perSecond,
      baseline: a.raw1.perSecond,
      better: 'higher',
      target: '>= 0.8x, chain verifies',
      pass: a.coffer1.chainVerified && a.coffer1.perSecond >= 0.8 * a.raw1.perSecond,
      note: `HashChainAuditLog over openSqliteStore, each record awaited before the next (one commit + fsync each); ${base}; the variants ran in interleaved ${a.sliceSeconds} s slices, ${a.slices} each`,
    },
    {
      name: 'audit appends/s, 64 writers',
      unit: 'rec/s',
      coffer: a.coffer64.perSecond,
      baseline: a.raw1.perSecond,
      better: 'higher',
      target: 'chain verifies',
      pass: a.coffer64.chainVerified,
      note:
        `64 concurrent writers, group commit: ${(a.coffer64.records / Math.max(1, a.coffer64.transactions)).toFixed(1)} records per transaction; same baseline; ` +
        `raw better-sqlite3 with 64 rows per transaction reaches ${Math.round(a.raw64Batch.perSecond)} rec/s`,
    },
  ];
}

async function main(): Promise<void> {
  const options = readOptions();
  const date = new Date();
  const facts = await machineFacts(options.workDir, date);
  const repo = repoRoot();
  const resultsDir = join(repo, 'bench', 'results');
  const bigBytes = options.sizeMiB * MIB;
  log(`coffer bench: ${[...options.cases].join(', ')}; object ${options.sizeMiB} MiB; ${options.runs} runs; ${facts.cpuModel}, ${facts.cores} cores, node ${facts.node}`);
  log(`topology: ${TOPOLOGY}`);

  const results: Results = {};
  const root = await mkdtemp(join(options.workDir, 'coffer-bench-'));
  const profileDir = options.cpuProfile ? join(resultsDir, 'cpu-profiles.tmp', date.toISOString().replace(/[:.]/g, '-')) : null;
  try {
    const needServers = options.cases.has('upload') || options.cases.has('download') || options.cases.has('gets');
    if (needServers) {
      const filesDir = join(root, 'files');
      await mkdir(filesDir);
      log(`writing ${options.sizeMiB} MiB of random bytes`);
      const bigFile = join(filesDir, 'big.bin');
      const bigSha = await writeRandomFile(bigFile, bigBytes);
      await writeRandomFile(join(filesDir, 'small.bin'), SMALL_BYTES);
      if (profileDir !== null) await mkdir(profileDir, { recursive: true });
      const servers = await startServers(root, filesDir, bigSha, bigBytes, profileDir);
      try {
        if (options.cases.has('upload') || options.cases.has('download')) await transfers(options, servers, bigFile, bigSha, bigBytes, results);
        if (options.cases.has('gets')) await smallGets(options, servers, results);
      } finally {
        await Promise.all([servers.coffer.stop(), servers.bare.stop()]);
      }
      if (servers.profiles.length > 0) {
        results.cpuProfiles = [];
        for (const p of servers.profiles) results.cpuProfiles.push({ ...p, summary: await summarizeProfileFile(p.file, 25) });
      }
    }
    if (options.cases.has('audit')) {
      log(`audit appends: ${options.auditSeconds} s per case`);
      results.audit = await runAuditBench(root, options.auditSeconds);
    }
    if (options.cases.has('policy')) {
      results.policy = await loadPolicyRows(log);
      if (results.policy.status === 'failed') log(`policy: gave up after ${results.policy.attempts} attempts`);
    }
    if (options.cases.has('s3')) {
      log('s3: AWS JS SDK through the S3 endpoint vs the REST API vs s3rver (COFFER_BENCH_S3_MIB, default 1024)');
      results.s3 = normalizeRows(await runS3Bench());
    }
    const scaleMissing = scaleBenchMissing();
    // a full run on a machine without PostgreSQL and RGW skips the case; asking for it by name fails
    if (options.cases.has('scale') && scaleMissing !== null && (process.env.COFFER_BENCH_ONLY ?? '') === '') log(`scale: skipped: ${scaleMissing}`);
    else if (options.cases.has('scale')) {
      log(`scale: Coffer on PostgreSQL + Ceph RGW vs the SDK straight to RGW, ${options.sizeMiB} MiB; 2 nodes vs 1; PG audit and RGW request rates`);
      const scaleDir = join(root, 'scale');
      await mkdir(scaleDir);
      const bigFile = join(scaleDir, 'big.bin');
      const bigSha = await writeRandomFile(bigFile, bigBytes);
      results.scale = await runScaleBench({ ...options, workDir: scaleDir, bigFile, bigSha, log });
    }
    if (options.cases.has('gate')) {
      log(`gate: artifact scan throughput vs SHA-256, ${options.gateMiB} MiB per workload (COFFER_BENCH_GATE_MIB)`);
      results.gate = runGateBench(options.gateMiB, options.runs, log);
    }
    if (options.cases.has('monitor')) {
      results.monitorSoak = await runMonitorSoak(root, log);
      results.monitor = runMonitorBench(log);
    }
  } finally {
    await rm(root, { recursive: true, force: true });
  }

  const rows: BenchRow[] = [];
  if (results.download) rows.push(...transferRows('download', results.download, options));
  if (results.upload) rows.push(...transferRows('upload', results.upload, options));
  if (results.gets) rows.push(...getRows(results.gets, options));
  if (results.audit) rows.push(...auditRows(results.audit));
  if (results.policy?.status === 'ok') rows.push(...results.policy.rows);
  if (results.s3) rows.push(...results.s3);
  if (results.gate) rows.push(...results.gate);
  if (results.scale) rows.push(...results.scale);
  if (results.monitorSoak) rows.push(...monitorSoakRows(results.monitorSoak));
  if (results.monitor) rows.push(...monitorRows(results.monitor));

  const loadAtEnd = loadavg().map((l) => Math.round(l * 100) / 100);
  const paths = await writeResults(resultsDir, { machine: { ...facts, loadAverageAtEnd: loadAtEnd }, topology: TOPOLOGY, options: { ...options, cases: [...options.cases] }, rows, results }, date);
  const out = [
    `Coffer benchmarks, ${facts.date}: ${facts.cpuModel}, ${facts.cores} cores, ${facts.memoryGiB} GiB, node ${facts.node}, ${facts.os}`,
    `Topology: ${TOPOLOGY}`,
    `Load average (1/5/15 min) at start ${facts.loadAverage.join(' ')}, at end ${loadAtEnd.join(' ')}: the machine may be shared, compare ratios rather than absolute figures.`,
    '',
    formatTable(rows),
    '',
    `JSON: ${paths.latest} and ${paths.stamped}`,
  ];
  if (options.cpuProfile) out.splice(3, 0, 'CPU profiling of the Coffer server was ON: its figures include the profiler overhead.');
  for (const p of results.cpuProfiles ?? []) out.push('', `CPU profile of the Coffer server, ${p.phase} (timed runs): ${p.file}`, formatProfileSummary(p.summary));
  process.stdout.write(`${out.join('\n')}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
  process.exit(1);
});
