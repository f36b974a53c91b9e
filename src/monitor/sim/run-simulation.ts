import { auditBodyOf, serializeAuditBody } from '../../audit/audit-record.js';
import { TIERS } from '../../domain/types.js';
import { datasetOf } from '../dataset.js';
import { spreadOf } from '../detectors/slow-and-low.js';
import { baselineThresholds, restrictedThreshold } from '../detectors/volume.js';
import { MonitorEngine } from '../monitor-engine.js';
import { artifactKey, parseAuditRecord, parseResource, withCatalog } from '../monitor-event.js';
import type { Finding, RuleId } from '../finding.js';
import { DEFAULT_RULES, actionOf } from '../rules.js';
import type { MonitorRules } from '../rules.js';
import { ATTACK_KINDS, bulkExfiltration, enumeration, restrictedDrain, slowAndLow, spreadProjects, stolenToken } from './attacks.js';
import type { AttackKind, SimAttack } from './attacks.js';
import { BULK_READ_KINDS, bulkRead } from './bulk-reads.js';
import type { BulkReadKind, SimBulkRead } from './bulk-reads.js';
import { personTraffic, pipelineTraffic } from './normal-traffic.js';
import { Prng } from './prng.js';
import { Recorder } from './recorder.js';
import { addFileSets, buildWorld } from './world.js';
import type { SimPerson } from './world.js';

const MINUTE = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;

/** What to simulate. */
export interface SimulationOptions {
  seed: number;
  people: number;
  pipelines: number;
  days: number;
  /** Days of normal traffic before the first attack (the detectors learn). */
  warmupDays: number;
  attacks: Record<AttackKind, number>;
  /** Legitimate bulk reads of S3 folders (none if absent). */
  bulkReads?: Record<BulkReadKind, number>;
  rules?: MonitorRules;
  /** Hours after which an administrator unlocks a principal locked by a false alert. */
  reviewHours?: number;
}

/** Outcome of one injected attack. */
export interface AttackResult {
  attack: SimAttack;
  detected: boolean;
  /** First finding attributed to the attack. */
  firstFinding: { rule: RuleId; time: number; summary: string } | null;
  /** Minutes from the start of the attack to the first finding. */
  minutesToDetect: number | null;
  lockedAt: number | null;
  /** Rule whose finding locked the principal. */
  lockRule: RuleId | null;
  /** Bulk exfiltration: when the attack crossed the absolute caps of the volume rule (ground truth), and seconds from then to the lock (negative: locked before). */
  crossedAt: number | null;
  lockLagSeconds: number | null;
  /** Bytes the attack's downloads delivered before the lock refused the rest (all of them if never locked). */
  bytesTaken: number;
  /** Bytes the attack planned to take. */
  bytesPlanned: number;
}

/** Outcome of one legitimate bulk read. */
export interface BulkReadResult {
  read: SimBulkRead;
  /** Findings on its reader from its start to an hour after its end, by rule. */
  alerts: Partial<Record<RuleId, number>>;
  locked: boolean;
  /** Files downloaded before a lock refused the rest. */
  filesDelivered: number;
}

/** The evaluation. */
export interface SimulationReport {
  options: Omit<SimulationOptions, 'rules'>;
  events: number;
  principals: { people: number; pipelines: number };
  userDays: number;
  principalDays: number;
  attacks: AttackResult[];
  bulkReads: BulkReadResult[];
  byKind: Record<AttackKind, { injected: number; detected: number; medianMinutes: number | null; maxMinutes: number | null; locked: number }>;
  falseAlerts: { total: number; byRule: Partial<Record<RuleId, number>>; per100UserDays: number; per100PrincipalDays: number; locks: number; examples: string[] };
  targets: { name: string; value: string; pass: boolean }[];
  wallMs: number;
}

/** Monday 2025-03-03 00:00 UTC. */
export const SIM_START = Date.UTC(2025, 2, 3);

/**
 * Generates a team's traffic with injected attacks, runs every record through the
 * detector code the server runs (record bodies built by the audit module, parsed by
 * the monitor, same engine), applies locks (a locked principal's later requests are
 * refused, so they never reach the log), and scores the findings against the ground
 * truth.
 */
