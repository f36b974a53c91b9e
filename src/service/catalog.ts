import { AlreadyExistsError, NotFoundError } from '../domain/errors.js';
import { ID_PREFIX, assertArtifactName, assertSimpleName, newId } from '../domain/ids.js';
import type { Artifact, ArtifactKind, Environment, Grant, Project, Tier } from '../domain/types.js';
import type { Caller } from './caller.js';
import type { ServiceDeps } from './deps.js';
import type { Gate } from './gate.js';
import { findArtifact, findProject, names, notFoundMessage } from './resources.js';
import { artifactView, projectView, versionView } from './views.js';
import { visibleArtifacts, visibleProjects, visibleVersions as readableVersions } from './policy/visible-catalog.js';
import type { ArtifactView, ProjectView, VersionView } from './views.js';

const SYSTEM = { kind: 'system' } as const;

/** Creates a project; its creator becomes its owner through a grant. */
export async function createProject(deps: ServiceDeps, gate: Gate, caller: Caller, input: { name: string; description?: string }): Promise<ProjectView> {
  assertSimpleName('project', input.name);
  const permit = await gate.enter(caller, 'create-project', SYSTEM, names.project(input.name), null);
  const now = deps.clock();
  const project: Project = { id: newId(ID_PREFIX.project), name: input.name, description: input.description ?? '', createdBy: caller.subject.principal.id, createdAt: now };
  try {
    await deps.store.createProject(project);
    const owner: Grant = { id: newId(ID_PREFIX.grant), principalId: caller.subject.principal.id, role: 'owner', scopeKind: 'project', scopeId: project.id, createdBy: caller.subject.principal.id, createdAt: now, expiresAt: null };
    await deps.store.createGrant(owner);
  } catch (err) {
    await permit.finish('failure', { reason: err instanceof AlreadyExistsError ? err.code : 'error' });
    if (err instanceof AlreadyExistsError) throw new AlreadyExistsError(`project \`${input.name}\` already exists`);
    throw err;
  }
  await permit.finish('success', { details: { projectId: project.id } });
  return projectView(project);
}

/** Projects the caller may see (read-metadata), one page at a time. */
export async function listProjects(deps: ServiceDeps, gate: Gate, caller: Caller, page: { limit?: number; cursor?: string | null }): Promise<{ items: ProjectView[]; next: string | null }> {
  const permit = await gate.enter(caller, 'read-metadata', SYSTEM, 'projects', null);
  // candidate rows from the listing plan (grants indexed by principal), each confirmed
  const result = await visibleProjects(deps, gate, caller, page);
  const visible = result.items;
  await permit.finish('success', { details: { returned: visible.length } });
  return { items: visible.map(projectView), next: result.next };
}

export async function showProject(deps: ServiceDeps, gate: Gate, caller: Caller, name: string): Promise<ProjectView> {
  const project = await findProject(deps, name);
  if (project === null) return gate.refuse(caller, caller.meta, 'read-metadata', names.project(name), new NotFoundError(notFoundMessage.project(name)));
  const permit = await gate.enter(caller, 'read-metadata', { kind: 'project', project }, names.project(name), { notFound: notFoundMessage.project(name) });
  await permit.finish('success');
  return projectView(project);
}

export interface CreateArtifactInput {
  project: string;
  name: string;
  kind: ArtifactKind;
  tier: Tier;
  environment: Environment;
  labels?: Record<string, string>;
}

/**
 * Creates an artifact in a project (`create-artifact` on the project). The creator gets
 * an explicit grant on the new artifact: owner if it owns the project, else writer; so
 * a restricted artifact is reachable only through artifact grants from the start.
 */
