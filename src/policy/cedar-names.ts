import type { Role, ScopeKind } from '../domain/types.js';

/** Cedar namespace of every Coffer entity type and action. */
export const NAMESPACE = 'Coffer';

/** Cedar entity type names (fully qualified). */
export const ENTITY_TYPE = {
  user: 'Coffer::User',
  serviceAccount: 'Coffer::ServiceAccount',
  group: 'Coffer::Group',
  system: 'Coffer::System',
  project: 'Coffer::Project',
  artifact: 'Coffer::Artifact',
  version: 'Coffer::ArtifactVersion',
  action: 'Coffer::Action',
} as const;

/** Id of the one System entity, the resource of system actions. */
export const SYSTEM_ENTITY_ID = 'coffer';

/** A Cedar entity reference, `Type::"id"`. */
export interface CedarUid {
  type: string;
  id: string;
}

/** Template id for a grant of `role` at `scopeKind`: `grant/project-<role>` or `grant/artifact-<role>`. */
export function grantTemplateId(scopeKind: ScopeKind, role: Role): string {
  return scopeKind === 'project' ? `grant/project-${role}` : `grant/artifact-${role}`;
}

/** Administrator templates (baseline/admins.cedar) and the ids of their links. */
export const ADMIN_TEMPLATES = [
  { templateId: 'admins/system', linkId: 'admins-system' },
  { templateId: 'admins/read-metadata', linkId: 'admins-read-metadata' },
  // baseline/access.cedar: admins approve access requests and may break glass
  { templateId: 'admins/access', linkId: 'admins-access' },
] as const;

/** Entity type of a grant scope. */
export function scopeEntityType(scopeKind: ScopeKind): string {
  switch (scopeKind) {
    case 'project':
      return ENTITY_TYPE.project;
    case 'artifact':
      return ENTITY_TYPE.artifact;
    case 'version':
      return ENTITY_TYPE.version;
  }
}