export function runSimulation(options: SimulationOptions): SimulationReport {
  const started = performance.now();
  const rules = options.rules ?? DEFAULT_RULES;
  const rng = new Prng(options.seed);
  const world = buildWorld(rng, options.people, options.pipelines);
  const rec = new Recorder(rng);
  for (const p of world.people) personTraffic(rec, rng, world, p, SIM_START, options.days);
  for (const p of world.pipelines) pipelineTraffic(rec, rng, p, SIM_START, options.days);

  const attacks = injectAttacks(rec, rng, world, options);
  // What earlier versions of the simulation did not have draws from its own generator, so
  // the traffic above stays as it was, and falls on people no earlier attack used: their
  // locks are lifted after the review like false ones, so one person can host several
  // of these scenarios on different days, each measured on its own.
  const extra = new Prng((options.seed ^ 0x9e3779b9) >>> 0);
  addFileSets(world, extra);
  const earlier = new Set(attacks.map((a) => a.id));
  const spare = world.people.filter((p) => !attacks.some((a) => a.principalId === p.id));
  const reads: SimBulkRead[] = [];
  attacks.push(...injectHidingAttacks(rec, extra, { ...world, people: spare }, options, attacks));
  reads.push(...injectBulkReads(rec, extra, { ...world, people: spare }, options, attacks));

  const events = rec.events.map((e, i) => ({ ...e, order: i })).sort((a, b) => a.event.time - b.event.time || a.order - b.order);
  const engine = new MonitorEngine(rules);
  const keys = { hmacKey: new Uint8Array(32).fill(7) };
  const locked = new Map<string, number>();
  const unlocks: Array<{ at: number; key: string }> = [];
  const findings: Array<Finding & { attackId: string | null }> = [];
  const taken = new Map<string, number>();
  const delivered = new Map<string, number>();
  const reviewMs = (options.reviewHours ?? 4) * HOUR;
  /** Volume thresholds of each bulk attack's principal just before the attack (for the ground truth). */
  const before = new Map<string, OwnThresholds>();
  let seq = 0;
  for (const e of events) {
    if (e.attack !== null && !before.has(e.attack) && e.event.actor !== null) {
      const s = engine.stateOf(e.event.actor.id);
      const fresh = engine.rules.volume.restrictedMinBytes > 0 ? engine.rules.volume.restrictedMinBytes : Infinity;
      before.set(e.attack, s === null ? { bytes: Infinity, distinct: Infinity, projects: Infinity, restricted: fresh } : { ...baselineThresholds(s.volume, rules), restricted: restrictedThreshold(s.volume, rules) });
    }
    while (unlocks.length > 0 && unlocks[0]!.at <= e.event.time) {
      const u = unlocks.shift()!;
      locked.delete(u.key);
      engine.clearWindows(u.key);
    }
    const key = e.event.actor?.id ?? `ip:${String(e.event.context.sourceIp)}`;
    // a locked principal's requests are refused at authentication: they never reach the detectors
    if (locked.has(key)) continue;
    const ev = e.event;
    if (ev.action === 'download' && ev.outcome !== 'attempt' && ev.outcome !== 'denied') {
      if (e.attack !== null) taken.set(e.attack, (taken.get(e.attack) ?? 0) + (ev.bytes ?? 0));
      if (e.bulkRead !== undefined && ev.outcome === 'success') delivered.set(e.bulkRead, (delivered.get(e.bulkRead) ?? 0) + 1);
    }
    seq++;
    const body = serializeAuditBody(auditBodyOf(ev, keys), seq);
    const parsed = parseAuditRecord(seq, body);
    if (parsed === null) throw new Error(`simulated record ${seq} does not parse`);
    const art = parsed.target === null ? null : artifactKey(parsed.target);
    const tier = art === null ? undefined : world.tiers.get(art);
    for (const f of engine.process(withCatalog(parsed, tier === undefined ? null : { tier, kind: world.kinds.get(art!) ?? 'other' }))) {
      const attack = attributed(f, attacks);
      findings.push({ ...f, attackId: attack?.id ?? null });
      if (actionOf(rules, f.rule) === 'lock' && !f.principalKey.startsWith('ip:')) {
        locked.set(f.principalKey, f.time);
        // an administrator looks at a lock and lifts it if the alert was false
        if (attack === null || !earlier.has(attack.id)) unlocks.push({ at: f.time + reviewMs, key: f.principalKey });
        unlocks.sort((a, b) => a.at - b.at);
      }
    }
  }

  const results = attacks.map((a): AttackResult => {
    const mine = findings.filter((f) => f.attackId === a.id).sort((x, y) => x.time - y.time);
    const first = mine[0] ?? null;
    const lock = mine.find((f) => actionOf(rules, f.rule) === 'lock') ?? null;
    const crossedAt = a.kind === 'bulk-exfiltration' ? thresholdCrossing(rec.events.filter((e) => e.event.actor?.id === a.principalId), a, rules, world, before.get(a.id)) : null;
    return {
      attack: a,
      detected: first !== null,
      firstFinding: first && { rule: first.rule, time: first.time, summary: first.summary },
      minutesToDetect: first && Math.max(0, (first.time - a.start) / MINUTE),
      lockedAt: lock?.time ?? null,
      lockRule: lock?.rule ?? null,
      crossedAt,
      lockLagSeconds: lock !== null && crossedAt !== null ? (lock.time - crossedAt) / 1000 : null,
      bytesTaken: taken.get(a.id) ?? 0,
      bytesPlanned: Number(a.detail.bytes ?? 0),
    };
  });
  const bulkReads = reads.map((read): BulkReadResult => {
    const mine = findings.filter((f) => f.attackId === null && f.principalKey === read.principalId && f.time >= read.start && f.time <= read.end + HOUR);
    const alerts: Partial<Record<RuleId, number>> = {};
    for (const f of mine) alerts[f.rule] = (alerts[f.rule] ?? 0) + 1;
    return { read, alerts, locked: mine.some((f) => actionOf(rules, f.rule) === 'lock'), filesDelivered: delivered.get(read.id) ?? 0 };
  });
  const falses = findings.filter((f) => f.attackId === null);
  const userDays = options.people * options.days;
  const principalDays = (options.people + options.pipelines) * options.days;
  const byRule: Partial<Record<RuleId, number>> = {};
  for (const f of falses) byRule[f.rule] = (byRule[f.rule] ?? 0) + 1;
  const byKind = Object.fromEntries(
    ATTACK_KINDS.map((k) => {
      const rs = results.filter((r) => r.attack.kind === k);
      const ttd = rs.filter((r) => r.minutesToDetect !== null).map((r) => r.minutesToDetect!).sort((a, b) => a - b);
      return [k, { injected: rs.length, detected: ttd.length, medianMinutes: ttd.length ? ttd[Math.floor(ttd.length / 2)]! : null, maxMinutes: ttd.length ? ttd[ttd.length - 1]! : null, locked: rs.filter((r) => r.lockedAt !== null).length }];
    }),
  ) as SimulationReport['byKind'];

  const report: Omit<SimulationReport, 'targets' | 'wallMs'> = {
    options: {
      seed: options.seed,
      people: options.people,
      pipelines: options.pipelines,
      days: options.days,
      warmupDays: options.warmupDays,
      attacks: options.attacks,
      bulkReads: options.bulkReads ?? { 'dvc-pull': 0, 's3-sync': 0 },
      reviewHours: options.reviewHours ?? 4,
    },
    events: seq,
    principals: { people: options.people, pipelines: options.pipelines },
    userDays,
    principalDays,
    attacks: results,
    bulkReads,
    byKind,
    falseAlerts: {
      total: falses.length,
      byRule,
      per100UserDays: (falses.length * 100) / userDays,
      per100PrincipalDays: (falses.length * 100) / principalDays,
      locks: falses.filter((f) => actionOf(rules, f.rule) === 'lock').length,
      examples: falses.slice(0, 8).map((f) => `${new Date(f.time).toISOString()} ${f.principalName ?? f.principalKey} ${f.rule}: ${f.summary}`),
    },
  };
  return { ...report, targets: targetsOf(report), wallMs: Math.round(performance.now() - started) };
}

