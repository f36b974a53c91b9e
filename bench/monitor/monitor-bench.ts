/**
 * The monitor's detectors under one hot principal (issue 12): one user downloading one
 * small file over and over, as the soak that slowed the server did, fed record by record
 * through MonitorEngine (every detector at its defaults, the changed state encoded for a
 * save every 2,000 records as AuditMonitor does). One engine is first fed 60 simulated
 * minutes, so its window is full; then minutes of it alternate with minutes of a fresh
 * engine on the start of the stream (a busy machine slows both alike): the per-record
 * cost must be the same with the window full as with it empty.
 * Then the volume rule alone, old way against new: the same stream through
 * ReferenceEngine's volume rule (src/monitor/reference/: the window filtered out of every
 * record kept and recounted at each record, as the detector worked before) and through
 * MonitorEngine's (sliding sums), in slices of 1,000 records for as long as a time
 * budget allows the reference: records/s at the same point of the stream.
 *
 * Settings: COFFER_BENCH_MONITOR_MINUTES (simulated minutes, default 60),
 * COFFER_BENCH_MONITOR_RATE (records per simulated second, default 400: 200 downloads/s),
 * COFFER_BENCH_MONITOR_REF_S (wall seconds for the reference, default 20).
 * Runs in the calling process.
 */
import type { BenchRow } from '../bench-row.js';
import { MonitorEngine } from '../../src/monitor/monitor-engine.js';
import type { MonitorEvent } from '../../src/monitor/monitor-event.js';
import { ReferenceEngine } from '../../src/monitor/reference/reference-engine.js';
import { DEFAULT_RULES, mergeRules } from '../../src/monitor/rules.js';

const T0 = Date.UTC(2026, 0, 5, 9, 0, 0);
const SAVE_EVERY = 2000;

/** Records/s of one slice of the stream (`upTo`: records fed when it ended). */
export interface SliceRate {
  upTo: number;
  records: number;
  seconds: number;
  perSecond: number;
}

/** Everything the monitor case measured. */
export interface MonitorBenchResult {
  ratePerSimSecond: number;
  minutes: number;
  /** Every detector, one slice per simulated minute, alternating: a fresh engine on minutes 1.., and one whose window is already full on minutes `minutes + 1`.. */
  fresh: SliceRate[];
  full: SliceRate[];
  /** The volume rule alone, slices of REF_SLICE records, alternating: recounted (reference) and sliding sums, on the same records. */
  reference: SliceRate[];
  volume: SliceRate[];
  referenceBudgetSeconds: number;
  /** Bytes of the hot principal's stored state at the end, and the most any save wrote. */
  stateBytes: number;
  maxSaveBytes: number;
  saves: number;
}

/** A positive integer from environment variable `name`, or `fallback` when unset; throws on anything else. */
export function positiveInt(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < 1) throw new Error(`${name} must be a positive integer, got \`${raw}\``);
  return n;
}

/** Record `i` of the stream of `who`: attempt and completion of a 4 KiB download, `rate` records per simulated second. */
function record(i: number, rate: number, who = 'prn_bench_hot'): MonitorEvent {
  const attempt = i % 2 === 0;
  return {
    seq: i + 1,
    time: T0 + Math.floor((i * 1000) / rate),
    principalKey: who,
    actor: { id: who, name: who, kind: 'user' },
    action: 'download',
    resource: 'project/bench/artifact/small@latest',
    decision: 'allow',
    outcome: attempt ? 'attempt' : 'success',
    bytes: attempt ? null : 4096,
    reason: null,
    sourceIp: '10.0.0.7',
    network: '10.0.0.0/24',
    device: 'ua:coffer-cli/#',
    target: { project: 'bench', artifact: 'small', version: 'latest' },
    tier: 'internal',
    kind: 'dataset',
    grantIds: ['grt_bench_reader'],
  };
}

/** Feeds records `from`..`to` of the stream (`seq` shifted by `offset`) to `process`, timed. */
function slice(process: (e: MonitorEvent) => void, rate: number, from: number, to: number, offset: number, afterEach?: (i: number) => void): SliceRate {
  const started = performance.now();
  for (let i = from; i < to; i++) {
    const e = record(i, rate);
    process({ ...e, seq: e.seq + offset });
    afterEach?.(i);
  }
  const seconds = (performance.now() - started) / 1000;
  return { upTo: to, records: to - from, seconds, perSecond: (to - from) / seconds };
}

/** Records in one slice of the volume comparison. */
const REF_SLICE = 1000;
const VOLUME_ONLY = mergeRules(DEFAULT_RULES, { slowAndLow: { action: 'off' }, offHours: { action: 'off' }, newSource: { action: 'off' }, probing: { action: 'off' } });

/** Slices of a fresh engine and of a full one, alternated so a busy machine slows both alike. */
const ROUNDS = 10;

