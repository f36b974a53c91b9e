import type { ApiToken, Artifact, ArtifactVersion, Grant, Principal, Project, VersionScan } from '../domain/types.js';

/** A record of the audit log as stored. `hash` chains it to the record before it. */
export interface StoredAuditRecord {
  seq: number;
  /** Canonical JSON of the record body (everything but seq, prevHash and hash). */
  body: string;
  prevHash: string;
  hash: string;
}

/** A signed checkpoint of the audit chain (see audit/). */
export interface StoredAuditCheckpoint {
  seq: number;
  hash: string;
  signature: string;
  createdAt: number;
}

export interface Page<T> {
  items: T[];
  /** Opaque cursor for the next page, or null at the end. */
  next: string | null;
}

export interface ListOptions {
  /** At most this many items (adapters cap it at 1000). */
  limit?: number;
  /** A `next` cursor from a previous page. */
  cursor?: string | null;
}

/**
 * MetadataStore holds everything but blob bytes: catalog, principals, tokens,
 * grants, settings (the sealed keyring) and the audit log.
 *
 * TRUST: trusted for integrity of metadata (a database the operator runs), but never
 * sees a plaintext data key (only wrapped ones) nor a token (only hashes). The audit
 * log's integrity does not rely on it: the hash chain and signed checkpoints detect
 * any change to stored audit records.
 *
 * Every method rejects with a catalog error: AlreadyExistsError for a uniqueness
 * violation, NotFoundError where a row must exist, StorageError otherwise.
 */
export interface MetadataStore {
  /** Applies pending migrations. Idempotent. */
  migrate(): Promise<void>;
  /** Cheap liveness check of the database connection. */
  ping(): Promise<void>;
  /**
   * A number that differs from every earlier reading once a write that may change a
   * credential, a principal, a membership or a grant is visible (see StoreChanges in
   * sql/change-counter.ts); null or absent: the store cannot tell, nothing may be cached.
   */
  changeVersion?(): number | null;
  close(): Promise<void>;

  // ---- settings (small opaque values: sealed keyring, setup token hash, keys) ----
  getSetting(key: string): Promise<Uint8Array | null>;
  /**
   * Stores `value` under `key`. With `expected`, only if the current value equals it
   * (null = only if absent); returns false when that precondition fails.
   */
  putSetting(key: string, value: Uint8Array, expected?: Uint8Array | null): Promise<boolean>;
  deleteSetting(key: string): Promise<void>;

  // ---- principals ----
  createPrincipal(p: Principal): Promise<void>;
  getPrincipal(id: string): Promise<Principal | null>;
  getPrincipalByName(name: string): Promise<Principal | null>;
  listPrincipals(options?: ListOptions & { kind?: Principal['kind'] }): Promise<Page<Principal>>;
  /** NotFoundError if there is no such principal. */
  setPrincipalDisabled(id: string, disabled: boolean): Promise<void>;
  countPrincipals(): Promise<number>;
  /** Adds `memberId` to group `groupId` (idempotent); NotFoundError if either principal does not exist. */
  addMember(groupId: string, memberId: string): Promise<void>;
  removeMember(groupId: string, memberId: string): Promise<void>;
  /** Ids of the groups `memberId` belongs to directly. */
  listGroupsOf(memberId: string): Promise<string[]>;
  listMembers(groupId: string): Promise<string[]>;

  // ---- tokens ----
  createToken(t: ApiToken): Promise<void>;
  getTokenByHash(hash: string): Promise<ApiToken | null>;
  listTokens(principalId: string): Promise<ApiToken[]>;
  /** NotFoundError if there is no such token; a token already revoked keeps its first revocation time. */
  revokeToken(id: string, at: number): Promise<void>;
  /** Records a use; a token that no longer exists is ignored. Advisory: adapters may coalesce writes (at most one a minute per token). */
  touchToken(id: string, at: number): Promise<void>;

  // ---- projects ----
  createProject(p: Project): Promise<void>;
  getProject(id: string): Promise<Project | null>;
  getProjectByName(name: string): Promise<Project | null>;
  listProjects(options?: ListOptions): Promise<Page<Project>>;

