import { NotFoundError } from '../domain/errors.js';
import type { Artifact, ArtifactVersion, Project } from '../domain/types.js';
import type { ServiceDeps } from './deps.js';

/** Audit and error names of resources. */
export const names = {
  project: (p: string) => `project/${p}`,
  artifact: (p: string, a: string) => `project/${p}/artifact/${a}`,
  version: (p: string, a: string, n: number | string) => `project/${p}/artifact/${a}@${n}`,
};

/** One message for "missing" and "hidden", so callers cannot probe existence. */
export const notFoundMessage = {
  project: (p: string) => `project \`${p}\` not found`,
  artifact: (p: string, a: string) => `artifact \`${p}/${a}\` not found`,
  version: (p: string, a: string, n: number | string) => `artifact version \`${p}/${a}@${n}\` not found`,
};

/** Looks up a project by name; null if absent (the caller decides how to refuse). */
export async function findProject(deps: ServiceDeps, name: string): Promise<Project | null> {
  return deps.store.getProjectByName(name);
}

export async function findArtifact(deps: ServiceDeps, projectName: string, artifactName: string): Promise<{ project: Project; artifact: Artifact } | null> {
  const project = await deps.store.getProjectByName(projectName);
  if (project === null) return null;
  const artifact = await deps.store.getArtifactByName(project.id, artifactName);
  return artifact === null ? null : { project, artifact };
}

/** `latest` or a positive integer. */
export function parseVersionSelector(selector: string | number): number | 'latest' {
  if (selector === 'latest') return 'latest';
  const n = typeof selector === 'number' ? selector : /^[1-9]\d{0,9}$/.test(selector) ? Number(selector) : NaN;
  if (!Number.isSafeInteger(n) || n < 1) throw new NotFoundError(`artifact version \`${String(selector).slice(0, 20)}\` not found`);
  return n;
}

export async function findVersion(
  deps: ServiceDeps,
  projectName: string,
  artifactName: string,
  selector: string | number,
): Promise<{ project: Project; artifact: Artifact; version: ArtifactVersion } | null> {
  const found = await findArtifact(deps, projectName, artifactName);
  if (found === null) return null;
  const sel = parseVersionSelector(selector);
  const number = sel === 'latest' ? await deps.store.latestVersionNumber(found.artifact.id) : sel;
  if (number < 1) return null;
  const version = await deps.store.getVersionByNumber(found.artifact.id, number);
  if (version === null) return null;
  // a promoted version is seen (by policy too) in the environment it reached
  const environment = deps.versionEnvironment ? await deps.versionEnvironment(version, found.artifact) : found.artifact.environment;
  return { ...found, artifact: { ...found.artifact, environment }, version };
}
