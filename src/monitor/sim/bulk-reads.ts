import type { Prng } from './prng.js';
import type { Recorder } from './recorder.js';
import { sessionOf, sourceOf } from './normal-traffic.js';
import { projectGrantOf } from './world.js';
import type { SimFileSet, SimPerson, SimWorld } from './world.js';

const HOUR = 3_600_000;
const MB = 1024 ** 2;

export const BULK_READ_KINDS = ['dvc-pull', 's3-sync'] as const;
export type BulkReadKind = (typeof BULK_READ_KINDS)[number];

/** A legitimate bulk read: ground truth that nothing about it should lock its reader. */
export interface SimBulkRead {
  id: string;
  kind: BulkReadKind;
  principalId: string;
  principalName: string;
  start: number;
  end: number;
  files: number;
  bytes: number;
}

/**
 * A legitimate bulk read by a person of a folder of S3 keys of one of its own projects,
 * under its project grant, in working hours: `dvc pull` of the project's DVC cache
 * (every file, 8 parallel jobs as DVC's default on a small laptop) or `aws s3 sync` of
 * the exported tree (203 files, the AWS CLI's 10 concurrent requests). Each starts with
 * the listing pages (1000 keys a page) the client reads first.
 */
export function bulkRead(rec: Recorder, rng: Prng, world: SimWorld, p: SimPerson, kind: BulkReadKind, day: number, start: number, id: string): SimBulkRead {
  const project = rng.pick(p.projects);
  const set: SimFileSet = world.fileSets.find((f) => f.project === project && f.shape === (kind === 'dvc-pull' ? 'dvc' : 'tree'))!;
  const session = sessionOf(rng, p, day, start) ?? { from: start + day * 86_400_000 + 10 * HOUR, to: start + day * 86_400_000 + 18 * HOUR };
  const src = sourceOf(rng, p);
  const grant = projectGrantOf(p.id, project);
  let t = rng.uniform(session.from, Math.max(session.from, session.to - 2 * HOUR));
  const t0 = t;
  for (let page = 0; page * 1000 < set.files.length; page++) t = rec.request(src, t + rng.uniform(20, 200), { action: 'read-metadata', resource: `project/${project}`, grant, bulkRead: id }) + 10;
  const streams = new Array<number>(kind === 'dvc-pull' ? 8 : 10).fill(t);
  let bytes = 0;
  set.files.forEach((f, i) => {
    const s = i % streams.length;
    streams[s] = rec.request(src, streams[s]! + rng.uniform(5, 60), {
      action: 'download',
      resource: `project/${project}/artifact/${f.name}@latest`,
      tier: set.tier,
      bytes: f.size,
      durationMs: 20 + (f.size / (rng.uniform(20, 120) * MB)) * 1000,
      grant,
      bulkRead: id,
    });
    bytes += f.size;
  });
  return { id, kind, principalId: p.id, principalName: p.name, start: t0, end: Math.max(...streams), files: set.files.length, bytes };
}
