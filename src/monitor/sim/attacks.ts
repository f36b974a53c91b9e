import type { Prng } from './prng.js';
import type { Recorder, SimSource } from './recorder.js';
import { pullArtifact, resourceOf, sessionOf, sourceOf } from './normal-traffic.js';
import { grantOf, projectGrantOf } from './world.js';
import type { SimPerson, SimPipeline, SimWorld } from './world.js';

const HOUR = 3_600_000;
const DAY = 86_400_000;
const MB = 1024 ** 2;
const GB = 1024 ** 3;

export const ATTACK_KINDS = ['bulk-exfiltration', 'slow-and-low', 'stolen-token', 'enumeration', 'spread-projects', 'restricted-drain'] as const;
export type AttackKind = (typeof ATTACK_KINDS)[number];

/** An injected attack: ground truth for the evaluation. */
export interface SimAttack {
  id: string;
  kind: AttackKind;
  principalId: string;
  principalName: string;
  /** Source address of the attacker (for findings keyed by address). */
  ip: string;
  start: number;
  end: number;
  /** How hard: bytes taken, requests made, intensity against the victim's normal day. */
  detail: Record<string, number | string>;
}

/**
 * Bulk exfiltration by an insider: every artifact of the person's projects, four
 * parallel streams, from the usual network and client, in working hours or at night.
 */
export function bulkExfiltration(rec: Recorder, rng: Prng, world: SimWorld, p: SimPerson, day: number, start: number, id: string): SimAttack {
  const session = sessionOf(rng, p, day, start) ?? { from: start + day * DAY + 12 * HOUR, to: start + day * DAY + 20 * HOUR };
  const t0 = rng.chance(0.5) ? rng.uniform(session.from, session.to - HOUR) : start + day * DAY + rng.uniform(0, 24) * HOUR;
  const src = sourceOf(rng, p);
  const targets = rng.sample(world.artifacts.filter((a) => p.projects.includes(a.project)), 10_000);
  const streams = [t0, t0, t0, t0];
  let bytes = 0;
  targets.forEach((a, i) => {
    const s = i % streams.length;
    streams[s] = pullArtifact(rec, rng, src, a, streams[s]! + 200, id);
    bytes += a.size;
  });
  return { id, kind: 'bulk-exfiltration', principalId: p.id, principalName: p.name, ip: src.ip, start: t0, end: Math.max(...streams), detail: { artifacts: targets.length, bytes } };
}

/**
 * Slow and low: for five working days, `intensity` times the person's usual daily
 * volume, in pieces of at most 600 MB (byte ranges of large datasets, whole small
 * artifacts) spread evenly over the working day, so no hour stands out.
 */
export function slowAndLow(rec: Recorder, rng: Prng, world: SimWorld, p: SimPerson, day: number, start: number, id: string): SimAttack {
  const usual = p.pullsPerDay * (p.favorites.reduce((s, a) => s + a.size, 0) / p.favorites.length);
  const intensity = rng.uniform(3, 8);
  const pool = world.artifacts.filter((a) => p.projects.includes(a.project));
  const src = sourceOf(rng, p);
  let first = Infinity;
  let last = 0;
  let taken = 0;
  let d = day;
  for (let worked = 0; worked < 5 && d < day + 10; d++) {
    const s = sessionOf(rng, p, d, start);
    if (s === null || d % 7 >= 5) continue;
    worked++;
    const budget = intensity * usual;
    const pieces = Math.max(6, Math.ceil(budget / (400 * MB)));
    for (let i = 0; i < pieces; i++) {
      const t = s.from + ((i + rng.next()) * (s.to - s.from)) / pieces;
      const a = rng.pick(pool);
      const size = Math.min(a.size, budget / pieces, 600 * MB);
      rec.request(src, t, { action: 'download', resource: resourceOf.version(a, 1), tier: a.tier, bytes: size, durationMs: (size / (100 * MB)) * 1000, attack: id, grant: grantOf(p.id, a) });
      taken += size;
      first = Math.min(first, t);
      last = Math.max(last, t);
    }
  }
  return { id, kind: 'slow-and-low', principalId: p.id, principalName: p.name, ip: src.ip, start: first, end: last, detail: { intensity: Math.round(intensity * 10) / 10, bytes: Math.round(taken), usualDailyBytes: Math.round(usual) } };
}

/**
 * A stolen token used from a network and client the victim never used: a few
 * listings, then a handful of ordinary-sized downloads.
 */
export function stolenToken(rec: Recorder, rng: Prng, world: SimWorld, victim: SimPerson | SimPipeline, day: number, start: number, id: string): SimAttack {
  const kind = 'pulls' in victim ? 'service-account' : 'user';
  const src: SimSource = {
    actor: { id: victim.id, name: victim.name, kind },
    ip: `${rng.pick([185, 45, 91, 203])}.${rng.int(0, 255)}.${rng.int(0, 255)}.${rng.int(2, 250)}`,
    userAgent: rng.pick(['python-requests/2.31.0', 'curl/8.5.0', 'coffer-cli/0.1.0']),
  };
  const pool = 'pulls' in victim ? victim.pulls : [...victim.favorites];
  let t = start + day * DAY + rng.uniform(0, 24) * HOUR;
  const t0 = t;
  t = rec.request(src, t, { action: 'read-metadata', resource: 'projects', attack: id, grant: null }) + rng.uniform(5, 60) * 1000;
  for (let i = rng.int(2, 5); i > 0; i--) {
    const a = rng.pick(pool);
    t = rec.request(src, t, { action: 'read-metadata', resource: resourceOf.artifact(a), tier: a.tier, attack: id, grant: grantOf(victim.id, a) }) + rng.uniform(5, 60) * 1000;
  }
  const n = rng.int(2, 6);
  for (let i = 0; i < n; i++) t = pullArtifact(rec, rng, src, rng.pick(pool), t + rng.uniform(10, 120) * 1000, id);
  return { id, kind: 'stolen-token', principalId: victim.id, principalName: victim.name, ip: src.ip, start: t0, end: t, detail: { downloads: n, client: src.userAgent } };
}