/** Runs the case (see the file comment). */
export function runMonitorBench(log: (line: string) => void = () => undefined): MonitorBenchResult {
  const rate = positiveInt('COFFER_BENCH_MONITOR_RATE', 400);
  const minutes = positiveInt('COFFER_BENCH_MONITOR_MINUTES', 60);
  const budget = positiveInt('COFFER_BENCH_MONITOR_REF_S', 20);
  const perMinute = rate * 60;
  const WARM_UP = 20_000;

  const fresh = new MonitorEngine(DEFAULT_RULES);
  const full = new MonitorEngine(DEFAULT_RULES);
  const reference = new ReferenceEngine(VOLUME_ONLY);
  const sliding = new MonitorEngine(VOLUME_ONLY);
  // JIT warm-up of every engine on a principal of its own, so the first slices measure the detectors, not the compiler
  for (let i = 0; i < WARM_UP; i++) {
    const e = record(i, rate, 'prn_bench_warm_up');
    fresh.process(e);
    full.process(e);
    sliding.process(e);
    if (i < WARM_UP / 10) reference.process(e);
  }
  let maxSaveBytes = 0;
  let saves = 0;
  const save = (engine: MonitorEngine) => (i: number) => {
    if ((i + 1) % SAVE_EVERY !== 0) return;
    const c = engine.changes();
    let bytes = 0;
    for (const [, json] of c.states) bytes += json?.length ?? 0;
    engine.commit(c);
    saves++;
    maxSaveBytes = Math.max(maxSaveBytes, bytes);
  };
  log(`monitor: filling the window of one engine with ${minutes} simulated minutes at ${rate} records/s`);
  slice((e) => full.process(e), rate, 0, minutes * perMinute, WARM_UP, save(full));
  log(`monitor: ${ROUNDS} minutes of a fresh engine alternating with ${ROUNDS} more of the full one`);
  const freshRates: SliceRate[] = [];
  const fullRates: SliceRate[] = [];
  for (let m = 0; m < ROUNDS; m++) {
    freshRates.push(slice((e) => fresh.process(e), rate, m * perMinute, (m + 1) * perMinute, WARM_UP, save(fresh)));
    fullRates.push(slice((e) => full.process(e), rate, (minutes + m) * perMinute, (minutes + m + 1) * perMinute, WARM_UP, save(full)));
  }
  log(`monitor: the volume rule alone, recounted (reference) and with sliding sums, alternating, for at most ${budget} s`);
  const referenceRates: SliceRate[] = [];
  const volumeRates: SliceRate[] = [];
  let spent = 0;
  for (let from = 0; spent < budget && from < minutes * perMinute; from += REF_SLICE) {
    const r = slice((e) => reference.process(e), rate, from, from + REF_SLICE, WARM_UP);
    spent += r.seconds;
    referenceRates.push(r);
    volumeRates.push(slice((e) => sliding.process(e), rate, from, from + REF_SLICE, WARM_UP));
  }
  const stateBytes = full.snapshotOf('prn_bench_hot')!.length;
  return { ratePerSimSecond: rate, minutes, fresh: freshRates, full: fullRates, reference: referenceRates, volume: volumeRates, referenceBudgetSeconds: budget, stateBytes, maxSaveBytes, saves };
}

/** The rows of the table. */
export function monitorRows(r: MonitorBenchResult): BenchRow[] {
  const median = (xs: SliceRate[]) => [...xs].map((x) => x.perSecond).sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const flat = median(r.full) / median(r.fresh);
  const last = r.reference.length - 1;
  // the last few slices of the reference, against the same records through sliding sums
  const tail = Math.max(0, last - 2);
  const stream = `one principal downloading one 4 KiB file, ${r.ratePerSimSecond} records per simulated second`;
  return [
    {
      name: `monitor engine, hot principal, window full (minutes ${r.minutes + 1}-${r.minutes + r.full.length})`,
      unit: 'rec/s',
      coffer: Math.round(median(r.full)),
      baseline: Math.round(median(r.fresh)),
      better: 'higher',
      target: 'per-record cost flat: >= 0.8x the same engine on an empty window',
      pass: flat >= 0.8,
      note: `MonitorEngine, every detector at its defaults, ${stream}, the changed state encoded for a save every ${SAVE_EVERY} records; baseline: a fresh engine on minutes 1-${r.fresh.length} of the stream, its minutes alternating with the full engine's (medians of ${r.full.length} minutes each)`,
    },
    {
      name: `monitor volume rule at ${r.reference[last]!.upTo} records in the window: sliding sums vs recount`,
      unit: 'rec/s',
      coffer: Math.round(median(r.volume.slice(tail))),
      baseline: Math.round(median(r.reference.slice(tail))),
      better: 'higher',
      target: null,
      pass: null,
      note: `the volume rule alone on the same records, slices of ${REF_SLICE} alternating; baseline: ReferenceEngine (src/monitor/reference/), the rule recounted from the records kept at every record, as the detector worked before: ${Math.round(r.reference[0]!.perSecond)} rec/s on the first ${REF_SLICE} records, down to ${Math.round(r.reference[last]!.perSecond)} at records ${r.reference[last]!.upTo - REF_SLICE + 1}-${r.reference[last]!.upTo} (${r.referenceBudgetSeconds} s budget); sliding sums ${Math.round(r.volume[0]!.perSecond)} and ${Math.round(r.volume[last]!.perSecond)} on the same slices`,
    },
    {
      name: `monitor state of the hot principal after ${r.minutes + r.full.length} min`,
      unit: 'KiB',
      coffer: Math.round((r.stateBytes / 1024) * 10) / 10,
      baseline: null,
      better: 'lower',
      target: '< 32 KiB whatever the traffic',
      pass: r.stateBytes < 32 * 1024,
      note: `the stored JSON of its state; ${r.saves} saves, at most ${Math.round(r.maxSaveBytes / 102.4) / 10} KiB written by one (only changed principals are written)`,
    },
  ];
}
