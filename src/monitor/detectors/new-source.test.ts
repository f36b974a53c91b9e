import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_RULES } from '../rules.js';
import { ev, runDetector } from '../test-events.js';
import type { MonitorEvent } from '../monitor-event.js';
import { DAY, HOUR } from './detector.js';
import { newSourceDetector, type NewSourceState } from './new-source.js';

const T0 = Date.UTC(2025, 0, 6, 9, 0, 0);

function run(events: MonitorEvent[], state: NewSourceState = newSourceDetector.initial()) {
  return runDetector(newSourceDetector, events, DEFAULT_RULES, state);
}

/** Fifteen days at the office (10.1.2.x) and at home (2001:db8:aa:1::/64), CLI and browser. */
function learned(): NewSourceState {
  const events: MonitorEvent[] = [];
  let seq = 1;
  for (let d = 0; d < 15; d++) {
    for (let i = 0; i < 6; i++) {
      const home = d % 3 === 2;
      events.push(ev({ seq: seq++, time: T0 + d * DAY + i * HOUR, ip: home ? `2001:db8:aa:1::${i + 1}` : `10.1.2.${10 + i}`, ua: i % 2 ? 'coffer-cli/0.1.0' : 'Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0' }));
    }
  }
  const r = run(events);
  assert.equal(r.findings.length, 0);
  return r.state;
}

void test('a request from a new network is found once, with the network in the finding', () => {
  const s = learned();
  const t = T0 + 16 * DAY;
  const r = run([ev({ seq: 500, time: t, ip: '203.0.113.9' }), ev({ seq: 501, time: t + 1000, ip: '203.0.113.10' })], s);
  assert.equal(r.findings.length, 1);
  assert.equal(r.findings[0]!.measures.network, '203.0.113.0/24');
  assert.equal(r.findings[0]!.severity, 'medium');
  assert.deepEqual(r.findings[0]!.evidence, [500]);
});

void test('a new network and a new client together are high severity', () => {
  const r = run([ev({ seq: 500, time: T0 + 16 * DAY, ip: '198.51.100.7', ua: 'python-requests/2.31.0' })], learned());
  assert.equal(r.findings.length, 1);
  assert.equal(r.findings[0]!.severity, 'high');
});

void test('known networks under another address, and a client upgrade, are not new', () => {
  const s = learned();
  const r = run([
    ev({ seq: 500, time: T0 + 16 * DAY, ip: '10.1.2.200', ua: 'coffer-cli/0.3.2' }),
    ev({ seq: 501, time: T0 + 16 * DAY, ip: '2001:db8:aa:1:ffff::9' }),
  ], s);
  assert.equal(r.findings.length, 0);
});

void test('nothing is reported while learning; networks unseen for forgetDays are new again', () => {
  assert.equal(run([ev({ seq: 1, time: T0 }), ev({ seq: 2, time: T0 + HOUR, ip: '203.0.113.1' })]).findings.length, 0);
  const s = learned();
  const later = T0 + 15 * DAY + (DEFAULT_RULES.newSource.forgetDays + 1) * DAY;
  const r = run([ev({ seq: 600, time: later, ip: '10.1.2.10' })], s);
  assert.equal(r.findings.length, 1);
});
