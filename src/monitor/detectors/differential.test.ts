import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import type { Tier } from '../../domain/types.js';
import type { Finding } from '../finding.js';
import { MonitorEngine } from '../monitor-engine.js';
import type { MonitorEvent } from '../monitor-event.js';
import { ReferenceEngine } from '../reference/reference-engine.js';
import { DEFAULT_RULES, mergeRules } from '../rules.js';
import type { MonitorRules } from '../rules.js';
import { ev } from '../test-events.js';
import { DAY, HOUR, MINUTE } from './detector.js';

// Each detector against its straightforward reference (src/monitor/reference/: the
// window filtered out of every record kept, recounted at each record) on random
// streams: times that fall on and around slot, window, hour and day edges, records
// stamped a little before the previous one, restarts (the incremental state saved and
// restored, possibly several times) and reviews (clearWindows) anywhere. Findings
// must be identical: rule, time, severity, summary, measures and evidence.

const GiB = 1024 ** 3;
const T0 = Date.UTC(2025, 0, 6, 8, 59, 30);
const OFF = { action: 'off' } as const;
const ALL_OFF = { volume: OFF, slowAndLow: OFF, offHours: OFF, newSource: OFF, probing: OFF };

const EDGES = [0, 1, MINUTE - 1, MINUTE, MINUTE + 1, HOUR - 1, HOUR, HOUR + 1, 59 * MINUTE, 61 * MINUTE, DAY - 1, DAY, DAY + 1];

type Kind = 'attempt' | 'success' | 'failure' | 'denied' | 'read' | 'upload';

/** Records of one to two principals and an address; `kinds` weighs what they do, `maxDt` how far apart they fall (and the edges around slots, hours and days). */
function arbRecord(kinds: Kind[], maxDt: number) {
  return fc.record({
    who: fc.constantFrom('prn_a', 'prn_a', 'prn_b', null),
    dt: fc.oneof(fc.constantFrom(...EDGES), fc.integer({ min: 0, max: 2 * MINUTE }), fc.integer({ min: 0, max: maxDt })),
    /** Stamped this much before the running time (concurrent requests): the principal's clock does not go back. */
    skew: fc.oneof(fc.constant(0), fc.constant(0), fc.integer({ min: 1, max: 90_000 })),
    kind: fc.constantFrom(...kinds),
    art: fc.integer({ min: 0, max: 12 }),
    folder: fc.boolean(),
    project: fc.integer({ min: 0, max: 4 }),
    bytes: fc.integer({ min: 0, max: 3 * GiB }),
    tier: fc.constantFrom<Tier | null>('public', 'internal', 'confidential', 'restricted', null),
    net: fc.integer({ min: 0, max: 90 }),
    ua: fc.integer({ min: 0, max: 3 }),
  });
}

const DOWNLOADS: Kind[] = ['attempt', 'success', 'success', 'success', 'failure', 'denied', 'read', 'upload'];
const MIXED: Kind[] = ['attempt', 'success', 'failure', 'denied', 'read', 'upload'];
const PROBES: Kind[] = ['denied', 'denied', 'read', 'read', 'attempt', 'success'];

type Spec = ReturnType<typeof arbRecord> extends fc.Arbitrary<infer S> ? S : never;

function eventsOf(specs: Spec[]): MonitorEvent[] {
  let t = T0;
  return specs.map((s, i) => {
    t += s.dt;
    const actor = s.who === null ? null : { id: s.who, name: s.who, kind: 'user' };
    // unclassified keys under a few folders (grouped), or classified artifacts (one dataset each)
    const name = s.folder ? `f${s.art % 3}/k${s.art}` : `datasets/d${s.art}`;
    const resource = `project/p${s.project}/artifact/${name}@1`;
    const base = { seq: i + 1, time: t - s.skew, actor, resource, tier: s.tier, kind: s.folder ? 'other' : 'dataset', ip: `10.${s.net % 4}.${s.net}.7`, ua: `client-${s.ua}/1.${s.net % 3}` };
    if (s.kind === 'denied') return ev({ ...base, decision: 'deny', outcome: 'denied', tier: null, kind: null });
    if (s.kind === 'read') return ev({ ...base, action: 'read-metadata' });
    if (s.kind === 'upload') return ev({ ...base, action: 'upload', outcome: 'success', bytes: s.bytes });
    return ev({ ...base, outcome: s.kind, bytes: s.bytes });
  });
}

