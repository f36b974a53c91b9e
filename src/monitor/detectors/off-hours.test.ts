import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_RULES } from '../rules.js';
import { ev, runDetector } from '../test-events.js';
import type { MonitorEvent } from '../monitor-event.js';
import { DAY, HOUR } from './detector.js';
import { offHoursDetector, type OffHoursState } from './off-hours.js';

const T0 = Date.UTC(2025, 0, 6, 0, 0, 0);

function run(events: MonitorEvent[], state: OffHoursState = offHoursDetector.initial()) {
  return runDetector(offHoursDetector, events, DEFAULT_RULES, state);
}

/** 14 days of requests every half hour from 14:00 to 22:00 UTC (a person in UTC-6 working 8-16). */
function learn(): OffHoursState {
  const events: MonitorEvent[] = [];
  let seq = 1;
  for (let d = 0; d < 14; d++) for (let m = 0; m < 16; m++) events.push(ev({ seq: seq++, time: T0 + d * DAY + 14 * HOUR + m * 30 * 60_000, action: 'read-metadata' }));
  const r = run(events);
  assert.equal(r.findings.length, 0);
  return r.state;
}

const restricted = (seq: number, time: number): MonitorEvent => ev({ seq, time, tier: 'restricted', resource: 'project/hr/artifact/salaries@3' });

void test('restricted data at 04:00 UTC for someone working 14-22 UTC is found; at 16:00 it is not', () => {
  const s = learn();
  const night = run([restricted(1000, T0 + 15 * DAY + 4 * HOUR)], s);
  assert.equal(night.findings.length, 1);
  assert.equal(night.findings[0]!.rule, 'off-hours');
  assert.equal(night.findings[0]!.measures.hourUtc, 4);
  assert.match(night.findings[0]!.summary, /14-21 UTC/);
  assert.equal(run([restricted(1000, T0 + 15 * DAY + 16 * HOUR)], s).findings.length, 0);
});

void test('an hour next to the usual ones is not unusual; non-restricted data at night is not this rule', () => {
  const s = learn();
  assert.equal(run([restricted(1000, T0 + 15 * DAY + 22 * HOUR + 30 * 60_000)], s).findings.length, 0);
  assert.equal(run([ev({ seq: 1000, time: T0 + 15 * DAY + 4 * HOUR, tier: 'confidential' })], s).findings.length, 0);
});

void test('nothing is reported while the principal is being learned', () => {
  const events = [ev({ seq: 1, time: T0 + 14 * HOUR }), restricted(2, T0 + 4 * HOUR + DAY)];
  assert.equal(run(events).findings.length, 0);
});

void test('the cooldown keeps one night to one finding', () => {
  const s = learn();
  const night = run([restricted(1000, T0 + 15 * DAY + 3 * HOUR), restricted(1001, T0 + 15 * DAY + 4 * HOUR), restricted(1002, T0 + 15 * DAY + 5 * HOUR)], s);
  assert.equal(night.findings.length, 1);
});
