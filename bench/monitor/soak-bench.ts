/**
 * The single-user soak of issue 12, measured from outside: one user downloading one
 * small file (4 KiB, internal tier, through its reader grant) with 8 keep-alive clients,
 * against two real Coffer servers (child processes, embedded SQLite, local disk) that
 * differ only in `monitorEnabled`. Slices of the load alternate between the two servers
 * (a busy machine slows both alike), so the ratio compares like with like; the monitor-on
 * server's first and last slices show whether its cost grows as its state fills.
 * Between slices the harness reads each server's RSS and CPU time (/proc) and the
 * monitor-on server's /metrics (lag, detector time per record, what the saves wrote).
 *
 * Settings: COFFER_BENCH_SOAK_S (measured seconds per server, default 60),
 * COFFER_BENCH_SOAK_SLICE_S (seconds per slice, default 10),
 * COFFER_BENCH_SOAK_CLIENTS (default 8).
 */
import { Readable } from 'node:stream';
import { join } from 'node:path';
import { CofferClient } from '../../src/client/index.js';
import type { BenchRow } from '../bench-row.js';
import { positiveInt } from './monitor-bench.js';
import { benchScript, runChild, startChildServer, type ChildServer } from '../child.js';
import type { SmallGetsInput, SmallGetsResult } from '../load/small-gets.js';
import { readCpuSeconds, readMemory } from '../proc-sampler.js';
import type { CofferServerInput, CofferServerReady } from '../servers/coffer-server.js';
import { median } from '../stats.js';

const SMALL_BYTES = 4096;
const PROJECT = 'soak';
const ARTIFACT = 'small';
const USER = 'soaker';
const WARM_UP_S = 5;
const MIB = 1024 * 1024;

/** One timed slice of the load against one server. */
export interface SoakSlice {
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
  firstError: string | null;
  /** Server CPU seconds per request during the slice. */
  serverCpuMsPerRequest: number;
  /** Server RSS at the end of the slice. */
  rssBytes: number;
}

/** What the monitor-on server's /metrics said at the end. */
export interface SoakMonitorMetrics {
  records: number;
  lagSeconds: number;
  detectorSecondsMean: number;
  saves: number;
  persistedStates: number;
  persistedBytes: number;
  stateBytes: number;
  stateLargestBytes: number;
  alerts: number;
}

/** Everything the soak measured. */
export interface MonitorSoakResult {
  clients: number;
  sliceSeconds: number;
  on: SoakSlice[];
  off: SoakSlice[];
  /** RSS after the warm-up, before the first timed slice. */
  startRssBytes: { on: number; off: number };
  metrics: SoakMonitorMetrics;
}

interface SoakServer {
  label: 'on' | 'off';
  server: ChildServer<CofferServerReady>;
  url: string;
  token: string;
}

/** Starts one server and sets up the user, its grant and the small file. */
async function startSoakServer(root: string, label: 'on' | 'off'): Promise<SoakServer> {
  const server = await startChildServer<CofferServerReady>(benchScript('servers/coffer-server'), { dataDir: join(root, `soak-${label}`), profile: false, monitor: label === 'on' } satisfies CofferServerInput);
  try {
    const base = server.ready.url;
    if (server.ready.setupToken === null) throw new Error('the fresh Coffer server has no setup token');
    const { token: adminToken } = await new CofferClient({ baseUrl: base }).bootstrap({ setupToken: server.ready.setupToken, name: 'bench-admin' });
    const admin = new CofferClient({ baseUrl: base, token: adminToken, userAgent: 'coffer-bench' });
    await admin.createProject({ name: PROJECT, description: 'monitor soak' });
    await admin.createArtifact(PROJECT, { name: ARTIFACT, kind: 'dataset', tier: 'internal', environment: 'dev' });
    const v = await admin.push(PROJECT, ARTIFACT, Readable.from([Buffer.alloc(SMALL_BYTES, 7)]), { size: SMALL_BYTES });
    if (v.size !== SMALL_BYTES) throw new Error(`small version has ${v.size} bytes`);
    // an ordinary user with a reader grant: the monitor judges it (an administrator's lock would be refused)
    await admin.createPrincipal({ kind: 'user', name: USER });
    await admin.createGrant({ principal: USER, role: 'reader', project: PROJECT });
    const { token } = await admin.createToken({ principal: USER, description: 'monitor soak' });
    return { label, server, url: `${base}/v1/projects/${PROJECT}/artifacts/${ARTIFACT}/versions/${v.number}/content`, token };
  } catch (err) {
    await server.stop();
    throw err;
  }
}

