import type { MonitorEvent } from './monitor-event.js';

/** A two-hex-digit directory: the fan-out level of a content-addressed store (DVC 2 at the root of a bucket: `ab/cdef...`). */
const FAN_OUT = /^[0-9a-f]{2}$/i;

/**
 * What one *use* of data is for the volume and slow-and-low detectors: the dataset a
 * download belongs to, as `project/...`. Breadth is counted in datasets, never in keys.
 *
 * - An artifact the catalog classifies (kind `dataset`, `model`, `feature-set`,
 *   `evaluation`) is a dataset of its own: `project/name`.
 * - Unclassified artifacts (kind `other`: what S3 clients push, key by key) belong to
 *   the folder at the top of their bucket: `project/top/` for `top/...`, `project/`
 *   for keys at the root and for content-addressed caches laid out from the root
 *   (`ab/cdef...`). So `dvc pull` of a DVC cache (`files/md5/ab/...`, 2,000 keys) or
 *   `aws s3 sync` of an exported tree (`exports/...`) is one use.
 *
 * Who decides the grouping is the writer (the kind is set when the artifact is
 * created), never the reader being judged. Null for a record that names no artifact.
 */
export function datasetOf(e: Pick<MonitorEvent, 'target' | 'kind'>): string | null {
  const t = e.target;
  if (t === null || t.artifact === null) return null;
  // INVARIANT: only an explicit `other` groups: an artifact of unknown kind counts on its own (more breadth, never less)
  if (e.kind !== 'other') return `${t.project}/${t.artifact}`;
  const slash = t.artifact.indexOf('/');
  if (slash < 0) return `${t.project}/`;
  const top = t.artifact.slice(0, slash);
  return FAN_OUT.test(top) ? `${t.project}/` : `${t.project}/${top}/`;
}
