import type { Artifact, ArtifactVersion } from '../domain/types.js';

/** Checksum algorithms of the S3 protocol, by their lowercase header suffix (`x-amz-checksum-crc32`). */
export type S3ChecksumName = 'crc32' | 'crc32c' | 'crc64nvme' | 'sha1' | 'sha256';

/** Base64 checksums of an object or part, by algorithm. */
export type S3Checksums = Partial<Record<S3ChecksumName, string>>;

/**
 * User-defined metadata of an object (the `x-amz-meta-*` headers of its write): names
 * lower-cased and without the `x-amz-meta-` prefix, values as received. Stored
 * unencrypted and returned to whoever may read the object's metadata: never a secret.
 */
export type S3UserMetadata = Record<string, string>;

/**
 * Content headers of an object kept from its write and returned on GET and HEAD:
 * `cache-control`, `content-disposition`, `content-encoding`, `content-language`,
 * `expires` (lower-case names, values as received). Never a secret.
 */
export type S3ContentHeaders = Record<string, string>;

/** An upload that completed: its id names the version it became, for a retried Complete. */
export interface S3CompletedUpload {
  uploadId: string;
  projectId: string;
  key: string;
  versionId: string;
  completedAt: number;
}

/**
 * Temporary S3 credentials (as AWS STS issues): an access key id, a secret and a
 * session token, bound to a principal and to the credential they were minted by (their
 * parent in the credential lineage, src/store/credential-store.ts).
 */
export interface S3Credential {
  /** Public identifier (`CKIA` + 16 base32 characters), the primary key. */
  accessKeyId: string;
  principalId: string;
  /** The credential (session, API token, S3 key) this one was minted by: revoking it revokes this one too. */
  tokenId: string;
  /**
   * The 32-byte secret, wrapped by the keyring like a data key (object id
   * `coffer:s3:<accessKeyId>`): SigV4 needs the secret itself, so it cannot be hashed.
   */
  wrappedSecret: Uint8Array;
  keyTerm: number;
  /** SHA-256 hex of the session token (the token itself is never stored). */
  sessionHash: string;
  description: string;
  createdAt: number;
  expiresAt: number;
  revokedAt: number | null;
}

/** A credential with the state of the API token it was issued from (null if that token is gone). */
export interface S3CredentialRecord {
  credential: S3Credential;
  parent: { revokedAt: number | null; expiresAt: number | null } | null;
}

/** What the S3 layer knows of an artifact version beyond the core catalog. */
export interface S3ObjectMeta {
  versionId: string;
  /** ETag without quotes: MD5 hex of the plaintext, or `md5(part md5s)-N` for multipart. */
  etag: string;
  checksums: S3Checksums;
  /** `FULL_OBJECT` (checksums of the whole plaintext) or `COMPOSITE` (checksums of part checksums, `-N`). */
  checksumType: 'FULL_OBJECT' | 'COMPOSITE';
  /** Plaintext size of each part of a multipart object, in order; null for a single PUT. */
  partSizes: number[] | null;
  /** User-defined metadata returned as `x-amz-meta-*` on GET and HEAD (`{}` when none). */
  userMetadata: S3UserMetadata;
  /** Content headers of the write (`{}` when none; absent on rows written before migration 016). */
  contentHeaders?: S3ContentHeaders;
}

/** The S3 view of an artifact hidden by DeleteObject: versions up to `hidesThrough` are not listed nor served. */
export interface S3DeleteMarker {
  artifactId: string;
  hidesThrough: number;
  createdBy: string;
  createdAt: number;
}

/** A version hidden from the S3 view by DeleteObject with its version id (never destroyed). */
export interface S3PurgedVersion {
  versionId: string;
  artifactId: string;
  number: number;
  purgedBy: string;
  purgedAt: number;
}

/** An object as ListObjects sees it: the artifact, its latest version, the S3 facts when known. */
export interface S3ListedObject {
  artifact: Artifact;
  version: ArtifactVersion;
  meta: S3ObjectMeta | null;
}

