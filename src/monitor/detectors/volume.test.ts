import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { DEFAULT_RULES, mergeRules } from '../rules.js';
import { download, ev, frozen } from '../test-events.js';
import type { MonitorEvent } from '../monitor-event.js';
import type { Finding } from '../finding.js';
import { HOUR, MINUTE } from './detector.js';
import { volumeDetector, type VolumeState } from './volume.js';

const GiB = 1024 ** 3;
const T0 = Date.UTC(2025, 0, 6, 9, 0, 0);

function run(events: MonitorEvent[], rules = DEFAULT_RULES, state: VolumeState = volumeDetector.initial()): { state: VolumeState; findings: Finding[] } {
  const findings: Finding[] = [];
  for (const e of events) {
    const r = volumeDetector.step(state, e, rules);
    state = r.state;
    findings.push(...r.findings);
  }
  return { state, findings };
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

void test('too many distinct artifacts in the window is bulk even when small', () => {
  const events: MonitorEvent[] = [];
  for (let i = 0; i <= DEFAULT_RULES.volume.maxDistinctArtifacts; i++) events.push(...download(1 + 2 * i, T0 + i * 30_000, `small/a${i}`, 1024));
  const { findings } = run(events);
  assert.equal(findings.length, 1);
  assert.match(findings[0]!.summary, /distinct artifacts/);
});

void test('against its own baseline: a principal pulling ~1 GiB an hour is flagged at 20 GiB over many artifacts, not at 1.5 GiB', () => {
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
  for (let i = 0; i < 10; i++) bulk.push(...download(seq + 2 * i, T0 + 32 * HOUR + i * 2 * MINUTE, `datasets/x${i}`, 2 * GiB));
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
  const { findings, state } = run([
    ev({ seq: 1, time: T0, decision: 'deny', outcome: 'denied' }),
    ev({ seq: 2, time: T0, action: 'upload', outcome: 'success', bytes: 5 * GiB, resource: 'project/vision/artifact/m' }),
    ev({ seq: 3, time: T0, action: 'read-metadata', outcome: 'success' }),
  ], rules);
  assert.equal(findings.length, 0);
  assert.equal(state.window.length, 0);
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

void test('property: step never mutates its input, evidence comes from the input, findings respect the cooldown', () => {
  fc.assert(
    fc.property(arbEvents, (specs) => {
      let state = frozen(volumeDetector.initial());
      let t = T0;
      const seen = new Set<number>();
      const times: number[] = [];
      specs.forEach((s, i) => {
        t += s.dt;
        const e = ev({ seq: i + 1, time: t, resource: `project/p/artifact/a${s.art}@1`, outcome: s.done ? 'success' : 'attempt', bytes: s.bytes, tier: s.tier });
        seen.add(e.seq);
        const r = volumeDetector.step(state, e, DEFAULT_RULES);
        for (const f of r.findings) {
          assert.ok(f.evidence.every((q) => seen.has(q)));
          assert.ok(f.evidence.includes(e.seq));
          assert.deepEqual(f.evidence, [...f.evidence].sort((a, b) => a - b));
          times.push(f.time);
        }
        state = frozen(r.state);
        assert.ok(state.window.every((w) => w.t > t - DEFAULT_RULES.volume.windowMinutes * MINUTE));
      });
      for (let i = 1; i < times.length; i++) assert.ok(times[i]! - times[i - 1]! >= DEFAULT_RULES.volume.cooldownMinutes * MINUTE);
    }),
    { numRuns: 200 },
  );
});
