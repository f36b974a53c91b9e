import type { Artifact, ArtifactVersion, Grant, Project } from '../domain/types.js';
import type { ResourceRef } from '../policy/policy-engine.js';
import type { MetadataStore } from '../store/metadata-store.js';

/** A grant with the catalog items of its scope. */
export interface ScopedGrant {
  grant: Grant;
  project: Project;
  artifact: Artifact | null;
  version: ArtifactVersion | null;
  /** The resource the grant is on, for policy decisions. */
  ref: ResourceRef;
  /** `project/p`, `project/p/artifact/a`, `project/p/artifact/a@3`, as in the audit log. */
  name: string;
}

/**
 * Resolves grant scopes through the catalog, caching projects, artifacts and versions
 * for the life of one operation. A grant whose scope no longer exists resolves to null.
 */
export class ScopeResolver {
  readonly #projects = new Map<string, Project | null>();
  readonly #artifacts = new Map<string, Artifact | null>();

  constructor(private readonly store: Pick<MetadataStore, 'getProject' | 'getArtifact' | 'getVersion'>) {}

  async resolve(grant: Grant): Promise<ScopedGrant | null> {
    if (grant.scopeKind === 'project') {
      const project = await this.#project(grant.scopeId);
      return project && { grant, project, artifact: null, version: null, ref: { kind: 'project', project }, name: `project/${project.name}` };
    }
    const version = grant.scopeKind === 'version' ? await this.store.getVersion(grant.scopeId) : null;
    if (grant.scopeKind === 'version' && version === null) return null;
    const artifact = await this.#artifact(version?.artifactId ?? grant.scopeId);
    if (artifact === null) return null;
    const project = await this.#project(artifact.projectId);
    if (project === null) return null;
    const base = `project/${project.name}/artifact/${artifact.name}`;
    if (version === null) return { grant, project, artifact, version: null, ref: { kind: 'artifact', project, artifact }, name: base };
    return { grant, project, artifact, version, ref: { kind: 'version', project, artifact, version }, name: `${base}@${version.number}` };
  }

  async #project(id: string): Promise<Project | null> {
    if (!this.#projects.has(id)) this.#projects.set(id, await this.store.getProject(id));
    return this.#projects.get(id)!;
  }

  async #artifact(id: string): Promise<Artifact | null> {
    if (!this.#artifacts.has(id)) this.#artifacts.set(id, await this.store.getArtifact(id));
    return this.#artifacts.get(id)!;
  }
}
