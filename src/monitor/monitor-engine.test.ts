import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { MAX_UNAUTHENTICATED_SOURCES, MonitorEngine } from './monitor-engine.js';
import { DEFAULT_RULES, mergeRules } from './rules.js';
import { ev } from './test-events.js';
import type { MonitorEvent } from './monitor-event.js';
import type { Finding } from './finding.js';

const GiB = 1024 ** 3;
const T0 = Date.UTC(2025, 0, 6, 9, 0, 0);
const rules = mergeRules(DEFAULT_RULES, { volume: { tierCapsBytes: { internal: 3 * GiB } }, probing: { maxDenials: 5 } });

const arbStream = fc.array(
  fc.record({
    who: fc.constantFrom('prn_a', 'prn_b', null),
    dt: fc.integer({ min: 0, max: 20 * 60_000 }),
    kind: fc.constantFrom('attempt', 'success', 'denied', 'read'),
    art: fc.integer({ min: 0, max: 8 }),
    bytes: fc.integer({ min: 0, max: 2 * GiB }),
    ip: fc.constantFrom('10.0.0.1', '10.0.1.1', '2001:db8::1'),
  }),
  { maxLength: 120 },
);

type Spec = typeof arbStream extends fc.Arbitrary<Array<infer S>> ? S : never;

function toEvents(specs: Spec[]): MonitorEvent[] {
  let t = T0;
  return specs.map((s, i) => {
    t += s.dt;
    const actor = s.who === null ? null : { id: s.who, name: s.who, kind: 'user' };
    const resource = `project/p/artifact/a${s.art}@1`;
    if (s.kind === 'denied') return ev({ seq: i + 1, time: t, actor, resource, decision: 'deny', outcome: 'denied', ip: s.ip });
    if (s.kind === 'read') return ev({ seq: i + 1, time: t, actor, resource, action: 'read-metadata', ip: s.ip });
    return ev({ seq: i + 1, time: t, actor, resource, outcome: s.kind, bytes: s.bytes, ip: s.ip });
  });
}

void test('property: a snapshot taken anywhere and restored gives the same findings as an uninterrupted run', () => {
  fc.assert(
    fc.property(arbStream, fc.nat(), (specs, cut) => {
      const events = toEvents(specs);
      const whole = new MonitorEngine(rules);
      const expected = events.flatMap((e) => whole.process(e));

      const split = Math.min(events.length, cut % (events.length + 1));
      const first = new MonitorEngine(rules);
      const got: Finding[] = events.slice(0, split).flatMap((e) => first.process(e));
      const saved = first.changes();
      const stored = saved.states.filter((s): s is [string, string] => s[1] !== null);
      const second = new MonitorEngine(rules);
      second.restore(saved.seq, JSON.parse(JSON.stringify(stored)) as [string, string][]);
      // a restart replays from the start of the log: what was processed is skipped
      got.push(...events.flatMap((e) => second.process(e)));
      assert.deepEqual(got, expected);
    }),
    { numRuns: 150 },
  );
});

void test('commit keeps a key dirty when its state changed after the changes were taken', () => {
  const e = new MonitorEngine(rules);
  e.process(ev({ seq: 1, time: T0 }));
  const c = e.changes();
  assert.equal(c.states.length, 1);
  e.process(ev({ seq: 2, time: T0 + 1000 }));
  e.commit(c);
  assert.equal(e.changes().states.length, 1, 'the second change is still to be saved');
  e.commit(e.changes());
  assert.equal(e.changes().states.length, 0);
});

void test('unauthenticated sources are forgotten once idle; their state never piles up', () => {
  const e = new MonitorEngine(rules);
  for (let i = 0; i < 50; i++) e.process(ev({ seq: i + 1, time: T0 + i * 3_600_000, actor: null, ip: `203.0.113.${i}`, decision: 'deny', outcome: 'denied', action: 'authenticate', resource: 'coffer' }));
  assert.ok(e.size <= 1, `kept ${e.size} sources`);
});

void test('state of another version, or damaged, is dropped at restore', () => {
  const e = new MonitorEngine(rules);
  e.restore(7, [['prn_a', '{"v":0}'], ['prn_b', 'not json'], ['prn_c', '{"v":2,"clock":"x"}'], ['prn_d', '{"v":2}']]);
  assert.equal(e.size, 0);
  assert.equal(e.lastSeq, 7);
});

void test('only what changed since the last save is written, and a principal\'s state stays small under a hot stream', () => {
  const e = new MonitorEngine(rules);
  for (let i = 1; i <= 50; i++) e.process(ev({ seq: i, time: T0 + i * 1000, actor: { id: `prn_${i % 5}`, name: `p${i % 5}`, kind: 'user' } }));
  const first = e.changes();
  assert.equal(first.states.length, 5);
  e.commit(first);
  // one hot principal: 100,000 downloads of one small file
  for (let i = 51; i < 100_051; i++) e.process(ev({ seq: i, time: T0 + i * 10, outcome: i % 2 ? 'success' : 'attempt', bytes: 4096 }));
  const hot = e.changes();
  assert.deepEqual(hot.states.map(([k]) => k), ['prn_dana'], 'the other principals did not change: not written again');
  assert.ok(hot.states[0]![1]!.length < 20_000, `${hot.states[0]![1]!.length} bytes`);
  e.commit(hot);
  assert.equal(e.storedBytes, [...first.states, ...hot.states].reduce((n, [, json]) => n + (json?.length ?? 0), 0));
});