  // ---- artifacts ----
  createArtifact(a: Artifact): Promise<void>;
  getArtifact(id: string): Promise<Artifact | null>;
  getArtifactByName(projectId: string, name: string): Promise<Artifact | null>;
  listArtifacts(projectId: string, options?: ListOptions): Promise<Page<Artifact>>;

  // ---- versions (immutable: no update except rewrapping the data key) ----
  /**
   * Inserts a version. The version number must be the next one for its artifact
   * (ConflictError otherwise); a concurrent insert of the same number rejects with
   * ConflictError. NotFoundError if the artifact does not exist.
   */
  createVersion(v: ArtifactVersion): Promise<void>;
  getVersion(id: string): Promise<ArtifactVersion | null>;
  getVersionByNumber(artifactId: string, number: number): Promise<ArtifactVersion | null>;
  latestVersionNumber(artifactId: string): Promise<number>;
  listVersions(artifactId: string, options?: ListOptions): Promise<Page<ArtifactVersion>>;
  /**
   * Versions (all artifacts, by id, with an id strictly greater than `after` when given, at
   * most `limit`, capped at 1000) whose data key is wrapped under a term other than `term`.
   * Crypto-shredded versions are not listed. Page on with `after` = the last id listed.
   */
  listVersionsNotUnderTerm(term: number, limit: number, after?: string | null): Promise<ArtifactVersion[]>;
  /** Replaces the wrapped data key of a version, only if it is still `expectedTerm` and not shredded. */
  rewrapVersionKey(id: string, expectedTerm: number, wrappedKey: Uint8Array, term: number): Promise<boolean>;
  /** True if some version references `blobKey` (garbage collection of orphaned blobs). */
  hasBlobKey(blobKey: string): Promise<boolean>;

  // ---- gate verdicts (the content stays immutable; a verdict is written once) ----
  /**
   * Claims up to `limit` versions that wait for their gate scan (oldest first) for
   * `leaseMs`: a version claimed by another node whose lease has not lapsed is skipped.
   */
  claimVersionsToScan(now: number, leaseMs: number, limit: number): Promise<ArtifactVersion[]>;
  /** Claims one version for its scan, as {@link claimVersionsToScan}; null if it has a verdict or another node holds it. */
  claimVersionToScan(id: string, now: number, leaseMs: number): Promise<ArtifactVersion | null>;
  /**
   * Records a version's verdict and its full report (JSON: counts and locations, never
   * values), in one transaction, only if it has none yet. False if it already had one
   * or the version is gone.
   */
  recordVersionScan(id: string, scan: VersionScan, report: string): Promise<boolean>;
  /** The stored report of a version's scan (JSON), or null while it waits. */
  getVersionScanReport(id: string): Promise<string | null>;

  // ---- grants ----
  createGrant(g: Grant): Promise<void>;
  getGrant(id: string): Promise<Grant | null>;
  /** NotFoundError if there is no such grant. */
  deleteGrant(id: string): Promise<void>;
  /** Grants held by any of `principalIds` (a user and its groups). */
  listGrantsForPrincipals(principalIds: string[]): Promise<Grant[]>;
  /** Grants on a scope. */
  listGrantsOnScope(scopeKind: Grant['scopeKind'], scopeId: string): Promise<Grant[]>;
  listAllGrants(): Promise<Grant[]>;

  // ---- audit log ----
  /**
   * Appends records built by `build` from the current tail, atomically and durably
   * (committed and synced before the promise resolves). `build` receives the last
   * stored record (or null) and returns the records to append, which must continue
   * the sequence. Appends are serialized across processes sharing the database.
   * Records that do not continue the chain (seq + 1, prevHash = hash before) reject
   * with ConflictError and nothing is written. `build` must be synchronous and must not
   * call the store (it runs while the store holds its write lock).
   */
  appendAudit(build: (tail: StoredAuditRecord | null) => StoredAuditRecord[]): Promise<void>;
  /** Records with seq >= fromSeq in order, in pages (streamed, never all in memory). */
  iterateAudit(fromSeq?: number): AsyncIterable<StoredAuditRecord>;
  lastAudit(): Promise<StoredAuditRecord | null>;
  putAuditCheckpoint(c: StoredAuditCheckpoint): Promise<void>;
  listAuditCheckpoints(): Promise<StoredAuditCheckpoint[]>;
}
