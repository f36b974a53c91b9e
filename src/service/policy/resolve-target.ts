import { NotFoundError } from '../../domain/errors.js';
import type { ResourceRef } from '../../policy/index.js';
import type { ServiceDeps } from '../deps.js';
import { findArtifact, findProject, findVersion, names, notFoundMessage } from '../resources.js';

/** A resource as people name it: the system, or a project, artifact or version by name. */
export type TargetInput = 'system' | { project: string; artifact?: string; version?: number };

/** The resource named by `target` and its audit name. NotFoundError if it does not exist. */
export async function resolveTarget(deps: ServiceDeps, target: TargetInput): Promise<{ ref: ResourceRef; name: string }> {
  if (target === 'system') return { ref: { kind: 'system' }, name: 'coffer' };
  if (target.artifact === undefined) {
    const project = await findProject(deps, target.project);
    if (project === null) throw new NotFoundError(notFoundMessage.project(target.project));
    return { ref: { kind: 'project', project }, name: names.project(project.name) };
  }
  if (target.version === undefined) {
    const found = await findArtifact(deps, target.project, target.artifact);
    if (found === null) throw new NotFoundError(notFoundMessage.artifact(target.project, target.artifact));
    return { ref: { kind: 'artifact', ...found }, name: names.artifact(target.project, target.artifact) };
  }
  const found = await findVersion(deps, target.project, target.artifact, target.version);
  if (found === null) throw new NotFoundError(notFoundMessage.version(target.project, target.artifact, target.version));
  return { ref: { kind: 'version', ...found }, name: names.version(target.project, target.artifact, target.version) };
}

/** How people name the scope `id` of kind `kind` on the chain of `ref` (its id if not on it). */
export function scopeName(ref: ResourceRef, kind: 'project' | 'artifact' | 'version', id: string): string {
  if (ref.kind === 'system') return id;
  if (kind === 'project' && ref.project.id === id) return names.project(ref.project.name);
  if (ref.kind === 'project') return id;
  if (kind === 'artifact' && ref.artifact.id === id) return names.artifact(ref.project.name, ref.artifact.name);
  if (ref.kind === 'version' && kind === 'version' && ref.version.id === id) return names.version(ref.project.name, ref.artifact.name, ref.version.number);
  return id;
}