/** Runs both engines; the incremental one is saved and restored at each cut, and both review a principal at each clear. */
function runBoth(events: MonitorEvent[], rules: MonitorRules, cuts: ReadonlySet<number>, clears: ReadonlyMap<number, string>): { incremental: Finding[]; reference: Finding[] } {
  let engine = new MonitorEngine(rules);
  const reference = new ReferenceEngine(rules);
  const incremental: Finding[] = [];
  const expected: Finding[] = [];
  // the rows of monitor_state: each save writes the states that changed since the last one
  const stored = new Map<string, string>();
  events.forEach((e, i) => {
    if (cuts.has(i)) {
      const saved = engine.changes();
      for (const [k, json] of saved.states) {
        if (json === null) stored.delete(k);
        else stored.set(k, json);
      }
      engine.commit(saved);
      engine = new MonitorEngine(rules);
      engine.restore(saved.seq, [...stored]);
    }
    const who = clears.get(i);
    if (who !== undefined) {
      engine.clearWindows(who);
      reference.clearWindows(who);
    }
    incremental.push(...engine.process(e));
    expected.push(...reference.process(e));
  });
  return { incremental, reference: expected };
}

function differential(name: string, arbRules: fc.Arbitrary<MonitorRules>, records: { kinds: Kind[]; maxDt: number; maxLength: number }, minFindings: number, numRuns = 150): void {
  void test(`property (${name}): the incremental detector finds exactly what the straightforward reference finds, across restarts, reviews and window edges`, { timeout: 240_000 }, () => {
    let found = 0;
    fc.assert(
      fc.property(
        fc.array(arbRecord(records.kinds, records.maxDt), { minLength: 1, maxLength: records.maxLength, size: 'max' }),
        arbRules,
        fc.array(fc.nat(), { maxLength: 3 }),
        fc.array(fc.tuple(fc.nat(), fc.constantFrom('prn_a', 'prn_b')), { maxLength: 2 }),
        (specs, rules, cutAt, clearAt) => {
          const events = eventsOf(specs);
          const cuts = new Set(cutAt.map((c) => c % events.length));
          const clears = new Map(clearAt.map(([c, who]) => [c % events.length, who]));
          const { incremental, reference } = runBoth(events, rules, cuts, clears);
          assert.deepEqual(incremental, reference);
          found += reference.length;
        },
      ),
      { numRuns },
    );
    assert.ok(found >= minFindings, `the streams exercised the detector: ${found} findings`);
  });
}

differential(
  'volume',
  fc
    .record({
      windowMinutes: fc.constantFrom(1, 2, 7, 60),
      internal: fc.constantFrom(0, 2 * GiB, 6 * GiB),
      restrictedCap: fc.constantFrom(0, 5 * GiB),
      maxDistinctDatasets: fc.constantFrom(0, 3, 6),
      maxDistinctProjects: fc.constantFrom(0, 2, 3),
      baselineMinSamples: fc.constantFrom(1, 3, 1000),
      baselineMinBytes: fc.constantFrom(GiB, 4 * GiB),
      restrictedMinBytes: fc.constantFrom(0, GiB, 3 * GiB),
      cooldownMinutes: fc.constantFrom(0, 1, 30),
    })
    .map((o) =>
      mergeRules(DEFAULT_RULES, {
        ...ALL_OFF,
        volume: {
          action: 'lock',
          windowMinutes: o.windowMinutes,
          tierCapsBytes: { internal: o.internal, restricted: o.restrictedCap },
          maxDistinctDatasets: o.maxDistinctDatasets,
          maxDistinctProjects: o.maxDistinctProjects,
          baselineMinSamples: o.baselineMinSamples,
          baselineMinBytes: o.baselineMinBytes,
          baselineMinDistinct: 2,
          baselineMinProjects: 1,
          restrictedMinBytes: o.restrictedMinBytes,
          cooldownMinutes: o.cooldownMinutes,
        },
      }),
    ),
  { kinds: DOWNLOADS, maxDt: 20 * MINUTE, maxLength: 140 },
  200,
);