/** An in-progress multipart upload. */
export interface S3Upload {
  uploadId: string;
  projectId: string;
  /** The object key (artifact name). */
  key: string;
  principalId: string;
  contentType: string;
  /** Checksum algorithm declared at creation (parts must carry it), or null. */
  checksumAlgorithm: S3ChecksumName | null;
  checksumType: 'FULL_OBJECT' | 'COMPOSITE' | null;
  /** User-defined metadata of CreateMultipartUpload, given to the version at Complete (`{}` when none). */
  userMetadata: S3UserMetadata;
  /** Content headers of CreateMultipartUpload, given to the version at Complete. */
  contentHeaders?: S3ContentHeaders;
  createdAt: number;
}

/** One uploaded part: a separately sealed object in the blob store. */
export interface S3UploadPart {
  uploadId: string;
  partNumber: number;
  /** The vault object id the part was sealed under. */
  objectId: string;
  blobKey: string;
  wrappedKey: Uint8Array;
  keyTerm: number;
  size: number;
  /** MD5 hex of the part's plaintext (its ETag). */
  md5: string;
  checksums: S3Checksums;
  createdAt: number;
}

/** Key-ordered listing bounds (S3 keys, UTF-8 byte order): keys with `prefix`, strictly after `after`, at or after `from`. */
export interface S3KeyRange {
  prefix: string;
  after?: string | null;
  from?: string | null;
  limit: number;
}

/**
 * S3Store holds what the S3 endpoint adds to the catalog: temporary credentials, the
 * ETag and checksums of versions, delete markers, multipart uploads and their parts.
 *
 * TRUST: like MetadataStore, trusted for the integrity of metadata, but it never
 * holds a usable secret: credential secrets and part data keys are stored wrapped by
 * the keyring, session tokens as SHA-256 hashes. Part bytes live in the BlobStore as
 * ciphertext sealed by the vault.
 *
 * Every method rejects with a catalog error: AlreadyExistsError on a uniqueness
 * violation, StorageError otherwise.
 */
export interface S3Store {
  // ---- credentials ----
  createCredential(c: S3Credential): Promise<void>;
  getCredential(accessKeyId: string): Promise<S3CredentialRecord | null>;
  /** Credentials of a principal, newest first (expired ones included until `purge`). */
  listCredentials(principalId: string): Promise<S3Credential[]>;
  /** Marks a credential revoked (keeps its first revocation time); false if there is none. */
  revokeCredential(accessKeyId: string, at: number): Promise<boolean>;
  /** Deletes credentials that expired before `before`; returns how many. */
  purgeCredentials(before: number): Promise<number>;

  // ---- object facts ----
  /** Stores the S3 facts of a version (before the version becomes visible). Replaces any. */
  putObjectMeta(m: S3ObjectMeta): Promise<void>;
  getObjectMeta(versionId: string): Promise<S3ObjectMeta | null>;
  deleteObjectMeta(versionId: string): Promise<void>;

  // ---- delete markers ----
  /** Hides the artifact's versions up to `hidesThrough` (replaces an older marker). */
  putDeleteMarker(m: S3DeleteMarker): Promise<void>;
  getDeleteMarker(artifactId: string): Promise<S3DeleteMarker | null>;
  removeDeleteMarker(artifactId: string): Promise<void>;
  /**
   * Hides one version from the S3 view for good (DeleteObject with its version id): it stays
   * in the catalog, readable through REST, but S3 reads, listings and ListObjectVersions skip
   * it, and the key's current version is its newest version not hidden. Idempotent.
   */
  purgeVersion(p: S3PurgedVersion): Promise<void>;
  /** Numbers of the versions of an artifact hidden by {@link purgeVersion}. */
  purgedVersionNumbers(artifactId: string): Promise<Set<number>>;
  /** The newest version number of an artifact not hidden by {@link purgeVersion}, 0 if none. */
  latestUnpurgedNumber(artifactId: string): Promise<number>;

