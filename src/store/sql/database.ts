import type { ColumnType } from 'kysely';

/**
 * A 64-bit integer column (epoch ms, sizes, audit sequence numbers). PostgreSQL
 * returns `bigint` as a string, SQLite as a number: read it through `toNumber`.
 */
export type Int8 = ColumnType<number | string, number, number>;
/** A byte column (BLOB in SQLite, BYTEA in PostgreSQL). */
export type Bytes = Buffer;
/** A boolean stored as 0/1 in both dialects. */
export type Flag = number;

/** One row per setting (sealed keyring, setup token hash, keys). */
export interface SettingsTable {
  key: string;
  value: Bytes;
  updated_at: Int8;
}

export interface PrincipalsTable {
  id: string;
  kind: string;
  name: string;
  display_name: string;
  owner_id: string | null;
  disabled: Flag;
  created_at: Int8;
}

/** Direct group membership: `member_id` belongs to group `group_id`. */
export interface MembershipsTable {
  group_id: string;
  member_id: string;
}

export interface TokensTable {
  id: string;
  principal_id: string;
  hash: string;
  hint: string;
  description: string;
  created_at: Int8;
  expires_at: Int8 | null;
  revoked_at: Int8 | null;
  last_used_at: Int8 | null;
}

export interface ProjectsTable {
  id: string;
  name: string;
  description: string;
  created_by: string;
  created_at: Int8;
}

export interface ArtifactsTable {
  id: string;
  project_id: string;
  name: string;
  /** The S3 key the name stands for (keyOfArtifactName), sorted bytewise; null only before migration 015. */
  s3_key: string | null;
  kind: string;
  tier: string;
  environment: string;
  owner_id: string;
  /** JSON object of string values. */
  labels: string;
  created_at: Int8;
}

export interface VersionsTable {
  id: string;
  artifact_id: string;
  number: number;
  sha256: string;
  size: Int8;
  media_type: string;
  created_by: string;
  created_at: Int8;
  blob_key: string;
  wrapped_key: Bytes | null;
  key_term: number;
  /** Gate verdict (migration 020): null while the version waits for its scan. */
  scan_state: string | null;
  /** Bit set: 1 unsafe code, 2 secrets, 4 personal data. */
  scan_flags: number | null;
  scan_at: Int8 | null;
  /** Lease of the node scanning the version (epoch ms). */
  scan_claimed_until: Int8 | null;
  /** Id of the approved gate-exception request, if any. */
  scan_exception: string | null;
}

export interface VersionScanReportsTable {
  version_id: string;
  report: string;
}

export interface GrantsTable {
  id: string;
  principal_id: string;
  role: string;
  scope_kind: string;
  scope_id: string;
  created_by: string;
  created_at: Int8;
  expires_at: Int8 | null;
}

export interface AuditRecordsTable {
  seq: Int8;
  body: string;
  prev_hash: string;
  hash: string;
}

export interface AuditCheckpointsTable {
  seq: Int8;
  hash: string;
  signature: string;
  created_at: Int8;
}

/** The metadata schema as Kysely sees it (see migrations.ts for the DDL). */
export interface Database {
  settings: SettingsTable;
  principals: PrincipalsTable;
  memberships: MembershipsTable;
  tokens: TokensTable;
  projects: ProjectsTable;
  artifacts: ArtifactsTable;
  versions: VersionsTable;
  version_scan_reports: VersionScanReportsTable;
  grants: GrantsTable;
  audit_records: AuditRecordsTable;
  audit_checkpoints: AuditCheckpointsTable;
}