async function slice(s: SoakServer, clients: number, seconds: number, warmupSeconds: number): Promise<SoakSlice> {
  const cpu = readCpuSeconds(s.server.pid);
  const r = await runChild<SmallGetsResult>(
    benchScript('load/small-gets'),
    { url: s.url, token: s.token, connections: clients, expectedBytes: SMALL_BYTES, warmupSeconds, durationSeconds: seconds } satisfies SmallGetsInput,
    (warmupSeconds + seconds) * 1000 + 60_000,
  );
  const served = r.warmupRequests + r.requests + r.errors;
  return {
    requestsPerSecond: r.requestsPerSecond,
    p50Ms: r.latencyMs.p50,
    p99Ms: r.latencyMs.p99,
    errors: r.errors,
    firstError: r.firstError,
    serverCpuMsPerRequest: ((readCpuSeconds(s.server.pid) - cpu) * 1000) / Math.max(1, served),
    rssBytes: readMemory(s.server.pid).rss,
  };
}

/** Sample values of a Prometheus text exposition, by series name (labels kept in the name). */
function parseMetrics(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    out.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return out;
}

async function monitorMetrics(s: SoakServer): Promise<SoakMonitorMetrics> {
  const res = await fetch(`${new URL(s.url).origin}/metrics`);
  if (!res.ok) throw new Error(`/metrics answered ${res.status}`);
  const m = parseMetrics(await res.text());
  const get = (name: string) => m.get(name) ?? 0;
  let alerts = 0;
  for (const [k, v] of m) if (k.startsWith('coffer_monitor_alerts_total')) alerts += v;
  const count = get('coffer_monitor_detector_seconds_count');
  return {
    records: get('coffer_monitor_records_total'),
    lagSeconds: get('coffer_monitor_lag_seconds'),
    detectorSecondsMean: count > 0 ? get('coffer_monitor_detector_seconds_sum') / count : 0,
    saves: get('coffer_monitor_persist_seconds_count'),
    persistedStates: get('coffer_monitor_persisted_states_total'),
    persistedBytes: get('coffer_monitor_persisted_bytes_total'),
    stateBytes: get('coffer_monitor_state_bytes'),
    stateLargestBytes: get('coffer_monitor_state_largest_bytes'),
    alerts,
  };
}

/** Runs the soak (see the file comment) with the servers' data under `root`. */
export async function runMonitorSoak(root: string, log: (line: string) => void = () => undefined): Promise<MonitorSoakResult> {
  const total = positiveInt('COFFER_BENCH_SOAK_S', 60);
  const sliceSeconds = Math.min(total, positiveInt('COFFER_BENCH_SOAK_SLICE_S', 10));
  const clients = positiveInt('COFFER_BENCH_SOAK_CLIENTS', 8);
  const rounds = Math.max(1, Math.round(total / sliceSeconds));
  const on = await startSoakServer(root, 'on');
  let off: SoakServer;
  try {
    off = await startSoakServer(root, 'off');
  } catch (err) {
    await on.server.stop();
    throw err;
  }
  try {
    log(`monitor soak: one user, one 4 KiB file, ${clients} clients, ${rounds} slices of ${sliceSeconds} s per server, monitor on and off alternating`);
    // untimed warm-up of each (JIT, caches, the first audit pages)
    for (const s of [on, off]) await slice(s, clients, 1, WARM_UP_S);
    const startRssBytes = { on: readMemory(on.server.pid).rss, off: readMemory(off.server.pid).rss };
    const slices: Record<'on' | 'off', SoakSlice[]> = { on: [], off: [] };
    for (let r = 0; r < rounds; r++) {
      for (const s of r % 2 === 0 ? [on, off] : [off, on]) {
        const x = await slice(s, clients, sliceSeconds, 0);
        slices[s.label].push(x);
        log(`  monitor ${s.label.padEnd(3)} slice ${r + 1}: ${Math.round(x.requestsPerSecond)} req/s, p50 ${x.p50Ms.toFixed(1)} ms, p99 ${x.p99Ms.toFixed(1)} ms, ${x.serverCpuMsPerRequest.toFixed(2)} ms CPU/req, RSS ${(x.rssBytes / MIB).toFixed(0)} MiB${x.errors > 0 ? `, ${x.errors} errors (${x.firstError})` : ''}`);
      }
    }
    // the next save (every 5 s) writes what the last slice changed
    await new Promise((resolve) => setTimeout(resolve, 6000));
    const metrics = await monitorMetrics(on);
    return { clients, sliceSeconds, on: slices.on, off: slices.off, startRssBytes, metrics };
  } finally {
    await Promise.all([on.server.stop(), off.server.stop()]);
  }
}