void test('bounded state: one principal whose every record is a new project, dataset, network and device, for a week', () => {
  // the worst a principal can do to its own state: nothing repeats, every detector sees new keys
  const e = new MonitorEngine(mergeRules(DEFAULT_RULES, { volume: { action: 'alert' }, newSource: { learnDays: 0, minEvents: 0 } }));
  const who = { id: 'prn_wide', name: 'wide', kind: 'user' };
  const RECORDS = 300_000;
  const sizes: number[] = [];
  for (let i = 0; i < RECORDS; i++) {
    const time = T0 + i * 2000; // 2 s apart: 300,000 records over about a week
    const ip = i % 3 === 0 ? `2001:db8:${(i & 0xffff).toString(16)}:${(i >>> 16).toString(16)}::1` : `10.${(i >>> 16) & 255}.${(i >>> 8) & 255}.${i & 255}`;
    const base = { seq: i + 1, time, actor: who, ip, ua: `tool-${i}/1.0`, resource: `project/p${i}/artifact/d${i}@1`, tier: i % 4 === 0 ? ('restricted' as const) : ('internal' as const) };
    if (i % 10 === 7) e.process(ev({ ...base, decision: 'deny', outcome: 'denied' }));
    else if (i % 10 === 8) e.process(ev({ ...base, action: 'read-metadata' }));
    else e.process(ev({ ...base, outcome: i % 2 === 0 ? 'attempt' : 'success', bytes: 4096 }));
    if ((i + 1) % 30_000 === 0) sizes.push(e.snapshotOf('prn_wide')!.length);
  }
  const largest = Math.max(...sizes);
  // every bound (datasets, projects, networks, devices, evidence, denials, reads) is full by mid-stream: flat from there
  const secondHalf = sizes.slice(sizes.length / 2);
  assert.ok(Math.max(...secondHalf) - Math.min(...secondHalf) < 0.05 * largest, `state not flat in the second half: ${sizes.join(', ')}`);
  assert.ok(largest < 400_000, `largest state ${largest} bytes (${sizes.join(', ')})`);
  assert.equal(e.size, 1);
});

void test('bounded state: a spray of failed authentications from 50,000 fresh addresses within a minute keeps at most MAX_UNAUTHENTICATED_SOURCES sources', () => {
  const e = new MonitorEngine(rules);
  const N = 50_000;
  for (let i = 0; i < N; i++) {
    const ip = `2001:db8::${(i >>> 16).toString(16)}:${(i & 0xffff).toString(16)}`;
    e.process(ev({ seq: i + 1, time: T0 + Math.floor(i / 1000), actor: null, ip, decision: 'deny', outcome: 'denied', action: 'authenticate', resource: 'coffer' }));
    if (i % 5000 === 0) assert.ok(e.size <= MAX_UNAUTHENTICATED_SOURCES, `${e.size} sources held at record ${i}`);
  }
  assert.equal(e.size, MAX_UNAUTHENTICATED_SOURCES);
  // the forgotten ones are saved as dropped, so the stored state shrinks too
  const c = e.changes();
  assert.equal(c.states.filter(([, json]) => json === null).length, N - MAX_UNAUTHENTICATED_SOURCES);
  e.commit(c);
  assert.ok(e.storedBytes < MAX_UNAUTHENTICATED_SOURCES * 2000, `${e.storedBytes} bytes stored`);
  // an address still probing is the most recently active: it is kept and its denials still add up
  const loud = '198.51.100.9';
  const found: Finding[] = [];
  for (let i = 0; i < 5; i++) found.push(...e.process(ev({ seq: N + 1 + i, time: T0 + 60_000 + i, actor: null, ip: loud, decision: 'deny', outcome: 'denied', action: 'authenticate', resource: 'coffer' })));
  assert.equal(found.filter((f) => f.rule === 'probing').length, 1);
  // once idle, the sweep forgets them all
  e.process(ev({ seq: N + 10, time: T0 + 3 * 3_600_000, actor: null, ip: '192.0.2.1', decision: 'deny', outcome: 'denied', action: 'authenticate', resource: 'coffer' }));
  assert.ok(e.size <= 1, `kept ${e.size} sources after the sweep`);
});

void test('bounded state: many principals each keep a bounded state, and a save writes only those that changed', () => {
  const e = new MonitorEngine(rules);
  const PRINCIPALS = 2000;
  let seq = 0;
  for (let round = 0; round < 20; round++) {
    for (let p = 0; p < PRINCIPALS; p++) {
      const actor = { id: `prn_${p}`, name: `u${p}`, kind: 'user' };
      const time = T0 + round * 600_000 + p;
      e.process(ev({ seq: ++seq, time, actor, resource: `project/p${p % 50}/artifact/d${round}@1`, ip: `10.0.${p % 200}.${round}` }));
      e.process(ev({ seq: ++seq, time: time + 1, actor, resource: `project/p${p % 50}/artifact/d${round}@1`, outcome: 'success', bytes: 1_000_000, ip: `10.0.${p % 200}.${round}` }));
    }
  }
  const all = e.changes();
  assert.equal(all.states.length, PRINCIPALS);
  e.commit(all);
  assert.ok(e.largestStoredState() < 20_000, `largest ${e.largestStoredState()} bytes`);
  e.process(ev({ seq: ++seq, time: T0 + 20 * 600_000, actor: { id: 'prn_7', name: 'u7', kind: 'user' } }));
  assert.deepEqual(e.changes().states.map(([k]) => k), ['prn_7']);
});
