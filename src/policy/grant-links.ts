import type { Grant } from '../domain/types.js';
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
  const groups = new Set(subject.groupIds);
  const scopes = resource === undefined ? undefined : scopeChain(resource);
  const links: TemplateLink[] = [];
  const seen = new Set<string>();
  for (const grant of subject.grants) {
    if (!isGrantActive(grant, nowMs) || seen.has(grant.id)) continue;
    if (scopes !== undefined && !scopes.has(`${grant.scopeKind}:${grant.scopeId}`)) continue;
    let principal: CedarUid;
    if (grant.principalId === subject.principal.id) principal = principalUid(subject.principal);
    else if (groups.has(grant.principalId)) principal = { type: ENTITY_TYPE.group, id: grant.principalId };
    else continue;
    seen.add(grant.id);
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

function scopeChain(resource: ResourceRef): Set<string> {
  const out = new Set<string>();
  if (resource.kind === 'system') return out;
  out.add(`project:${resource.project.id}`);
  if (resource.kind === 'project') return out;
  out.add(`artifact:${resource.artifact.id}`);
  if (resource.kind === 'artifact') return out;
  out.add(`version:${resource.version.id}`);
  return out;
}
