import { keyOfArtifactName } from '../../domain/artifact-names.js';
import type { Insertable, Selectable } from 'kysely';
import type { ApiToken, Artifact, ArtifactVersion, Grant, Principal, Project, VersionScan } from '../../domain/types.js';
import type { StoredAuditCheckpoint, StoredAuditRecord } from '../metadata-store.js';
import type { Database } from './database.js';

type Row<T extends keyof Database> = Selectable<Database[T]>;
type NewRow<T extends keyof Database> = Insertable<Database[T]>;

/** A 64-bit column as a number (PostgreSQL hands `bigint` over as a string). */
export function toNumber(value: number | string | bigint): number {
  const n = Number(value);
  // INVARIANT: every stored integer (epoch ms, sizes, seq) is below 2^53
  if (!Number.isSafeInteger(n)) throw new RangeError('stored integer out of range');
  return n;
}

function toNullableNumber(value: number | string | bigint | null): number | null {
  return value === null ? null : toNumber(value);
}

/** Bytes for a driver (both drivers bind Buffers; no copy). */
export function toBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Bytes from a driver, as a plain Uint8Array the caller owns. */
export function fromBuffer(buf: Uint8Array): Uint8Array {
  return new Uint8Array(buf);
}

export function principalFromRow(r: Row<'principals'>): Principal {
  return {
    id: r.id,
    kind: r.kind as Principal['kind'],
    name: r.name,
    displayName: r.display_name,
    ownerId: r.owner_id,
    disabled: Number(r.disabled) !== 0,
    createdAt: toNumber(r.created_at),
  };
}

export function principalToRow(p: Principal): NewRow<'principals'> {
  return {
    id: p.id,
    kind: p.kind,
    name: p.name,
    display_name: p.displayName,
    owner_id: p.ownerId,
    disabled: p.disabled ? 1 : 0,
    created_at: p.createdAt,
  };
}

export function tokenFromRow(r: Row<'tokens'>): ApiToken {
  return {
    id: r.id,
    principalId: r.principal_id,
    hash: r.hash,
    hint: r.hint,
    description: r.description,
    createdAt: toNumber(r.created_at),
    expiresAt: toNullableNumber(r.expires_at),
    revokedAt: toNullableNumber(r.revoked_at),
    lastUsedAt: toNullableNumber(r.last_used_at),
  };
}

export function tokenToRow(t: ApiToken): NewRow<'tokens'> {
  return {
    id: t.id,
    principal_id: t.principalId,
    hash: t.hash,
    hint: t.hint,
    description: t.description,
    created_at: t.createdAt,
    expires_at: t.expiresAt,
    revoked_at: t.revokedAt,
    last_used_at: t.lastUsedAt,
  };
}

export function projectFromRow(r: Row<'projects'>): Project {
  return { id: r.id, name: r.name, description: r.description, createdBy: r.created_by, createdAt: toNumber(r.created_at) };
}

export function projectToRow(p: Project): NewRow<'projects'> {
  return { id: p.id, name: p.name, description: p.description, created_by: p.createdBy, created_at: p.createdAt };
}

export function artifactFromRow(r: Row<'artifacts'>): Artifact {
  return {
    id: r.id,
    projectId: r.project_id,
    name: r.name,
    kind: r.kind as Artifact['kind'],
    tier: r.tier as Artifact['tier'],
    environment: r.environment as Artifact['environment'],
    ownerId: r.owner_id,
    labels: JSON.parse(r.labels) as Record<string, string>,
    createdAt: toNumber(r.created_at),
  };
}

export function artifactToRow(a: Artifact): NewRow<'artifacts'> {
  return {
    id: a.id,
    project_id: a.projectId,
    name: a.name,
    s3_key: keyOfArtifactName(a.name),
    kind: a.kind,
    tier: a.tier,
    environment: a.environment,
    owner_id: a.ownerId,
    labels: JSON.stringify(a.labels),
    created_at: a.createdAt,
  };
}

export function versionFromRow(r: Row<'versions'>): ArtifactVersion {
  return {
    id: r.id,
    artifactId: r.artifact_id,
    number: Number(r.number),
    sha256: r.sha256,
    size: toNumber(r.size),
    mediaType: r.media_type,
    createdBy: r.created_by,
    createdAt: toNumber(r.created_at),
    blobKey: r.blob_key,
    wrappedKey: r.wrapped_key === null ? null : fromBuffer(r.wrapped_key),
    keyTerm: Number(r.key_term),
    scan: scanFromRow(r),
  };
}

/** Bits of `versions.scan_flags`. */
export const SCAN_FLAG = { unsafeCode: 1, secrets: 2, pii: 4 } as const;

function scanFromRow(r: Row<'versions'>): VersionScan | null {
  // rows read before migration 020 ran have no scan columns at all: pending
  if (r.scan_state === null || r.scan_state === undefined) return null;
  const flags = Number(r.scan_flags ?? 0);
  return {
    state: r.scan_state as VersionScan['state'],
    unsafeCode: (flags & SCAN_FLAG.unsafeCode) !== 0,
    secrets: (flags & SCAN_FLAG.secrets) !== 0,
    pii: (flags & SCAN_FLAG.pii) !== 0,
    scannedAt: toNumber(r.scan_at ?? 0),
    exceptionRequestId: r.scan_exception ?? null,
  };
}

/** The `scan_flags` bit set of a verdict. */
export function scanFlags(scan: Pick<VersionScan, 'unsafeCode' | 'secrets' | 'pii'>): number {
  return (scan.unsafeCode ? SCAN_FLAG.unsafeCode : 0) | (scan.secrets ? SCAN_FLAG.secrets : 0) | (scan.pii ? SCAN_FLAG.pii : 0);
}

export function versionToRow(v: ArtifactVersion): NewRow<'versions'> {
  return {
    id: v.id,
    artifact_id: v.artifactId,
    number: v.number,
    sha256: v.sha256,
    size: v.size,
    media_type: v.mediaType,
    created_by: v.createdBy,
    created_at: v.createdAt,
    blob_key: v.blobKey,
    wrapped_key: v.wrappedKey === null ? null : toBuffer(v.wrappedKey),
    key_term: v.keyTerm,
  };
}

export function grantFromRow(r: Row<'grants'>): Grant {
  return {
    id: r.id,
    principalId: r.principal_id,
    role: r.role as Grant['role'],
    scopeKind: r.scope_kind as Grant['scopeKind'],
    scopeId: r.scope_id,
    createdBy: r.created_by,
    createdAt: toNumber(r.created_at),
    expiresAt: toNullableNumber(r.expires_at),
  };
}

export function grantToRow(g: Grant): NewRow<'grants'> {
  return {
    id: g.id,
    principal_id: g.principalId,
    role: g.role,
    scope_kind: g.scopeKind,
    scope_id: g.scopeId,
    created_by: g.createdBy,
    created_at: g.createdAt,
    expires_at: g.expiresAt,
  };
}

export function auditFromRow(r: Row<'audit_records'>): StoredAuditRecord {
  return { seq: toNumber(r.seq), body: r.body, prevHash: r.prev_hash, hash: r.hash };
}

export function auditToRow(a: StoredAuditRecord): NewRow<'audit_records'> {
  return { seq: a.seq, body: a.body, prev_hash: a.prevHash, hash: a.hash };
}

export function checkpointFromRow(r: Row<'audit_checkpoints'>): StoredAuditCheckpoint {
  return { seq: toNumber(r.seq), hash: r.hash, signature: r.signature, createdAt: toNumber(r.created_at) };
}