differential(
  'slow-and-low',
  fc
    .record({
      restrictedCap: fc.constantFrom(0, 4 * GiB),
      baselineMinDays: fc.constantFrom(1, 2, 1000),
      baselineMinWeeks: fc.constantFrom(1, 2),
      noveltyDays: fc.constantFrom(0, 1, 2, 30),
      dailyMinBytes: fc.constantFrom(GiB, 5 * GiB),
      novelMinDatasets: fc.constantFrom(1, 3),
      cooldownHours: fc.constantFrom(0, 1, 24),
    })
    .map((o) =>
      mergeRules(DEFAULT_RULES, {
        ...ALL_OFF,
        slowAndLow: {
          action: 'alert',
          dayTierCapsBytes: { restricted: o.restrictedCap },
          baselineMinDays: o.baselineMinDays,
          baselineMinWeeks: o.baselineMinWeeks,
          noveltyDays: o.noveltyDays,
          dailyMinBytes: o.dailyMinBytes,
          novelMinDatasets: o.novelMinDatasets,
          dailyMinDistinct: 2,
          weeklyMinBytes: 2 * GiB,
          cooldownHours: o.cooldownHours,
        },
      }),
    ),
  { kinds: DOWNLOADS, maxDt: 8 * HOUR, maxLength: 200 },
  100,
);

differential(
  'off-hours',
  fc.record({ learnDays: fc.constantFrom(0, 1), minEvents: fc.constantFrom(1, 5, 20), minShare: fc.constantFrom(0.05, 0.2, 0.5), cooldownHours: fc.constantFrom(0, 1, 12) }).map((o) => mergeRules(DEFAULT_RULES, { ...ALL_OFF, offHours: { action: 'alert', ...o } })),
  { kinds: MIXED, maxDt: 5 * HOUR, maxLength: 160 },
  50,
);

differential(
  'new-source',
  fc.record({ learnDays: fc.constantFrom(0, 1), minEvents: fc.constantFrom(0, 3, 10), forgetDays: fc.constantFrom(0, 1, 90) }).map((o) => mergeRules(DEFAULT_RULES, { ...ALL_OFF, newSource: { action: 'alert', ...o } })),
  { kinds: MIXED, maxDt: 12 * HOUR, maxLength: 140 },
  200,
);

differential(
  'probing',
  fc
    .record({ denialWindowMinutes: fc.constantFrom(1, 5), maxDenials: fc.constantFrom(0, 2, 4), listingWindowMinutes: fc.constantFrom(1, 10), maxListings: fc.constantFrom(0, 2, 5), cooldownMinutes: fc.constantFrom(0, 1, 30) })
    .map((o) => mergeRules(DEFAULT_RULES, { ...ALL_OFF, probing: { action: 'alert', ...o } })),
  { kinds: PROBES, maxDt: 2 * MINUTE, maxLength: 140 },
  200,
);

void test('property (all detectors at their defaults, and lowered): the engine equals the reference engine', { timeout: 240_000 }, () => {
  const low = mergeRules(DEFAULT_RULES, {
    volume: { tierCapsBytes: { internal: 4 * GiB }, maxDistinctDatasets: 5, maxDistinctProjects: 2, baselineMinSamples: 2, restrictedMinBytes: GiB },
    slowAndLow: { baselineMinDays: 1, baselineMinWeeks: 1, noveltyDays: 1, dailyMinBytes: GiB },
    offHours: { learnDays: 0, minEvents: 5 },
    newSource: { learnDays: 0, minEvents: 3 },
    probing: { maxDenials: 3, maxListings: 4 },
  });
  fc.assert(
    fc.property(fc.array(arbRecord(MIXED, 2 * HOUR), { minLength: 1, maxLength: 120, size: 'max' }), fc.constantFrom(DEFAULT_RULES, low), fc.array(fc.nat(), { maxLength: 3 }), (specs, rules, cutAt) => {
      const events = eventsOf(specs);
      const { incremental, reference } = runBoth(events, rules, new Set(cutAt.map((c) => c % events.length)), new Map());
      assert.deepEqual(incremental, reference);
    }),
    { numRuns: 100 },
  );
});