/** The rows of the table. */
export function monitorSoakRows(r: MonitorSoakResult): BenchRow[] {
  const rate = (xs: SoakSlice[]) => median(xs.map((x) => x.requestsPerSecond));
  const p50 = (xs: SoakSlice[]) => median(xs.map((x) => x.p50Ms));
  const cpu = (xs: SoakSlice[]) => median(xs.map((x) => x.serverCpuMsPerRequest));
  const errors = (xs: SoakSlice[]) => xs.reduce((n, x) => n + x.errors, 0);
  const first = r.on[0]!;
  const last = r.on[r.on.length - 1]!;
  const growth = (xs: SoakSlice[], start: number) => (xs[xs.length - 1]!.rssBytes - start) / MIB;
  const m = r.metrics;
  const seconds = r.on.length * r.sliceSeconds;
  // slices of one round ran back to back: their ratio is the least disturbed by a load that drifts
  const paired = median(r.on.map((x, i) => x.requestsPerSecond / r.off[i]!.requestsPerSecond));
  const extraRss = growth(r.on, r.startRssBytes.on) - growth(r.off, r.startRssBytes.off);
  return [
    {
      name: `monitor on vs off, single-user soak, ${r.clients} clients`,
      unit: 'req/s',
      coffer: rate(r.on),
      baseline: rate(r.off),
      better: 'higher',
      target: '>= 0.9x monitor off; no errors',
      pass: rate(r.on) >= 0.9 * rate(r.off) && errors(r.on) + errors(r.off) === 0,
      note:
        `one user (reader grant) GETting one 4 KiB internal file, ${r.clients} keep-alive clients, two Coffer servers differing only in monitorEnabled, ` +
        `${r.on.length} slices of ${r.sliceSeconds} s each alternating (medians; median of the per-round ratios ${paired.toFixed(2)}x); p50 ${p50(r.on).toFixed(1)} ms on, ${p50(r.off).toFixed(1)} ms off; ` +
        `server CPU ${cpu(r.on).toFixed(2)} ms/request on, ${cpu(r.off).toFixed(2)} off; monitor on, first slice ${Math.round(first.requestsPerSecond)} req/s (p50 ${first.p50Ms.toFixed(1)} ms), ` +
        `last ${Math.round(last.requestsPerSecond)} req/s (p50 ${last.p50Ms.toFixed(1)} ms); errors ${errors(r.on)} on, ${errors(r.off)} off`,
    },
    {
      name: `monitor on: last vs first slice of the soak (${seconds} s)`,
      unit: 'req/s',
      coffer: last.requestsPerSecond,
      baseline: first.requestsPerSecond,
      better: 'higher',
      target: 'no downward trend: >= 0.8x',
      pass: last.requestsPerSecond >= 0.8 * first.requestsPerSecond,
      note: `monitor off, same slices: first ${Math.round(r.off[0]!.requestsPerSecond)}, last ${Math.round(r.off[r.off.length - 1]!.requestsPerSecond)} req/s`,
    },
    {
      name: `server RSS growth over the soak, monitor on vs off`,
      unit: 'MiB',
      coffer: growth(r.on, r.startRssBytes.on),
      baseline: growth(r.off, r.startRssBytes.off),
      better: 'lower',
      target: 'monitor on grows < 32 MiB more than off',
      pass: extraRss < 32,
      note: `RSS (VmRSS) after the last slice minus RSS after the warm-up (a fresh process still grows its heap: compare with monitor off): monitor on ${(r.startRssBytes.on / MIB).toFixed(0)} to ${(r.on[r.on.length - 1]!.rssBytes / MIB).toFixed(0)} MiB, off ${(r.startRssBytes.off / MIB).toFixed(0)} to ${(r.off[r.off.length - 1]!.rssBytes / MIB).toFixed(0)} MiB`,
    },
    {
      name: 'monitor state persisted during the soak',
      unit: 'KiB',
      coffer: Math.round((m.persistedBytes / 1024) * 10) / 10,
      baseline: null,
      better: 'lower',
      target: null,
      pass: null,
      note:
        `${m.saves} saves wrote ${m.persistedStates} principal states (only those that changed), ${(m.persistedBytes / 1024).toFixed(1)} KiB in all; ` +
        `state as last saved ${(m.stateBytes / 1024).toFixed(1)} KiB (largest principal ${(m.stateLargestBytes / 1024).toFixed(1)} KiB); ${m.records} records analysed, ` +
        `detectors ${(m.detectorSecondsMean * 1e6).toFixed(1)} us per record (mean), lag at the end ${m.lagSeconds.toFixed(3)} s, alerts ${m.alerts}`,
    },
  ];
}