function injectAttacks(rec: Recorder, rng: Prng, world: ReturnType<typeof buildWorld>, o: SimulationOptions): SimAttack[] {
  const out: SimAttack[] = [];
  const used = new Set<string>();
  const lastDay = o.days - 7;
  if (lastDay < o.warmupDays) return out;
  const freePerson = () => {
    const free = world.people.filter((p) => !used.has(p.id));
    const p = rng.pick(free.length > 0 ? free : world.people);
    used.add(p.id);
    return p;
  };
  const day = () => rng.int(o.warmupDays, lastDay);
  let n = 0;
  const id = (k: string) => `${k}-${++n}`;
  for (let i = 0; i < o.attacks['bulk-exfiltration']; i++) out.push(bulkExfiltration(rec, rng, world, freePerson(), day(), SIM_START, id('bulk')));
  for (let i = 0; i < o.attacks['slow-and-low']; i++) out.push(slowAndLow(rec, rng, world, freePerson(), day(), SIM_START, id('slow')));
  for (let i = 0; i < o.attacks['stolen-token']; i++) {
    const victim = rng.chance(0.3) && world.pipelines.length > 0 ? rng.pick(world.pipelines) : freePerson();
    out.push(stolenToken(rec, rng, world, victim, day(), SIM_START, id('token')));
  }
  for (let i = 0; i < o.attacks.enumeration; i++) out.push(enumeration(rec, rng, world, freePerson(), day(), SIM_START, id('enum')));
  // records carry whole milliseconds
  return out.map((a) => ({ ...a, start: Math.floor(a.start), end: Math.ceil(a.end) }));
}

