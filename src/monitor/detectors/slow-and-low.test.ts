import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_RULES, mergeRules } from '../rules.js';
import { initialPrincipalState, stepPrincipal } from '../detector-set.js';
import type { PrincipalState } from '../detector-set.js';
import { download, frozen } from '../test-events.js';
import type { Finding } from '../finding.js';
import type { MonitorEvent } from '../monitor-event.js';
import { DAY, HOUR, MINUTE } from './detector.js';
import { slowAndLowDetector } from './slow-and-low.js';

const GiB = 1024 ** 3;
// a Monday, 09:00 UTC
const T0 = Date.UTC(2025, 0, 6, 9, 0, 0);

function runAll(events: MonitorEvent[], state: PrincipalState = initialPrincipalState(), rules = DEFAULT_RULES): { state: PrincipalState; findings: Finding[] } {
  const findings: Finding[] = [];
  for (const e of events) {
    const r = stepPrincipal(frozen(state), e, rules);
    state = r.state;
    findings.push(...r.findings);
  }
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

void test('breadth: artifacts new to the principal are a daily budget, from the sixth one', () => {
  const learn = runAll(workdays(1, 0, 14, 2 * GiB, 4, 3));
  const attack: MonitorEvent[] = [];
  for (let i = 0; i < 30; i++) attack.push(...download(10_000 + 2 * i, T0 + 14 * DAY + i * 15 * MINUTE, `tables/t${i}`, 10 * 1024 ** 2));
  const found = runAll(attack, learn.state);
  assert.equal(found.findings.length, 1);
  assert.match(found.findings[0]!.summary, /6 artifacts new to this principal in 24 h/);
});

void test('breadth: distinct artifacts over the day are a budget too', () => {
  const rules = mergeRules(DEFAULT_RULES, { slowAndLow: { novelMinArtifacts: 1000 } });
  const learn = runAll(workdays(1, 0, 14, 2 * GiB, 4, 3), initialPrincipalState(), rules);
  const attack: MonitorEvent[] = [];
  for (let i = 0; i < 30; i++) attack.push(...download(10_000 + 2 * i, T0 + 14 * DAY + i * 15 * MINUTE, `tables/t${i}`, 10 * 1024 ** 2));
  const found = runAll(attack, learn.state, rules);
  assert.equal(found.findings.length, 1);
  assert.match(found.findings[0]!.summary, /distinct artifacts in 24 h/);
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
  const [attempt] = download(1, T0, 'a', 5);
  const r = slowAndLowDetector.step(s, { ...attempt!, decision: 'deny', outcome: 'denied' }, DEFAULT_RULES);
  assert.equal(r.state, s);
});
