import type { Grant, ScopeKind } from '../domain/types.js';
import type { ResourceRef, Subject } from './policy-engine.js';
import { ADMIN_TEMPLATES, ENTITY_TYPE, grantTemplateId, scopeEntityType, type CedarUid } from './cedar-names.js';
import { principalUid } from './to-cedar-entities.js';

/** A template link: `templateId` with its slots filled, known as `linkId`. */
export interface TemplateLink {
  templateId: string;
  linkId: string;
  principal: CedarUid;
  /** Absent for templates with no `?resource` slot. */
  resource?: CedarUid;
}

/** True if the grant applies at `nowMs` (a grant expires at `expiresAt`, inclusive). */
export function isGrantActive(grant: Grant, nowMs: number): boolean {
  return grant.expiresAt === null || grant.expiresAt > nowMs;
}

/**
 * The template links of the subject's grants that are active at `nowMs`. The link id
 * is the grant id. A grant's principal is the subject's principal or one of its groups;
 * grants held by anyone else are not linked (they could never match).
 * With `resource`, only grants whose scope is the resource or one of its parents are
 * linked: the others cannot match, so leaving them out changes no decision.
 */
export function grantLinks(subject: Subject, nowMs: number, resource?: ResourceRef): TemplateLink[] {
  const chain = resource === undefined ? undefined : scopeChain(resource);
  const links: TemplateLink[] = [];
  let groups: Set<string> | undefined;
  let seen: Set<string> | undefined;
  for (const grant of subject.grants) {
    if (chain !== undefined && chain[grant.scopeKind] !== grant.scopeId) continue;
    if (!isGrantActive(grant, nowMs) || seen?.has(grant.id)) continue;
    let principal: CedarUid;
    if (grant.principalId === subject.principal.id) principal = principalUid(subject.principal);
    else if ((groups ??= new Set(subject.groupIds)).has(grant.principalId)) principal = { type: ENTITY_TYPE.group, id: grant.principalId };
    else continue;
    (seen ??= new Set()).add(grant.id);
    links.push({
      templateId: grantTemplateId(grant.scopeKind, grant.role),
      linkId: grant.id,
      principal,
      resource: { type: scopeEntityType(grant.scopeKind), id: grant.scopeId },
    });
  }
  return links;
}

/** The links of the administrator templates for the administrators group. */
export function adminLinks(adminGroupId: string | null): TemplateLink[] {
  if (adminGroupId === null) return [];
  return ADMIN_TEMPLATES.map((t) => ({
    templateId: t.templateId,
    linkId: t.linkId,
    principal: { type: ENTITY_TYPE.group, id: adminGroupId },
  }));
}

/** The id at each scope kind of the resource's parent chain (undefined where there is none). */
function scopeChain(resource: ResourceRef): Record<ScopeKind, string | undefined> {
  return {
    project: resource.kind === 'system' ? undefined : resource.project.id,
    artifact: resource.kind === 'artifact' || resource.kind === 'version' ? resource.artifact.id : undefined,
    version: resource.kind === 'version' ? resource.version.id : undefined,
  };
}