/**
 * A person and a day (from the warm-up to a week before the end) with no other labelled
 * scenario of that person within two days, so every finding is attributed to one scenario.
 */
function freeSlot(rng: Prng, people: SimPerson[], o: SimulationOptions, busy: ReadonlyArray<{ principalId: string; start: number; end: number }>, fits: (p: SimPerson) => boolean = () => true): { person: SimPerson; day: number } | null {
  const candidates = people.filter(fits);
  if (candidates.length === 0) return null;
  for (let attempt = 0; attempt < 500; attempt++) {
    const person = rng.pick(candidates);
    const day = rng.int(o.warmupDays, o.days - 7);
    const from = SIM_START + (day - 2) * DAY;
    const to = SIM_START + (day + 3) * DAY;
    if (!busy.some((b) => b.principalId === person.id && b.end >= from && b.start <= to)) return { person, day };
  }
  return null;
}

/** Attacks that try to hide inside the allowance made for legitimate bulk reads. */
function injectHidingAttacks(rec: Recorder, rng: Prng, world: ReturnType<typeof buildWorld>, o: SimulationOptions, busy: SimAttack[]): SimAttack[] {
  const out: SimAttack[] = [];
  if (o.days - 7 < o.warmupDays) return out;
  let n = busy.length;
  const all = () => [...busy, ...out];
  for (let i = 0; i < (o.attacks['spread-projects'] ?? 0); i++) {
    const slot = freeSlot(rng, world.people, o, all());
    if (slot !== null) out.push(spreadProjects(rec, rng, world, slot.person, slot.day, SIM_START, `spread-${++n}`));
  }
  for (let i = 0; i < (o.attacks['restricted-drain'] ?? 0); i++) {
    const slot = freeSlot(rng, world.people, o, all(), (p) => p.restricted.length > 0);
    if (slot !== null) out.push(restrictedDrain(rec, rng, slot.person, slot.day, SIM_START, `drain-${++n}`));
  }
  return out.map((a) => ({ ...a, start: Math.floor(a.start), end: Math.ceil(a.end) }));
}

/** Legitimate bulk reads (DVC pulls, S3 syncs) by people of their own projects' folders. */
function injectBulkReads(rec: Recorder, rng: Prng, world: ReturnType<typeof buildWorld>, o: SimulationOptions, attacks: SimAttack[]): SimBulkRead[] {
  const out: SimBulkRead[] = [];
  if (o.days - 7 < o.warmupDays) return out;
  let n = 0;
  for (const kind of BULK_READ_KINDS) {
    for (let i = 0; i < (o.bulkReads?.[kind] ?? 0); i++) {
      const slot = freeSlot(rng, world.people, o, [...attacks, ...out]);
      if (slot !== null) out.push(bulkRead(rec, rng, world, slot.person, kind, slot.day, SIM_START, `${kind}-${++n}`));
    }
  }
  return out;
}

/** The attack a finding belongs to: same principal (or source address) while the attack runs or within a day after. */
function attributed(f: Finding, attacks: SimAttack[]): SimAttack | null {
  return (
    attacks.find((a) => (f.principalKey === a.principalId || f.principalKey === `ip:${a.ip}`) && f.time >= a.start && f.time <= a.end + DAY) ?? null
  );
}

/** A principal's own volume thresholds as learned before an attack. */
interface OwnThresholds {
  bytes: number;
  distinct: number;
  projects: number;
  restricted: number;
}