  // ---- listing ----
  /**
   * Artifacts of a project in `range`, by name (bytewise), each with its latest version,
   * skipping artifacts without versions and those a delete marker hides. The latest version
   * is the newest one not purged (purgeVersion).
   */
  listLatest(projectId: string, range: S3KeyRange): Promise<S3ListedObject[]>;
  /** Artifacts of a project in `range`, by name, with their delete marker if any. */
  listArtifacts(projectId: string, range: S3KeyRange): Promise<Array<{ artifact: Artifact; marker: S3DeleteMarker | null }>>;
  /**
   * Deletes a project with no artifact and no multipart upload (and the grants on it);
   * false if it is not empty.
   */
  deleteProjectIfEmpty(projectId: string): Promise<boolean>;

  // ---- multipart uploads ----
  createUpload(u: S3Upload): Promise<void>;
  getUpload(uploadId: string): Promise<S3Upload | null>;
  /** Uploads of a project by key then upload id, after (`keyMarker`, `uploadIdMarker`). */
  listUploads(projectId: string, options: { prefix: string; keyMarker?: string | null; uploadIdMarker?: string | null; limit: number }): Promise<S3Upload[]>;
  /** Stores a part, replacing one with the same number; returns the replaced part (its blob is the caller's to remove). */
  putPart(p: S3UploadPart): Promise<S3UploadPart | null>;
  /** Parts by number, after `afterPart`, at most `limit`. */
  listParts(uploadId: string, options?: { afterPart?: number; limit?: number }): Promise<S3UploadPart[]>;
  /**
   * Parts (of every upload, by upload id then part number, strictly after `after` in that
   * order when given, at most `limit`, capped at 1000) whose data key is wrapped under a term
   * other than `term` (key rotation). Page on with `after` = the last part listed.
   */
  listPartsNotUnderTerm(term: number, limit: number, after?: Pick<S3UploadPart, 'uploadId' | 'partNumber'> | null): Promise<S3UploadPart[]>;
  /**
   * Replaces the wrapped data key of a part, only if the part is still the one sealed under
   * `part.objectId` (not replaced since) and its key is still under `expectedTerm`; false otherwise.
   */
  rewrapPartKey(part: Pick<S3UploadPart, 'uploadId' | 'partNumber' | 'objectId'>, expectedTerm: number, wrappedKey: Uint8Array, term: number): Promise<boolean>;
  /** True if a part of an open upload has its bytes in `blobKey` (the orphaned-blob sweep must keep it). */
  hasPartBlobKey(blobKey: string): Promise<boolean>;
  /** Removes an upload and its part rows; returns the parts (their blobs are the caller's to remove). */
  deleteUpload(uploadId: string): Promise<S3UploadPart[]>;
  /**
   * Claims the completion of an upload for `claimId` until `now + leaseMs` (a lease, so
   * a node that dies mid-way blocks the upload no longer than that). True if the caller
   * holds the claim now: the upload exists and has no unexpired claim of another id.
   * Claiming again with the same id renews the lease. One conditional update, so of
   * concurrent claimants (any process, any node on the database) exactly one wins.
   */
  claimUploadCompletion(uploadId: string, claimId: string, now: number, leaseMs: number): Promise<boolean>;
  /** Drops the claim `claimId` holds (a failed completion: the client may retry); nothing if it holds none. */
  releaseUploadCompletion(uploadId: string, claimId: string): Promise<void>;
  /** Records that `c.uploadId` completed as `c.versionId` (before the upload row goes). */
  putCompletedUpload(c: S3CompletedUpload): Promise<void>;
  getCompletedUpload(uploadId: string): Promise<S3CompletedUpload | null>;
  /** Forgets completions older than `before` (a retry after that gets NoSuchUpload); returns how many. */
  purgeCompletedUploads(before: number): Promise<number>;
  /** Uploads created before `before` (abandoned), oldest first, at most `limit`. */
  listStaleUploads(before: number, limit: number): Promise<S3Upload[]>;
}
