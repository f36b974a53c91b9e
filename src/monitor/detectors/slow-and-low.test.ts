import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_RULES, mergeRules } from '../rules.js';
import { initialPrincipalState, stepPrincipal } from '../detector-set.js';
import type { PrincipalState } from '../detector-set.js';
import { download, runDetector } from '../test-events.js';
import type { Finding } from '../finding.js';
import type { MonitorEvent } from '../monitor-event.js';
import { DAY, HOUR, MINUTE } from './detector.js';
import { DAY_DATASETS, MAX_SEEN, slowAndLowDetector } from './slow-and-low.js';

const GiB = 1024 ** 3;
// a Monday, 09:00 UTC
const T0 = Date.UTC(2025, 0, 6, 9, 0, 0);

function runAll(events: MonitorEvent[], state: PrincipalState = initialPrincipalState(), rules = DEFAULT_RULES): { state: PrincipalState; findings: Finding[] } {
  const findings: Finding[] = [];
  for (const e of events) findings.push(...stepPrincipal(state, e, rules));
  return { state, findings };
}

/** `days` working days of `perDay` bytes in `pieces` downloads between 09:00 and 17:00, seqs from `seq`. */
function workdays(seq: number, startDay: number, days: number, perDay: number, pieces: number, arts: number): MonitorEvent[] {
  const out: MonitorEvent[] = [];
  for (let d = 0; d < days; d++) {
    for (let i = 0; i < pieces; i++) {
      const t = T0 + (startDay + d) * DAY + Math.floor((i * 8 * HOUR) / pieces);
      out.push(...download(seq, t, `datasets/d${(d + i) % arts}`, perDay / pieces));
      seq += 2;
    }
  }
  return out;
}

void test('many small downloads under every hourly threshold still add up within the day', () => {
  const learn = runAll(workdays(1, 0, 14, 2 * GiB, 4, 4));
  assert.equal(learn.findings.length, 0, JSON.stringify(learn.findings));
  assert.ok(learn.state.slowAndLow.daily.n >= DEFAULT_RULES.slowAndLow.baselineMinDays);

  // day 14: 16 GiB (8x usual) in 32 pieces of 0.5 GiB, i.e. 2 GiB an hour: never a bulk hour
  const attack = runAll(workdays(10_000, 14, 1, 16 * GiB, 32, 4), learn.state);
  assert.deepEqual(attack.findings.map((f) => f.rule), ['slow-and-low']);
  const f = attack.findings[0]!;
  assert.ok(f.time - (T0 + 14 * DAY) < 8 * HOUR, 'found on the same working day');
  assert.match(f.summary, /daily budget/);
  assert.ok(f.evidence.length > 10);
  assert.ok(f.evidence.includes(f.triggerSeq));
});

void test('a normal day after learning is quiet, and a busier but plausible one too', () => {
  const learn = runAll(workdays(1, 0, 14, 2 * GiB, 4, 4));
  assert.equal(runAll(workdays(10_000, 14, 1, 2.5 * GiB, 5, 4), learn.state).findings.length, 0);
  assert.equal(runAll(workdays(20_000, 14, 1, 4 * GiB, 6, 4), learn.state).findings.length, 0);
});

void test('breadth: datasets new to the principal are a daily budget, from the sixth one', () => {
  const learn = runAll(workdays(1, 0, 14, 2 * GiB, 4, 3));
  const attack: MonitorEvent[] = [];
  for (let i = 0; i < 30; i++) attack.push(...download(10_000 + 2 * i, T0 + 14 * DAY + i * 15 * MINUTE, `tables/t${i}`, 10 * 1024 ** 2));
  const found = runAll(attack, learn.state);
  assert.equal(found.findings.length, 1);
  assert.match(found.findings[0]!.summary, /6 datasets new to this principal in 24 h/);
});

void test('breadth: distinct datasets over the day are a budget too', () => {
  const rules = mergeRules(DEFAULT_RULES, { slowAndLow: { novelMinDatasets: 1000 } });
  const learn = runAll(workdays(1, 0, 14, 2 * GiB, 4, 3), initialPrincipalState(), rules);
  const attack: MonitorEvent[] = [];
  for (let i = 0; i < 30; i++) attack.push(...download(10_000 + 2 * i, T0 + 14 * DAY + i * 15 * MINUTE, `tables/t${i}`, 10 * 1024 ** 2));
  const found = runAll(attack, learn.state, rules);
  assert.equal(found.findings.length, 1);
  assert.match(found.findings[0]!.summary, /distinct datasets in 24 h/);
});

void test('absolute daily tier caps apply from the first day', () => {
  const rules = mergeRules(DEFAULT_RULES, { slowAndLow: { dayTierCapsBytes: { restricted: 3 * GiB } }, volume: { action: 'off' } });
  const events: MonitorEvent[] = [];
  for (let i = 0; i < 8; i++) events.push(...download(1 + 2 * i, T0 + i * 2 * HOUR, 'pii/users', 0.5 * GiB, { tier: 'restricted' }));
  const { findings } = runAll(events, initialPrincipalState(), rules);
  assert.equal(findings.length, 1);
  assert.equal(findings[0]!.triggerSeq, 14, 'the seventh half-GiB crosses 3 GiB');
});

void test('the detector ignores what is not an allowed download', () => {
  const s = slowAndLowDetector.initial();
  const before = JSON.stringify(slowAndLowDetector.encode(s));
  const [attempt] = download(1, T0, 'a', 5);
  assert.deepEqual(runDetector(slowAndLowDetector, [{ ...attempt!, decision: 'deny', outcome: 'denied' }], DEFAULT_RULES, s).findings, []);
  assert.equal(JSON.stringify(slowAndLowDetector.encode(s)), before);
});

void test('a DVC pull of 2,500 keys is one dataset new to its reader, not 2,500', () => {
  const learn = runAll(workdays(1, 0, 14, 2 * GiB, 4, 3));
  const pull: MonitorEvent[] = [];
  for (let i = 0; i < 2500; i++) pull.push(...download(10_000 + 2 * i, T0 + 14 * DAY + i * 200, `dvc/files/md5/${(i % 256).toString(16).padStart(2, '0')}/${i}`, 300 * 1024, { kind: 'other' }));
  assert.deepEqual(runAll(pull, learn.state).findings, []);
  assert.equal(learn.state.slowAndLow.fresh.size, 1);
});

void test('novelty memory is bounded: past MAX_SEEN datasets the least recently downloaded are forgotten, and no longer count as new today', () => {
  const s = slowAndLowDetector.initial();
  const events: MonitorEvent[] = [];
  for (let i = 0; i < MAX_SEEN + 100; i++) events.push(...download(1 + 2 * i, T0 + i * 1000, `tables/t${i}`, 1024));
  runDetector(slowAndLowDetector, events, DEFAULT_RULES, s);
  assert.equal(s.seen.size, MAX_SEEN);
  assert.equal(s.fresh.size, MAX_SEEN, 'the forgotten ones are no longer counted as new in the day');
  assert.equal(s.datasets.size, DAY_DATASETS);
});