/**
 * Ground truth of "crossed its threshold" for a bulk exfiltration: the first download
 * record at or after the attack's start at which the principal's downloads within the
 * volume window (the current minute and the 59 before) exceed an absolute cap (bytes
 * of a tier, distinct datasets, distinct projects) or the principal's own thresholds
 * (restricted bytes, spread bytes, distinct datasets and projects) as learned before
 * the attack began. Computed from every generated request (also those a lock later
 * refused), not from what the detector saw, by recounting the whole window at each
 * record.
 */
function thresholdCrossing(events: Recorder['events'], a: SimAttack, rules: MonitorRules, world: ReturnType<typeof buildWorld>, own: OwnThresholds = { bytes: Infinity, distinct: Infinity, projects: Infinity, restricted: Infinity }): number | null {
  const r = rules.volume;
  const window: Array<{ slot: number; bytes: number; tier: string | null; dataset: string; project: string }> = [];
  const downloads = events.filter((e) => e.event.action === 'download' && e.event.decision === 'allow').sort((x, y) => x.event.time - y.event.time);
  for (const e of downloads) {
    const t = e.event.time;
    const target = parseResource(e.event.resource)!;
    const art = artifactKey(target)!;
    const bytes = e.event.outcome === 'attempt' ? 0 : (e.event.bytes ?? 0);
    const slot = Math.floor(t / MINUTE);
    window.push({ slot, bytes, tier: world.tiers.get(art) ?? null, dataset: datasetOf({ target, kind: world.kinds.get(art) ?? 'other' })!, project: target.project });
    while (window.length > 0 && window[0]!.slot <= slot - r.windowMinutes) window.shift();
    if (t < a.start) continue;
    const byDataset = new Map<string, number>();
    for (const w of window) byDataset.set(w.dataset, (byDataset.get(w.dataset) ?? 0) + w.bytes);
    const projects = new Set(window.map((w) => w.project)).size;
    const inTier = (tier: string) => window.reduce((n, w) => n + (w.tier === tier ? w.bytes : 0), 0);
    const overTier = TIERS.some((tier) => r.tierCapsBytes[tier] > 0 && inTier(tier) > r.tierCapsBytes[tier]);
    const overCaps = (r.maxDistinctDatasets > 0 && byDataset.size > r.maxDistinctDatasets) || (r.maxDistinctProjects > 0 && projects > r.maxDistinctProjects);
    const overOwn = inTier('restricted') > own.restricted || spreadOf(byDataset.values()) > own.bytes || byDataset.size > own.distinct || projects > own.projects;
    if (overTier || overCaps || overOwn) return t;
  }
  return null;
}

function targetsOf(r: Omit<SimulationReport, 'targets' | 'wallMs'>): SimulationReport['targets'] {
  const hiding = r.attacks.filter((a) => a.attack.kind === 'spread-projects' || a.attack.kind === 'restricted-drain');
  const hidingLocked = hiding.filter((a) => a.lockedAt !== null);
  const readsLocked = r.bulkReads.filter((b) => b.locked);
  const extra = [
    ...(r.bulkReads.length > 0 ? [{ name: 'no legitimate bulk read (DVC pull, S3 sync) locks its reader', value: `${readsLocked.length}/${r.bulkReads.length} locked`, pass: readsLocked.length === 0 }] : []),
    ...(hiding.length > 0 ? [{ name: 'every attack hiding in the bulk-read allowance locked', value: `${hidingLocked.length}/${hiding.length}`, pass: hidingLocked.length === hiding.length }] : []),
  ];
  const bulk = r.attacks.filter((a) => a.attack.kind === 'bulk-exfiltration');
  const bulkOk = bulk.filter((a) => a.lockLagSeconds !== null && a.lockLagSeconds <= 60);
  const slow = r.attacks.filter((a) => a.attack.kind === 'slow-and-low');
  const slowOk = slow.filter((a) => a.minutesToDetect !== null && a.minutesToDetect <= 24 * 60);
  const slowRate = slow.length === 0 ? 1 : slowOk.length / slow.length;
  return [
    { name: 'every bulk exfiltration locked within 60 s after crossing its threshold', value: `${bulkOk.length}/${bulk.length}`, pass: bulkOk.length === bulk.length },
    { name: '>= 90% of slow-and-low caught within one simulated day', value: `${slowOk.length}/${slow.length} (${(slowRate * 100).toFixed(0)}%)`, pass: slowRate >= 0.9 },
    { name: '<= 1 false alert per 100 user-days', value: r.falseAlerts.per100UserDays.toFixed(2), pass: r.falseAlerts.per100UserDays <= 1 },
    ...extra,
  ];
}
