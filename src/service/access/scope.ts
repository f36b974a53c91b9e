import { NotFoundError } from '../../domain/errors.js';
import type { Artifact, ArtifactVersion, Environment, Principal, Project, ScopeKind } from '../../domain/types.js';
import { higherEnvironment } from '../../access/environments.js';
import type { ResourceRef } from '../../policy/policy-engine.js';
import { findArtifact, findProject, findVersion, names, notFoundMessage } from '../resources.js';
import type { AccessContext } from './access-context.js';

/** A resolved scope: what policy sees, and how people and the audit log name it. */
export interface Scope {
  ref: Exclude<ResourceRef, { kind: 'system' }>;
  kind: ScopeKind;
  id: string;
  project: Project;
  /** The artifact of an artifact or version scope. */
  artifact: Artifact | null;
  version: ArtifactVersion | null;
  /** `ml`, `ml/models/resnet`, `ml/models/resnet@3`. */
  display: string;
  /** Audit resource name (`project/ml/artifact/models/resnet@3`). */
  auditName: string;
  notFound: string;
}

/** A scope as callers name it. */
export interface ScopeInput {
  project: string;
  artifact?: string | undefined;
  version?: number | undefined;
}

/** The environment a version is in: the highest it was promoted to, at least its artifact's. */
export async function versionEnvironment(ctx: Pick<AccessContext, 'store'>, version: ArtifactVersion, artifact: Artifact): Promise<Environment> {
  const promoted = await ctx.store.promotedEnvironment(version.id);
  return promoted === null ? artifact.environment : higherEnvironment(artifact.environment, promoted);
}

function build(project: Project, artifact: Artifact | null, version: ArtifactVersion | null): Scope {
  if (artifact === null) {
    return { ref: { kind: 'project', project }, kind: 'project', id: project.id, project, artifact, version, display: project.name, auditName: names.project(project.name), notFound: notFoundMessage.project(project.name) };
  }
  if (version === null) {
    return {
      ref: { kind: 'artifact', project, artifact },
      kind: 'artifact',
      id: artifact.id,
      project,
      artifact,
      version,
      display: `${project.name}/${artifact.name}`,
      auditName: names.artifact(project.name, artifact.name),
      notFound: notFoundMessage.artifact(project.name, artifact.name),
    };
  }
  return {
    ref: { kind: 'version', project, artifact, version },
    kind: 'version',
    id: version.id,
    project,
    artifact,
    version,
    display: `${project.name}/${artifact.name}@${version.number}`,
    auditName: names.version(project.name, artifact.name, version.number),
    notFound: notFoundMessage.version(project.name, artifact.name, version.number),
  };
}

/** Resolves a scope by name (versions in the environment they reached); null if any part is missing. */
export async function resolveScope(ctx: AccessContext, input: ScopeInput): Promise<Scope | null> {
  if (input.artifact === undefined) {
    const project = await findProject(ctx.deps, input.project);
    return project && build(project, null, null);
  }
  if (input.version === undefined) {
    const found = await findArtifact(ctx.deps, input.project, input.artifact);
    return found && build(found.project, found.artifact, null);
  }
  const found = await findVersion(ctx.deps, input.project, input.artifact, input.version);
  if (found === null) return null;
  // findVersion applies deps.versionEnvironment when the runtime wires it; do it here regardless
  const artifact = { ...found.artifact, environment: await versionEnvironment(ctx, found.version, found.artifact) };
  return build(found.project, artifact, found.version);
}

/** The "not found" error for a scope as named. */
export function scopeNotFound(input: ScopeInput): NotFoundError {
  if (input.artifact === undefined) return new NotFoundError(notFoundMessage.project(input.project));
  if (input.version === undefined) return new NotFoundError(notFoundMessage.artifact(input.project, input.artifact));
  return new NotFoundError(notFoundMessage.version(input.project, input.artifact, input.version));
}

/** The audit name of a scope as named (for refusals before it resolves). */
export function scopeAuditName(input: ScopeInput): string {
  if (input.artifact === undefined) return names.project(input.project);
  if (input.version === undefined) return names.artifact(input.project, input.artifact);
  return names.version(input.project, input.artifact, input.version);
}

/**
 * Resolves stored scope ids, with a per-call cache (listings resolve many). Null if
 * the scope no longer exists.
 */
export class ScopeResolver {
  readonly #cache = new Map<string, Promise<Scope | null>>();
  readonly #principals = new Map<string, Promise<Principal | null>>();

  constructor(private readonly ctx: AccessContext) {}

  scope(kind: ScopeKind, id: string): Promise<Scope | null> {
    const key = `${kind}:${id}`;
    let hit = this.#cache.get(key);
    if (hit === undefined) {
      hit = this.#resolve(kind, id);
      this.#cache.set(key, hit);
    }
    return hit;
  }

  principal(id: string): Promise<Principal | null> {
    let hit = this.#principals.get(id);
    if (hit === undefined) {
      hit = this.ctx.deps.store.getPrincipal(id);
      this.#principals.set(id, hit);
    }
    return hit;
  }

  /** A principal's name, or its id when it no longer exists. */
  async nameOf(id: string | null): Promise<string | null> {
    if (id === null) return null;
    return (await this.principal(id))?.name ?? id;
  }

  async #resolve(kind: ScopeKind, id: string): Promise<Scope | null> {
    const { store } = this.ctx.deps;
    if (kind === 'project') {
      const project = await store.getProject(id);
      return project && build(project, null, null);
    }
    const version = kind === 'version' ? await store.getVersion(id) : null;
    if (kind === 'version' && version === null) return null;
    const artifact = await store.getArtifact(version?.artifactId ?? id);
    if (artifact === null) return null;
    const project = await store.getProject(artifact.projectId);
    if (project === null) return null;
    if (version === null) return build(project, artifact, null);
    return build(project, { ...artifact, environment: await versionEnvironment(this.ctx, version, artifact) }, version);
  }
}
