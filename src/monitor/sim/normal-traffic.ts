import type { Prng } from './prng.js';
import type { Recorder, SimSource } from './recorder.js';
import { BROWSER_AGENT, grantOf, projectGrantOf } from './world.js';
import type { SimArtifact, SimPerson, SimPipeline, SimWorld } from './world.js';

const MINUTE = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;
const MB = 1024 ** 2;

/** Resource names as the service writes them. */
export const resourceOf = {
  version: (a: SimArtifact, v: string | number = 'latest') => `project/${a.project}/artifact/${a.name}@${v}`,
  artifact: (a: SimArtifact) => `project/${a.project}/artifact/${a.name}`,
  project: (p: string) => `project/${p}`,
};

/** A person's working session on one day (UTC epoch ms), or null for a day off. */
export function sessionOf(rng: Prng, p: SimPerson, day: number, start: number): { from: number; to: number } | null {
  const localMidnight = start + day * DAY - p.tz * HOUR;
  const weekday = day % 7; // the simulation starts on a Monday
  if (weekday >= 5) {
    if (!rng.chance(0.04)) return null;
    const from = localMidnight + rng.uniform(10, 17) * HOUR;
    return { from, to: from + rng.uniform(1, 3) * HOUR };
  }
  if (rng.chance(0.06)) return null;
  const from = localMidnight + (p.startHour + rng.normal(0, 0.4)) * HOUR;
  const late = rng.chance(0.05) ? rng.uniform(1.5, 3.5) : 0;
  return { from, to: from + (p.hoursPerDay + rng.normal(0, 0.5) + late) * HOUR };
}

/** Where a person works from on one day: office, home, or (rarely) somewhere new while travelling. */
export function sourceOf(rng: Prng, p: SimPerson): SimSource {
  const r = rng.next();
  const ip = r < 0.002 ? `${rng.int(100, 200)}.${rng.int(0, 255)}.${rng.int(0, 255)}.${rng.int(2, 250)}` : r < 0.002 + p.homeShare ? p.home : `${p.office}.${rng.int(10, 250)}`;
  return { actor: { id: p.id, name: p.name, kind: 'user' }, ip, userAgent: p.userAgent };
}

/** The normal traffic of one person over `days` days. */
export function personTraffic(rec: Recorder, rng: Prng, world: SimWorld, p: SimPerson, start: number, days: number): void {
  const pool = world.artifacts.filter((a) => p.projects.includes(a.project) && a.tier !== 'restricted');
  const favorites = [...p.favorites];
  for (let day = 0; day < days; day++) {
    // the working set drifts: now and then something new becomes a favorite
    if (rng.chance(1 / 14)) favorites[rng.int(0, favorites.length - 1)] = rng.pick(pool);
    const s = sessionOf(rng, p, day, start);
    if (s === null) continue;
    const src = sourceOf(rng, p);
    const hours = (s.to - s.from) / HOUR;
    const at = () => rng.uniform(s.from, s.to);
    for (let i = rng.int(1, 3); i > 0; i--) rec.request(src, at(), { action: 'read-metadata', resource: 'projects', grant: null });
    const reads = rng.poisson((p.readsPerDay * hours) / 8);
    const browse = p.browser ? { ...src, userAgent: BROWSER_AGENT } : src;
    for (let i = 0; i < reads; i++) {
      const a = rng.pickZipf(favorites);
      if (rng.chance(0.03)) {
        // a typo or a stale link: not found
        rec.request(browse, at(), { action: 'read-metadata', resource: `${resourceOf.artifact(a)}-old`, deny: 'COFFER_NOT_FOUND' });
        continue;
      }
      const what = rng.next();
      const resource = what < 0.15 ? resourceOf.project(a.project) : what < 0.6 ? resourceOf.artifact(a) : resourceOf.version(a);
      rec.request(browse, at(), { action: 'read-metadata', resource, tier: what < 0.15 ? null : a.tier, grant: what < 0.15 ? projectGrantOf(p.id, a.project) : grantOf(p.id, a) });
    }
    const pulls = rng.poisson((p.pullsPerDay * hours) / 8);
    // mostly the working set; now and then something else of the person's projects
    for (let i = 0; i < pulls; i++) pull(rec, rng, src, rng.chance(0.1) ? rng.pick(pool) : rng.pickZipf(favorites), at());
    if (p.restricted.length > 0 && rng.chance(0.3)) pull(rec, rng, src, rng.pick(p.restricted), at());
    const models = world.artifacts.filter((a) => a.kind === 'model' && p.projects.includes(a.project));
    for (let i = rng.poisson(0.6); i > 0 && models.length > 0; i--) {
      const m = rng.pick(models);
      rec.request(src, at(), { action: 'upload', resource: resourceOf.artifact(m), tier: m.tier, bytes: m.size, durationMs: (m.size / (rng.uniform(40, 200) * MB)) * 1000, grant: grantOf(p.id, m) });
    }
  }
}

function pull(rec: Recorder, rng: Prng, src: SimSource, a: SimArtifact, t: number, attack: string | null = null): number {
  return rec.request(src, t, { action: 'download', resource: resourceOf.version(a), tier: a.tier, bytes: a.size, durationMs: (a.size / (rng.uniform(60, 400) * MB)) * 1000, attack, grant: grantOf(src.actor.id, a) });
}

/** The scheduled runs of one pipeline over `days` days. */
export function pipelineTraffic(rec: Recorder, rng: Prng, p: SimPipeline, start: number, days: number): void {
  const end = start + days * DAY;
  for (let t = start + p.offsetMinutes * MINUTE; t < end; t += p.everyMinutes * MINUTE) {
    const src: SimSource = { actor: { id: p.id, name: p.name, kind: 'service-account' }, ip: `${p.network}.${rng.int(10, 40)}`, userAgent: 'coffer-cli/0.1.0 (ci)' };
    let now = t + rng.uniform(0, 3) * MINUTE;
    for (const a of p.pulls) {
      now = rec.request(src, now, { action: 'read-metadata', resource: resourceOf.version(a), tier: a.tier, grant: grantOf(p.id, a) }) + 200;
      if (rng.chance(0.02)) {
        // a runner lost its connection half-way; the job retries later
        now = rec.request(src, now, { action: 'download', resource: resourceOf.version(a), tier: a.tier, bytes: a.size * rng.next(), durationMs: 30_000, fail: true, grant: grantOf(p.id, a) }) + 10 * MINUTE;
      }
      now = pull(rec, rng, src, a, now) + 500;
    }
    for (const a of p.pushes) {
      now = rec.request(src, now + rng.uniform(1, 20) * MINUTE, { action: 'upload', resource: resourceOf.artifact(a), tier: a.tier, bytes: a.size, durationMs: (a.size / (150 * MB)) * 1000, grant: grantOf(p.id, a) }) + 200;
    }
  }
}

export { pull as pullArtifact };
