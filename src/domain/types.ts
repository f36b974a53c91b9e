/**
 * Coffer's entity types. Plain data, no behaviour, no dependencies.
 * Times are epoch milliseconds (numbers) everywhere inside Coffer.
 */

export const TIERS = ['public', 'internal', 'confidential', 'restricted'] as const;
export type Tier = (typeof TIERS)[number];

export const ENVIRONMENTS = ['dev', 'staging', 'prod'] as const;
export type Environment = (typeof ENVIRONMENTS)[number];

export const ARTIFACT_KINDS = ['model', 'dataset', 'feature-set', 'evaluation', 'other'] as const;
export type ArtifactKind = (typeof ARTIFACT_KINDS)[number];

export const PRINCIPAL_KINDS = ['user', 'service-account', 'group'] as const;
export type PrincipalKind = (typeof PRINCIPAL_KINDS)[number];

/** Roles a grant can bind. Each role is a Cedar action group (see policy/). */
export const ROLES = ['reader', 'writer', 'owner'] as const;
export type Role = (typeof ROLES)[number];

export const SCOPE_KINDS = ['project', 'artifact', 'version'] as const;
export type ScopeKind = (typeof SCOPE_KINDS)[number];

/** A user, service account or group. Groups cannot authenticate. */
export interface Principal {
  id: string;
  kind: PrincipalKind;
  /** Unique, human-readable handle (`alice`, `ci-trainer`, `data-science`). */
  name: string;
  displayName: string;
  /** Owner of a service account (a user id); null otherwise. */
  ownerId: string | null;
  disabled: boolean;
  createdAt: number;
}

export interface Project {
  id: string;
  name: string;
  description: string;
  createdBy: string;
  createdAt: number;
}

export interface Artifact {
  id: string;
  projectId: string;
  /** Unique within its project; may contain `/` (`models/resnet`). */
  name: string;
  kind: ArtifactKind;
  tier: Tier;
  environment: Environment;
  ownerId: string;
  labels: Record<string, string>;
  createdAt: number;
}

/** Immutable once written. `number` starts at 1 per artifact. */
export interface ArtifactVersion {
  id: string;
  artifactId: string;
  number: number;
  /** Lowercase hex SHA-256 of the plaintext. */
  sha256: string;
  size: number;
  mediaType: string;
  createdBy: string;
  createdAt: number;
  /** Where the ciphertext lives in the BlobStore. */
  blobKey: string;
  /** The data key of this version, wrapped by the KEK of `keyTerm`. Null once crypto-shredded. */
  wrappedKey: Uint8Array | null;
  keyTerm: number;
  /**
   * The artifact gate's verdict on the content (src/service/scan). Absent or null while
   * the version waits for its scan (`pending`, which policy treats as failing).
   */
  scan?: VersionScan | null;
}

/** Outcome of a version's gate scan: `flagged` when any check found something. */
export type ScanState = 'pending' | 'clean' | 'flagged' | 'unscannable';

/** What is kept on a version of its gate scan (the full report is stored beside it). */
export interface VersionScan {
  state: Exclude<ScanState, 'pending'>;
  /** Unsafe serialized code found (or the artifact could not be judged). */
  unsafeCode: boolean;
  /** Secrets found (or the text could not be fully scanned). */
  secrets: boolean;
  /** Personal data found (or the text could not be fully scanned). */
  pii: boolean;
  scannedAt: number;
  /** The approved gate-exception request that overrides the block, if any (four eyes). */
  exceptionRequestId: string | null;
}

/** A role binding: `principal` (user, service account or group) holds `role` on a scope. */
export interface Grant {
  id: string;
  principalId: string;
  role: Role;
  scopeKind: ScopeKind;
  /** Project, artifact or version id, by `scopeKind`. */
  scopeId: string;
  createdBy: string;
  createdAt: number;
  /** Epoch ms after which the grant no longer applies; null = no expiry. */
  expiresAt: number | null;
}

/** An API token record. The secret itself is never stored, only its SHA-256. */
export interface ApiToken {
  id: string;
  principalId: string;
  /** SHA-256 of the whole token string, hex. */
  hash: string;
  /** Short, non-secret hint shown in listings (prefix and last 4 characters). */
  hint: string;
  description: string;
  createdAt: number;
  expiresAt: number | null;
  revokedAt: number | null;
  lastUsedAt: number | null;
}
