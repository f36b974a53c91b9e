import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { encodePrincipal, initialPrincipalState, stepPrincipal } from '../detector-set.js';
import { DEFAULT_RULES, mergeRules } from '../rules.js';
import { download, ev, runDetector } from '../test-events.js';
import type { MonitorEvent } from '../monitor-event.js';
import { HOUR, MINUTE } from './detector.js';
import { VOLUME_DATASETS, volumeDetector, type VolumeState } from './volume.js';

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;
const T0 = Date.UTC(2025, 0, 6, 9, 0, 0);

function run(events: MonitorEvent[], rules = DEFAULT_RULES, state: VolumeState = volumeDetector.initial()) {
  return runDetector(volumeDetector, events, rules, state);
}

/** Downloads (attempt, then completion 100 ms later) of S3 keys `names` of `project`, `parallel` at a time, 50 ms apart; seqs from `seq`. */
function keys(seq: number, t: number, names: string[], size: number, extra: { project?: string; tier?: 'internal' | 'restricted'; parallel?: number } = {}): MonitorEvent[] {
  const out: MonitorEvent[] = [];
  names.forEach((name, i) => {
    const at = t + Math.floor(i / (extra.parallel ?? 8)) * 50;
    out.push(...download(seq + 2 * i, at, name, size, { kind: 'other', project: extra.project ?? 'vision', tier: extra.tier ?? 'internal', ms: 100 }));
  });
  return out.sort((a, b) => a.time - b.time || a.seq - b.seq);
}

