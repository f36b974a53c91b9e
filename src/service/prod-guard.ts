import type { Artifact, ArtifactVersion, Project } from '../domain/types.js';
import type { Action, ResourceRef } from '../policy/policy-engine.js';
import type { ServiceDeps } from './deps.js';

/**
 * Prod only through promotion. A version reaches prod by `promote` (promote-version.ts:
 * the next environment only, digest and checks, approvals). Every other act that would
 * put a version into prod, or hide or remove one that is there, is a *prod change*, and
 * the Gate decides it twice: the act itself (`upload`, `create-artifact`, `delete`) and
 * `bypass-promotion` on the prod item it touches. No baseline policy permits
 * `bypass-promotion` and no role contains it, so by default every prod change is refused
 * (COFFER_PROMOTION_REQUIRED); a custom policy that permits it names who may, where.
 *
 * The classification lives here and nowhere else; the Gate applies it to every decision
 * (gate.enter and gate.decide), so a route cannot forget it:
 * - `upload` on an artifact or version in prod (REST push, S3 PutObject, CopyObject,
 *   multipart operations) writes a version into prod;
 * - `delete` on an artifact or version in prod (an S3 delete marker over a prod artifact)
 *   hides or removes prod;
 * - what the action's resource does not show is said by the use case as a
 *   {@link ProdEffect}: the artifact `create-artifact` is about to create (in prod or
 *   not), the prod version an S3 delete marker on a dev artifact would hide.
 */
export type ProdChangeKind = 'create-in-prod' | 'write-to-prod' | 'delete-in-prod' | 'hide-prod-version';

/** A prod change: what it is, and the prod item `bypass-promotion` is decided on. */
export interface ProdChange {
  kind: ProdChangeKind;
  target: Extract<ResourceRef, { kind: 'artifact' | 'version' }>;
}

/** What an act does that its action and resource do not show. */
export type ProdEffect =
  /** `create-artifact` is about to create this artifact. */
  | { creates: { project: Project; artifact: Artifact } }
  /** A delete marker would hide this version, which is in prod (see {@link prodVersionHiddenBy}). */
  | { hides: { project: Project; artifact: Artifact; version: ArtifactVersion } };

/** The action that must also be allowed for a prod change. */
export const BYPASS_PROMOTION: Action = 'bypass-promotion';

/** The prod change `action` on `resource` (with `effect`) would make, or null when it makes none. */
export function prodChangeOf(action: Action, resource: ResourceRef, effect?: ProdEffect): ProdChange | null {
  if (effect !== undefined && 'creates' in effect) {
    // INVARIANT: an artifact created in prod would take every version pushed to it straight into prod
    return effect.creates.artifact.environment === 'prod' ? { kind: 'create-in-prod', target: { kind: 'artifact', ...effect.creates } } : null;
  }
  if (effect !== undefined && 'hides' in effect) {
    return effect.hides.artifact.environment === 'prod' ? { kind: 'hide-prod-version', target: { kind: 'version', ...effect.hides } } : null;
  }
  if (resource.kind !== 'artifact' && resource.kind !== 'version') return null;
  // a version's artifact carries the environment the version reached (resources.ts, scope.ts)
  if (resource.artifact.environment !== 'prod') return null;
  if (action === 'upload') return { kind: 'write-to-prod', target: resource };
  if (action === 'delete') return { kind: 'delete-in-prod', target: resource };
  return null;
}

/**
 * The newest version numbered up to `through` that was promoted to prod, seen in prod,
 * or null: what a delete marker hiding versions 1..`through` of a non-prod artifact
 * would hide of prod. (Every version of a prod artifact is in prod; the Gate sees that
 * from the artifact itself.)
 */
export async function prodVersionHiddenBy(deps: ServiceDeps, project: Project, artifact: Artifact, through: number): Promise<{ project: Project; artifact: Artifact; version: ArtifactVersion } | null> {
  if (artifact.environment === 'prod' || deps.versionsPromotedTo === undefined) return null;
  let newest: ArtifactVersion | null = null;
  for (const id of await deps.versionsPromotedTo(artifact.id, 'prod')) {
    const version = await deps.store.getVersion(id);
    if (version !== null && version.number <= through && (newest === null || version.number > newest.number)) newest = version;
  }
  return newest === null ? null : { project, artifact: { ...artifact, environment: 'prod' }, version: newest };
}
