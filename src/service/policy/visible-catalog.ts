import type { Artifact, ArtifactVersion, Project } from '../../domain/types.js';
import type { ListingPlan } from '../../policy/index.js';
import type { Page } from '../../store/metadata-store.js';
import type { Caller } from '../caller.js';
import type { ServiceDeps } from '../deps.js';
import type { Gate } from '../gate.js';

type PageRequest = { limit?: number; cursor?: string | null };

/** Rounds of candidate queries for one page at most (a page may come back short, with a cursor). */
const MAX_ROUNDS = 64;
/** Rows read ahead of a full page to tell whether another page follows. */
const LOOK_AHEAD = 20;
const EVERYTHING: ListingPlan = { unbounded: true, projectIds: new Set(), artifactIds: new Set(), versionIds: new Set() };

/** Where the caller may read metadata: the engine's listing plan, or everything (row by row) without one. */
function planOf(deps: ServiceDeps, caller: Caller): ListingPlan {
  return deps.policy.listingPlan?.(caller.subject, 'read-metadata', caller.context.now) ?? EVERYTHING;
}

/**
 * Fills a page with the rows `allowed` accepts, reading candidate rows with `fetch`,
 * each time exactly as many as the page still lacks (so the page never overflows and
 * the cursor of the last read is where the next page starts). Once the page is full,
 * a short look-ahead makes `next` null when no allowed row follows, so the last page is
 * never empty (an empty page of an invisible project would read as "not found").
 */
async function fillPage<T>(page: PageRequest, fetch: (options: { limit: number; cursor: string | null }) => Promise<Page<T>>, allowed: (row: T) => boolean): Promise<Page<T>> {
  const want = Math.min(Math.max(1, Math.trunc(page.limit ?? 100)), 1000);
  const items: T[] = [];
  let cursor = page.cursor ?? null;
  let round = 0;
  for (; round < MAX_ROUNDS && items.length < want; round++) {
    const raw = await fetch({ limit: want - items.length, cursor });
    for (const row of raw.items) if (allowed(row)) items.push(row);
    cursor = raw.next;
    if (cursor === null) return { items, next: null };
  }
  if (items.length < want) return { items, next: cursor };
  for (; round < MAX_ROUNDS && cursor !== null; round++) {
    const ahead = await fetch({ limit: Math.min(want, LOOK_AHEAD), cursor });
    // the next page starts before the first allowed row found ahead
    if (ahead.items.some(allowed)) return { items, next: cursor };
    cursor = ahead.next;
  }
  return { items, next: cursor };
}

/**
 * Projects the caller may read, one page (filled) at a time: with a bounded listing
 * plan only the projects it names are read (grants indexed by principal), otherwise
 * every project; each is confirmed by a decision.
 */
export function visibleProjects(deps: ServiceDeps, gate: Gate, caller: Caller, page: PageRequest): Promise<Page<Project>> {
  const plan = planOf(deps, caller);
  const ok = (project: Project) => gate.decide(caller, 'read-metadata', { kind: 'project', project }).allowed;
  const byIds = deps.catalogCandidates;
  if (plan.unbounded || byIds === undefined) return fillPage(page, (o) => deps.store.listProjects(o), ok);
  const ids = [...plan.projectIds];
  return fillPage(page, (o) => byIds.projectsByIds(ids, o), ok);
}

/**
 * Artifacts of `project` the caller may read: every artifact of the project if the plan
 * reaches the whole project, else only the artifacts it names; each confirmed.
 */
export function visibleArtifacts(deps: ServiceDeps, gate: Gate, caller: Caller, project: Project, page: PageRequest): Promise<Page<Artifact>> {
  const plan = planOf(deps, caller);
  const ok = (artifact: Artifact) => gate.decide(caller, 'read-metadata', { kind: 'artifact', project, artifact }).allowed;
  const byIds = deps.catalogCandidates;
  if (plan.unbounded || plan.projectIds.has(project.id) || byIds === undefined) return fillPage(page, (o) => deps.store.listArtifacts(project.id, o), ok);
  const ids = [...plan.artifactIds];
  return fillPage(page, (o) => byIds.artifactsByIds(project.id, ids, o), ok);
}

/** Versions of `artifact` the caller may read (at most 1000), each confirmed. */
export async function visibleVersions(deps: ServiceDeps, gate: Gate, caller: Caller, project: Project, artifact: Artifact): Promise<ArtifactVersion[]> {
  const plan = planOf(deps, caller);
  const ok = (version: ArtifactVersion) => gate.decide(caller, 'read-metadata', { kind: 'version', project, artifact, version }).allowed;
  const byIds = deps.catalogCandidates;
  const rows =
    plan.unbounded || plan.projectIds.has(project.id) || plan.artifactIds.has(artifact.id) || byIds === undefined
      ? (await deps.store.listVersions(artifact.id, { limit: 1000 })).items
      : await byIds.versionsByIds(artifact.id, [...plan.versionIds]);
  return rows.filter(ok);
}