/**
 * Enumeration: walking every project name on a word list and every artifact it can
 * reach, a few requests a second; most guesses are refused.
 */
export function enumeration(rec: Recorder, rng: Prng, world: SimWorld, p: SimPerson, day: number, start: number, id: string): SimAttack {
  const src = rng.chance(0.5) ? sourceOf(rng, p) : { actor: { id: p.id, name: p.name, kind: 'user' as const }, ip: `${rng.int(100, 200)}.${rng.int(0, 255)}.7.${rng.int(2, 250)}`, userAgent: 'python-requests/2.31.0' };
  let t = start + day * DAY + rng.uniform(0, 24) * HOUR;
  const t0 = t;
  const requests = rng.int(120, 400);
  for (let i = 0; i < requests; i++) {
    t += rng.uniform(200, 1500);
    if (rng.chance(0.5)) {
      const guess = rng.chance(0.8) ? `guess-${rng.int(0, 9999)}` : rng.pick(world.projects);
      const visible = p.projects.includes(guess);
      rec.request(src, t, { action: 'read-metadata', resource: resourceOf.project(guess), ...(visible ? { grant: projectGrantOf(p.id, guess) } : { deny: 'COFFER_NOT_FOUND' }), attack: id });
    } else {
      const a = rng.pick(world.artifacts);
      const visible = p.projects.includes(a.project) && a.tier !== 'restricted';
      rec.request(src, t, { action: 'read-metadata', resource: resourceOf.artifact(a), tier: a.tier, ...(visible ? { grant: grantOf(p.id, a) } : { deny: 'COFFER_NOT_FOUND' }), attack: id });
    }
  }
  return { id, kind: 'enumeration', principalId: p.id, principalName: p.name, ip: src.ip, start: t0, end: t, detail: { requests } };
}


/**
 * Hiding inside the bulk-read allowance, across projects: an insider whose role reaches
 * every project (a group grant on each) takes a few dozen files of each project's S3
 * folders (DVC cache, exported tree), project after project, four parallel streams:
 * each project's share looks like an ordinary sync, and the bytes stay small.
 */
export function spreadProjects(rec: Recorder, rng: Prng, world: SimWorld, p: SimPerson, day: number, start: number, id: string): SimAttack {
  const session = sessionOf(rng, p, day, start) ?? { from: start + day * DAY + 12 * HOUR, to: start + day * DAY + 20 * HOUR };
  const t0 = rng.uniform(session.from, session.to - HOUR);
  const src = sourceOf(rng, p);
  const projects = rng.sample(world.projects, rng.int(Math.min(6, world.projects.length), world.projects.length));
  const streams = [t0, t0, t0, t0];
  let files = 0;
  let bytes = 0;
  for (const project of projects) {
    const pool = world.fileSets.filter((f) => f.project === project).flatMap((f) => f.files);
    for (const f of rng.sample(pool, rng.int(15, 40))) {
      const s = files % streams.length;
      streams[s] = rec.request(src, streams[s]! + rng.uniform(50, 400), {
        action: 'download',
        resource: `project/${project}/artifact/${f.name}@latest`,
        tier: 'internal',
        bytes: f.size,
        durationMs: 30 + (f.size / (rng.uniform(20, 100) * MB)) * 1000,
        attack: id,
        grant: `grt_sim_group_all_${project}`,
      });
      files++;
      bytes += f.size;
    }
  }
  return { id, kind: 'spread-projects', principalId: p.id, principalName: p.name, ip: src.ip, start: t0, end: Math.max(...streams), detail: { projects: projects.length, files, bytes } };
}

/**
 * Draining restricted data far beyond the reader's history: a person who holds a grant
 * on a restricted dataset pulls one version after another of it (every snapshot), two
 * streams, 5-14 GiB within the hour: under the restricted tier's hourly cap (16 GiB)
 * and daily cap, through one grant, one artifact.
 */
export function restrictedDrain(rec: Recorder, rng: Prng, p: SimPerson, day: number, start: number, id: string): SimAttack {
  const a = rng.pick(p.restricted);
  const session = sessionOf(rng, p, day, start) ?? { from: start + day * DAY + 12 * HOUR, to: start + day * DAY + 20 * HOUR };
  const t0 = rng.uniform(session.from, session.to - HOUR);
  const src = sourceOf(rng, p);
  const goal = rng.uniform(5, 14) * GB;
  const streams = [t0, t0];
  let bytes = 0;
  // daily snapshots, or hourly ones for a small table: enough versions to reach the goal
  let version = Math.max(rng.int(40, 90), Math.ceil(goal / (0.85 * a.size)));
  for (let i = 0; bytes < goal && version > 0; i++, version--) {
    const size = Math.round(a.size * rng.uniform(0.85, 1));
    const s = i % streams.length;
    streams[s] = rec.request(src, streams[s]! + rng.uniform(200, 2000), { action: 'download', resource: resourceOf.version(a, version), tier: a.tier, bytes: size, durationMs: (size / (rng.uniform(60, 200) * MB)) * 1000, attack: id, grant: grantOf(p.id, a) });
    bytes += size;
  }
  return { id, kind: 'restricted-drain', principalId: p.id, principalName: p.name, ip: src.ip, start: t0, end: Math.max(...streams), detail: { artifact: `${a.project}/${a.name}`, bytes, usualBytes: a.size } };
}
