import type { Artifact, ArtifactVersion, Grant, Principal, Project } from '../domain/types.js';

/** Coffer actions. Cedar action ids are these strings. */
export const ACTIONS = [
  // catalog
  'read-metadata',
  'download',
  'upload',
  'create-artifact',
  'delete',
  'promote',
  'grant',
  // system (resource: the Coffer system)
  'create-project',
  'manage-principals',
  'rotate-keys',
  'read-audit',
  'admin',
] as const;
export type Action = (typeof ACTIONS)[number];

/** The authenticated caller as the policy engine sees it. */
export interface Subject {
  principal: Principal;
  /** Ids of the groups the principal belongs to (transitively). */
  groupIds: string[];
  /** Grants held by the principal or any of its groups. */
  grants: Grant[];
}

/** What is being accessed. Parents are given so scope inheritance can be evaluated. */
export type ResourceRef =
  | { kind: 'system' }
  | { kind: 'project'; project: Project }
  | { kind: 'artifact'; project: Project; artifact: Artifact }
  | { kind: 'version'; project: Project; artifact: Artifact; version: ArtifactVersion };

/** Facts about the request the gateway builds (documented in the Cedar schema). */
export interface RequestContext {
  /** Source address of the caller. */
  sourceIp: string;
  /** Epoch ms of the request. */
  now: number;
  /** Authentication methods used for this session and their age. */
  mfa: { methods: string[]; ageSeconds: number };
  device: { managed: boolean; id: string };
}

export interface AccessRequest {
  subject: Subject;
  action: Action;
  resource: ResourceRef;
  context: RequestContext;
}

export interface Decision {
  allowed: boolean;
  /** Ids of the policies that determined the decision (a grant's link id is the grant id). */
  determining: string[];
  /** Policies that errored during evaluation. Any error means deny (fail closed). */
  errors: string[];
}

/**
 * The policy decision point. Implementations must fail closed: an evaluation error
 * in any policy yields a deny with the error listed, never an allow.
 */
export interface PolicyEngine {
  authorize(request: AccessRequest): Decision;
}