void test('a cold principal crossing a tier cap is found at the crossing download, with the window as evidence', () => {
  const rules = mergeRules(DEFAULT_RULES, { volume: { tierCapsBytes: { confidential: 10 * GiB } } });
  const events: MonitorEvent[] = [];
  for (let i = 0; i < 6; i++) events.push(...download(1 + 2 * i, T0 + i * 5 * MINUTE, `datasets/d${i}`, 2 * GiB, { tier: 'confidential' }));
  const { findings } = run(events, rules);
  assert.equal(findings.length, 1);
  const f = findings[0]!;
  assert.equal(f.rule, 'volume');
  assert.equal(f.severity, 'critical');
  // 5 x 2 GiB = 10 GiB is not above the cap; the sixth completion (seq 12) crosses it
  assert.equal(f.triggerSeq, 12);
  assert.deepEqual(f.evidence, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
  assert.equal(f.measures.confidentialBytes, 12 * GiB);
  assert.match(f.summary, /confidential/);
});

void test('downloads spread beyond the window never add up', () => {
  const rules = mergeRules(DEFAULT_RULES, { volume: { tierCapsBytes: { confidential: 10 * GiB } } });
  const events: MonitorEvent[] = [];
  for (let i = 0; i < 12; i++) events.push(...download(1 + 2 * i, T0 + i * 20 * MINUTE, `datasets/d${i % 3}`, 3 * GiB, { tier: 'confidential' }));
  assert.equal(run(events, rules).findings.length, 0);
});

void test('the window is the current minute and the 59 before it: a download 60 slots back has left it', () => {
  const rules = mergeRules(DEFAULT_RULES, { volume: { tierCapsBytes: { internal: 3 * GiB } } });
  const at = (minute: number) => T0 + minute * MINUTE;
  // 2 GiB at 09:00:00, then 2 GiB at 09:59:59 (same window: found) ...
  assert.equal(run([...download(1, at(0), 'datasets/a', 2 * GiB, { ms: 0 }), ...download(3, at(60) - 1000, 'datasets/b', 2 * GiB, { ms: 0 })], rules).findings.length, 1);
  // ... or at 10:00:00, when the minute 09:00 has left the window
  assert.equal(run([...download(1, at(0), 'datasets/a', 2 * GiB, { ms: 0 }), ...download(3, at(60), 'datasets/b', 2 * GiB, { ms: 0 })], rules).findings.length, 0);
});

void test('too many distinct datasets in the window is bulk even when small', () => {
  const events: MonitorEvent[] = [];
  for (let i = 0; i <= DEFAULT_RULES.volume.maxDistinctDatasets; i++) events.push(...download(1 + 2 * i, T0 + i * 30_000, `small/a${i}`, 1024));
  const { findings } = run(events);
  assert.equal(findings.length, 1);
  assert.match(findings[0]!.summary, /41 distinct datasets > cap 40/);
});

void test('issue 13.11: `dvc pull` of 2,500 keys of one DVC cache and `aws s3 sync` of a 203-file tree are one dataset each: no finding at the defaults', () => {
  const dvc = Array.from({ length: 2500 }, (_, i) => `dvc/files/md5/${(i % 256).toString(16).padStart(2, '0')}/${i.toString(16).padStart(30, '0')}`);
  const pulled = run(keys(1, T0, dvc, 400 * 1024));
  assert.deepEqual(pulled.findings, []);
  assert.equal(pulled.state.datasets.size, 1);
  // DVC 2 at the root of a bucket (`ab/cdef...`), and an exported tree in many folders
  const root = Array.from({ length: 2500 }, (_, i) => `${(i % 256).toString(16).padStart(2, '0')}/${i.toString(16).padStart(30, '0')}`);
  assert.deepEqual(run(keys(1, T0, root, 400 * 1024)).findings, []);
  const tree = Array.from({ length: 203 }, (_, i) => `exports/${['train', 'val', 'test'][i % 3]}/class-${i % 10}/${i}.png`);
  const synced = run(keys(1, T0, tree, 2 * MiB, { parallel: 10 }));
  assert.deepEqual(synced.findings, []);
  assert.equal(synced.state.datasets.size, 1);
});

void test('the same keys classified one by one (kind dataset) are 2,500 datasets: the cap still applies to what the catalog calls datasets', () => {
  const events: MonitorEvent[] = [];
  for (let i = 0; i < 50; i++) events.push(...download(1 + 2 * i, T0 + i * 1000, `tables/t${i}`, MiB, { kind: 'dataset' }));
  assert.match(run(events).findings[0]?.summary ?? '', /41 distinct datasets/);
});

void test('many keys across many projects: the distinct-projects cap locks what no single folder would', () => {
  const events: MonitorEvent[] = [];
  let seq = 1;
  for (let p = 0; p < 10; p++) {
    const names = Array.from({ length: 20 }, (_, i) => `exports/train/${p}-${i}.png`);
    events.push(...keys(seq, T0 + p * 20_000, names, 200 * 1024, { project: `proj-${p}` }));
    seq += 2 * names.length;
  }
  events.sort((a, b) => a.time - b.time || a.seq - b.seq);
  const { findings } = run(events);
  assert.equal(findings.length, 1);
  assert.match(findings[0]!.summary, /9 distinct projects > cap 8/);
  assert.equal(findings[0]!.severity, 'critical');
});

void test('restricted data beyond the principal\'s own history: 4 GiB budget with no history, more for a principal that always pulls more', () => {
  const pulls = (seq: number, t: number, n: number, size: number) => {
    const out: MonitorEvent[] = [];
    for (let i = 0; i < n; i++) out.push(...download(seq + 2 * i, t + i * MINUTE, 'pii/users', size, { tier: 'restricted' }));
    return out;
  };
  // no history: the fifth GiB-sized version within the hour crosses 4 GiB
  const cold = run(pulls(1, T0, 6, GiB));
  assert.equal(cold.findings.length, 1);
  assert.equal(cold.findings[0]!.triggerSeq, 10);
  assert.match(cold.findings[0]!.summary, /5\.0 GiB of restricted data > usual 4\.0 GiB/);
  // a principal that pulls 3 GiB of it every working hour for weeks has a budget of its own
  const state = volumeDetector.initial();
  let seq = 1;
  for (let h = 0; h < 30; h++) {
    run(pulls(seq, T0 + h * HOUR, 3, GiB), DEFAULT_RULES, state);
    seq += 6;
  }
  assert.ok(state.restricted.n >= 29);
  assert.deepEqual(run(pulls(seq, T0 + 31 * HOUR, 6, GiB), DEFAULT_RULES, state).findings, [], '6 GiB is usual enough for it');
  const drained = run(pulls(seq + 100, T0 + 33 * HOUR, 15, GiB), DEFAULT_RULES, state);
  assert.match(drained.findings[0]?.summary ?? '', /of restricted data > usual/);
});

void test('against its own baseline: a principal pulling ~1 GiB an hour is flagged at 20 GiB over many datasets, not at 1.5 GiB', () => {
  let seq = 1;
  const learn: MonitorEvent[] = [];
  for (let h = 0; h < 30; h++) {
    learn.push(...download(seq, T0 + h * HOUR, `datasets/d${h % 3}`, (0.8 + (h % 3) * 0.2) * GiB));
    seq += 2;
  }
  const learned = run(learn);
  assert.equal(learned.findings.length, 0);
  assert.ok(learned.state.bytes.n >= DEFAULT_RULES.volume.baselineMinSamples);

  const quiet = run(download(seq, T0 + 31 * HOUR, 'datasets/d1', 1.5 * GiB), DEFAULT_RULES, learned.state);
  assert.equal(quiet.findings.length, 0);

  const bulk: MonitorEvent[] = [];
  for (let i = 0; i < 10; i++) bulk.push(...download(seq + 2 + 2 * i, T0 + 32 * HOUR + i * 2 * MINUTE, `datasets/x${i}`, 2 * GiB));
  const found = run(bulk, DEFAULT_RULES, learned.state);
  assert.equal(found.findings.length, 1);
  assert.equal(found.findings[0]!.severity, 'high');
  assert.match(found.findings[0]!.summary, /usual/);
});

void test('one finding per cooldown, then again', () => {
  const rules = mergeRules(DEFAULT_RULES, { volume: { tierCapsBytes: { internal: 1 * GiB }, cooldownMinutes: 30 } });
  const events: MonitorEvent[] = [];
  for (let i = 0; i < 10; i++) events.push(...download(1 + 2 * i, T0 + i * 5 * MINUTE, 'datasets/a', 1 * GiB));
  const { findings } = run(events, rules);
  assert.deepEqual(findings.map((f) => f.time - T0), [1 * 5 * MINUTE + 1000, 7 * 5 * MINUTE + 1000]);
});

void test('denied downloads, other actions and other principals\' records do not count', () => {
  const rules = mergeRules(DEFAULT_RULES, { volume: { tierCapsBytes: { internal: 1 } } });
  const { findings, state } = run(
    [
      ev({ seq: 1, time: T0, decision: 'deny', outcome: 'denied' }),
      ev({ seq: 2, time: T0, action: 'upload', outcome: 'success', bytes: 5 * GiB, resource: 'project/vision/artifact/m' }),
      ev({ seq: 3, time: T0, action: 'read-metadata', outcome: 'success' }),
    ],
    rules,
  );
  assert.equal(findings.length, 0);
  assert.equal(state.datasets.size, 0);
  assert.equal(state.tiers.slots, 0);
});

void test('state stays bounded whatever the traffic: 20,000 distinct datasets and 200,000 records of one principal', () => {
  const rules = mergeRules(DEFAULT_RULES, { volume: { action: 'alert' } });
  const state = initialPrincipalState();
  let largest = 0;
  for (let i = 0; i < 200_000; i++) {
    const [e] = download(i + 1, T0 + i * 20, i % 10 === 0 ? `tables/t${i % 20_000}` : 'datasets/hot', 4096, { kind: 'dataset' });
    stepPrincipal(state, { ...e!, outcome: 'success', bytes: 4096 }, rules);
    if (i % 10_000 === 0) largest = Math.max(largest, encodePrincipal(state).length);
  }
  largest = Math.max(largest, encodePrincipal(state).length);
  assert.equal(state.volume.datasets.size, VOLUME_DATASETS, 'at most VOLUME_DATASETS tracked');
  assert.ok(largest < 400_000, `largest state ${largest} bytes`);
});

const arbEvents = fc.array(
  fc.record({
    dt: fc.integer({ min: 0, max: 30 * MINUTE }),
    art: fc.integer({ min: 0, max: 60 }),
    bytes: fc.integer({ min: 0, max: 20 * GiB }),
    done: fc.boolean(),
    tier: fc.constantFrom('public' as const, 'internal' as const, 'confidential' as const, 'restricted' as const),
  }),
  { maxLength: 80 },
);

void test('property: evidence comes from the input, ends with the trigger, is ascending; findings respect the cooldown', () => {
  fc.assert(
    fc.property(arbEvents, (specs) => {
      const state = volumeDetector.initial();
      let t = T0;
      const seen = new Set<number>();
      const times: number[] = [];
      const events = specs.map((s, i) => {
        t += s.dt;
        seen.add(i + 1);
        return ev({ seq: i + 1, time: t, resource: `project/p/artifact/a${s.art}@1`, outcome: s.done ? 'success' : 'attempt', bytes: s.bytes, tier: s.tier });
      });
      for (const f of run(events, DEFAULT_RULES, state).findings) {
        assert.ok(f.evidence.every((q) => seen.has(q)));
        assert.equal(f.evidence.at(-1), f.triggerSeq);
        assert.deepEqual(f.evidence, [...f.evidence].sort((a, b) => a - b));
        times.push(f.time);
      }
      for (let i = 1; i < times.length; i++) assert.ok(times[i]! - times[i - 1]! >= DEFAULT_RULES.volume.cooldownMinutes * MINUTE);
    }),
    { numRuns: 200 },
  );
});
