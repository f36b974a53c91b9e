import type { Artifact, ArtifactVersion, Project } from '../domain/types.js';
import type { ListOptions, Page } from './metadata-store.js';

/** One source file of a custom policy set, as stored. */
export interface StoredPolicySource {
  name: string;
  text: string;
}

/** A stored version of the custom policy set (version 0, the built-in set alone, is never stored). */
export interface PolicyVersionRecord {
  /** 1, 2, 3... in order of creation. */
  version: number;
  sources: StoredPolicySource[];
  /** SHA-256 (hex) of the sources (policySetDigest). */
  digest: string;
  /** Number of policies in the sources. */
  policyCount: number;
  /** Why it was applied (free text from the administrator). */
  message: string;
  createdBy: string;
  createdAt: number;
}

/** A version without its sources (for listings). */
export type PolicyVersionSummary = Omit<PolicyVersionRecord, 'sources'>;

/** One activation: from `activatedAt` on, `version` is the active policy set. */
export interface PolicyActivationRecord {
  /** 1, 2, 3...: the last activation is the one in force. */
  seq: number;
  /** 0 = the built-in set alone. */
  version: number;
  kind: 'apply' | 'rollback';
  activatedBy: string;
  activatedAt: number;
}

/**
 * Versioned custom policy sets and their activations (issue 3, docs/policy.md).
 *
 * TRUST: the database is trusted for integrity here as for grants: whoever can write
 * these tables can change authorization. Every change goes through the policy use
 * cases (authorized `manage-policy`, audited before it happens); nodes read the last
 * activation to know which set is in force.
 *
 * Methods reject with catalog errors: ConflictError when a concurrent apply or
 * rollback took the same number (retry), NotFoundError for an unknown version,
 * StorageError otherwise.
 */
export interface PolicyStore {
  /**
   * Stores a new version (the next number) and activates it, atomically: either both
   * happen or neither. Returns the version and activation written.
   */
  createAndActivate(input: Omit<PolicyVersionRecord, 'version'>): Promise<{ version: PolicyVersionRecord; activation: PolicyActivationRecord }>;
  /** Activates an existing version (0 = the built-in set alone). NotFoundError if it does not exist. */
  activate(version: number, kind: PolicyActivationRecord['kind'], by: string, at: number): Promise<PolicyActivationRecord>;
  /** The activation in force, or null if none was ever made (the built-in set is in force). Cheap: nodes poll it. */
  currentActivation(): Promise<PolicyActivationRecord | null>;
  /** The most recent activations, newest first. */
  listActivations(limit: number): Promise<PolicyActivationRecord[]>;
  getVersion(version: number): Promise<PolicyVersionRecord | null>;
  /** Every version, oldest first, without sources. */
  listVersions(): Promise<PolicyVersionSummary[]>;
  /**
   * The sequence number of the first audit record written at or after `time` (epoch
   * ms), or null if there is none; found by bisection on the audit table (record times
   * follow the sequence). For impact analysis over the last N days.
   */
  firstAuditSeqSince(time: number): Promise<number | null>;
}

/**
 * Catalog rows by id, for listings by permission: the ids come from a listing plan
 * (grants indexed by principal, scopes named by policies), so a listing reads only
 * candidate rows instead of every row. Pages are ordered by name and their cursors are
 * those of MetadataStore.listProjects / listArtifacts (interchangeable).
 * TRUST: as MetadataStore; rows returned are still confirmed by a decision each.
 */
export interface CatalogCandidates {
  /** Projects among `ids`, by name. */
  projectsByIds(ids: readonly string[], options?: ListOptions): Promise<Page<Project>>;
  /** Artifacts of project `projectId` among `ids` (ids of other projects are ignored), by name. */
  artifactsByIds(projectId: string, ids: readonly string[], options?: ListOptions): Promise<Page<Artifact>>;
  /** Versions of artifact `artifactId` among `ids`, by number. */
  versionsByIds(artifactId: string, ids: readonly string[]): Promise<ArtifactVersion[]>;
}
