import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_RULES } from '../rules.js';
import { ev, runDetector, type EventSpec } from '../test-events.js';
import type { MonitorEvent } from '../monitor-event.js';
import { MINUTE } from './detector.js';
import { probingDetector, probingIdle, type ProbingState } from './probing.js';

const T0 = Date.UTC(2025, 0, 6, 9, 0, 0);

function run(events: MonitorEvent[], state: ProbingState = probingDetector.initial()) {
  return runDetector(probingDetector, events, DEFAULT_RULES, state);
}

const deny = (seq: number, time: number, extra: Partial<EventSpec> = {}) =>
  ev({ seq, time, action: 'read-metadata', decision: 'deny', outcome: 'denied', reason: 'COFFER_NOT_FOUND', resource: `project/p${seq}`, ...extra });

void test('a burst of denials is found when it reaches maxDenials, with every denial as evidence', () => {
  const n = DEFAULT_RULES.probing.maxDenials;
  const events = Array.from({ length: n + 5 }, (_, i) => deny(i + 1, T0 + i * 5_000));
  const r = run(events);
  assert.equal(r.findings.length, 1);
  assert.equal(r.findings[0]!.triggerSeq, n);
  assert.deepEqual(r.findings[0]!.evidence, Array.from({ length: n }, (_, i) => i + 1));
});

void test('the same denials spread over an hour are not a burst', () => {
  const events = Array.from({ length: 40 }, (_, i) => deny(i + 1, T0 + i * 90_000));
  assert.equal(run(events).findings.length, 0);
});

void test('failed authentications from one address count for that address', () => {
  const events = Array.from({ length: DEFAULT_RULES.probing.maxDenials }, (_, i) => deny(i + 1, T0 + i * 1000, { actor: null, action: 'authenticate', resource: 'coffer', ip: '203.0.113.5' }));
  const r = run(events);
  assert.equal(r.findings.length, 1);
  assert.equal(r.findings[0]!.principalKey, 'ip:203.0.113.5');
  assert.match(r.findings[0]!.summary, /from 203\.0\.113\.5/);
});

void test('mass listing: metadata reads far above browsing', () => {
  const browse = Array.from({ length: 60 }, (_, i) => ev({ seq: i + 1, time: T0 + i * 10_000, action: 'read-metadata', resource: `project/vision/artifact/a${i}` }));
  assert.equal(run(browse).findings.length, 0);
  const crawl = Array.from({ length: DEFAULT_RULES.probing.maxListings }, (_, i) => ev({ seq: i + 1, time: T0 + i * 500, action: 'read-metadata', resource: `project/vision/artifact/a${i}` }));
  const r = run(crawl);
  assert.equal(r.findings.length, 1);
  assert.match(r.findings[0]!.summary, /mass listing/);
});

void test('an idle source can be forgotten once its windows and cooldown are past', () => {
  const r = run([deny(1, T0)]);
  assert.equal(probingIdle(r.state, T0 + MINUTE, DEFAULT_RULES), false);
  assert.equal(probingIdle(r.state, T0 + 6 * MINUTE, DEFAULT_RULES), true);
});