export async function createArtifact(deps: ServiceDeps, gate: Gate, caller: Caller, input: CreateArtifactInput): Promise<ArtifactView> {
  assertArtifactName(input.name);
  const project = await findProject(deps, input.project);
  const resourceName = names.artifact(input.project, input.name);
  if (project === null) return gate.refuse(caller, caller.meta, 'create-artifact', resourceName, new NotFoundError(notFoundMessage.project(input.project)));
  const projectRef = { kind: 'project', project } as const;
  const now = deps.clock();
  const artifact: Artifact = {
    id: newId(ID_PREFIX.artifact),
    projectId: project.id,
    name: input.name,
    kind: input.kind,
    tier: input.tier,
    environment: input.environment,
    ownerId: caller.subject.principal.id,
    labels: input.labels ?? {},
    createdAt: now,
  };
  // creating it in prod is a prod change (prod-guard.ts): prod is reached through promotions
  const permit = await gate.enter(caller, 'create-artifact', projectRef, resourceName, { notFound: notFoundMessage.project(input.project) }, { tier: input.tier, environment: input.environment }, { creates: { project, artifact } });
  const role = gate.decide(caller, 'grant', projectRef).allowed ? 'owner' : 'writer';
  const creatorGrant: Grant = { id: newId(ID_PREFIX.grant), principalId: caller.subject.principal.id, role, scopeKind: 'artifact', scopeId: artifact.id, createdBy: caller.subject.principal.id, createdAt: now, expiresAt: null };
  try {
    await deps.store.createArtifact(artifact);
    await deps.store.createGrant(creatorGrant);
  } catch (err) {
    await permit.finish('failure', { reason: err instanceof AlreadyExistsError ? err.code : 'error' });
    if (err instanceof AlreadyExistsError) throw new AlreadyExistsError(`artifact \`${input.project}/${input.name}\` already exists`);
    throw err;
  }
  await permit.finish('success', { details: { artifactId: artifact.id, creatorGrant: creatorGrant.id, creatorRole: role } });
  return artifactView(artifact, project.name);
}

/** Artifacts of a project the caller may see. An invisible project with no visible artifact is "not found". */
export async function listArtifacts(deps: ServiceDeps, gate: Gate, caller: Caller, projectName: string, page: { limit?: number; cursor?: string | null }): Promise<{ items: ArtifactView[]; next: string | null }> {
  const project = await findProject(deps, projectName);
  const resourceName = names.project(projectName);
  if (project === null) return gate.refuse(caller, caller.meta, 'read-metadata', resourceName, new NotFoundError(notFoundMessage.project(projectName)));
  const result = await visibleArtifacts(deps, gate, caller, project, page);
  const visible = result.items;
  const projectVisible = gate.decide(caller, 'read-metadata', { kind: 'project', project }).allowed;
  if (!projectVisible && visible.length === 0) {
    return gate.refuse(caller, caller.meta, 'read-metadata', resourceName, new NotFoundError(notFoundMessage.project(projectName)));
  }
  const permit = await gate.enter(caller, 'read-metadata', projectVisible ? { kind: 'project', project } : { kind: 'artifact', project, artifact: result.items.find((a) => visible.includes(a))! }, resourceName, null);
  await permit.finish('success', { details: { returned: visible.length } });
  return { items: visible.map((a) => artifactView(a, project.name)), next: result.next };
}

/** An artifact and the versions of it the caller may see. */
export async function showArtifact(deps: ServiceDeps, gate: Gate, caller: Caller, projectName: string, artifactName: string): Promise<ArtifactView & { versions: VersionView[] }> {
  const found = await findArtifact(deps, projectName, artifactName);
  const resourceName = names.artifact(projectName, artifactName);
  const notFound = notFoundMessage.artifact(projectName, artifactName);
  if (found === null) return gate.refuse(caller, caller.meta, 'read-metadata', resourceName, new NotFoundError(notFound));
  const { project, artifact } = found;
  const visibleVersions = await readableVersions(deps, gate, caller, project, artifact);
  const artifactVisible = gate.decide(caller, 'read-metadata', { kind: 'artifact', project, artifact }).allowed;
  if (!artifactVisible && visibleVersions.length === 0) {
    return gate.refuse(caller, caller.meta, 'read-metadata', resourceName, new NotFoundError(notFound));
  }
  const permit = await gate.enter(
    caller,
    'read-metadata',
    artifactVisible ? { kind: 'artifact', project, artifact } : { kind: 'version', project, artifact, version: visibleVersions[0]! },
    resourceName,
    { notFound },
  );
  await permit.finish('success');
  return { ...artifactView(artifact, project.name), versions: visibleVersions.map((v) => versionView(v, project.name, artifact.name)) };
}
