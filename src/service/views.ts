import type { ApiToken, Artifact, ArtifactVersion, Grant, Principal, Project } from '../domain/types.js';
import { mfaOf } from '../identity/credential-lineage.js';
import type { CredentialListing } from '../store/credential-store.js';

/** What callers see of each entity: never blob keys, wrapped keys or token hashes. */
export function projectView(p: Project) {
  return { id: p.id, name: p.name, description: p.description, createdBy: p.createdBy, createdAt: new Date(p.createdAt).toISOString() };
}

export function artifactView(a: Artifact, projectName: string) {
  return {
    id: a.id,
    project: projectName,
    name: a.name,
    kind: a.kind,
    tier: a.tier,
    environment: a.environment,
    owner: a.ownerId,
    labels: a.labels,
    createdAt: new Date(a.createdAt).toISOString(),
  };
}

export function versionView(v: ArtifactVersion, projectName: string, artifactName: string) {
  return {
    id: v.id,
    project: projectName,
    artifact: artifactName,
    number: v.number,
    sha256: v.sha256,
    size: v.size,
    mediaType: v.mediaType,
    createdBy: v.createdBy,
    createdAt: new Date(v.createdAt).toISOString(),
    keyTerm: v.keyTerm,
  };
}

export function principalView(p: Principal) {
  return { id: p.id, kind: p.kind, name: p.name, displayName: p.displayName, ownerId: p.ownerId, disabled: p.disabled, createdAt: new Date(p.createdAt).toISOString() };
}

export function grantView(g: Grant) {
  return {
    id: g.id,
    principalId: g.principalId,
    role: g.role,
    scopeKind: g.scopeKind,
    scopeId: g.scopeId,
    createdBy: g.createdBy,
    createdAt: new Date(g.createdAt).toISOString(),
    expiresAt: g.expiresAt === null ? null : new Date(g.expiresAt).toISOString(),
  };
}

export function tokenView(t: ApiToken) {
  const iso = (n: number | null) => (n === null ? null : new Date(n).toISOString());
  return { id: t.id, hint: t.hint, description: t.description, createdAt: iso(t.createdAt), expiresAt: iso(t.expiresAt), revokedAt: iso(t.revokedAt), lastUsedAt: iso(t.lastUsedAt) };
}

/**
 * A credential as listed (never a secret): its kind, its parent (id, kind, and holder
 * when another principal holds it), how it came to be, the methods it carries and the
 * age of the strongest, its state.
 */
export function credentialView(c: CredentialListing, names: Map<string, string>, now: number, current: string) {
  const iso = (n: number | null) => (n === null ? null : new Date(n).toISOString());
  const active = c.revokedAt === null && (c.expiresAt === null || c.expiresAt > now);
  return {
    id: c.id,
    kind: c.kind,
    parent: c.parentId === null ? null : { id: c.parentId, kind: c.parent?.kind ?? null, principal: c.parent === null ? null : (names.get(c.parent.principalId) ?? c.parent.principalId) },
    origin: c.origin,
    mfa: mfaOf(c.methods, now, c.createdAt),
    current: c.id === current,
    active,
    createdAt: new Date(c.createdAt).toISOString(),
    expiresAt: iso(c.expiresAt),
    revokedAt: iso(c.revokedAt),
    revokeReason: c.revokeReason,
  };
}

export type CredentialView = ReturnType<typeof credentialView>;
export type ProjectView = ReturnType<typeof projectView>;
export type ArtifactView = ReturnType<typeof artifactView>;
export type VersionView = ReturnType<typeof versionView>;
export type PrincipalView = ReturnType<typeof principalView>;
export type GrantView = ReturnType<typeof grantView>;
export type TokenView = ReturnType<typeof tokenView>;
