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
  // putting a version into prod, or hiding one there, other than by a promotion (service/prod-guard.ts)
  'bypass-promotion',
  // just-in-time access and sharing (src/access)
  'request-access',
  'approve-access',
  'break-glass',
  'share',
  // system (resource: the Coffer system)
  'create-project',
  'manage-principals',
  'rotate-keys',
  'read-audit',
  'admin',
  // policy management (src/service/policy): read and test policy sets; apply and roll back
  'read-policy',
  'manage-policy',
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
  /**
   * Hour (0-23) and weekday of `now` in the organisation's time zone. Normally absent:
   * the engine derives them from `now` and its configured `timeZone`; given only to
   * pin them (policy test cases).
   */
  localHour?: number;
  localWeekday?: 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat' | 'sun';
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
 * Where the catalog items a subject may be allowed an action on can be, derived from
 * its grants and the policies (a conditional decision turned into a query, as in
 * Backstage's permission framework). Every item the engine could allow is in a listed
 * scope unless `unbounded`; items found there must still be confirmed with authorize.
 */
export interface ListingPlan {
  /** Some policy may allow items anywhere: list everything and confirm each item. */
  unbounded: boolean;
  /** Projects whose items may be allowed (the project itself, its artifacts and versions). */
  projectIds: ReadonlySet<string>;
  /** Artifacts that may be allowed, with their versions. */
  artifactIds: ReadonlySet<string>;
  /** Single versions that may be allowed. */
  versionIds: ReadonlySet<string>;
}

/**
 * The policy decision point. Implementations must fail closed: an evaluation error
 * in any policy yields a deny with the error listed, never an allow.
 */
export interface PolicyEngine {
  authorize(request: AccessRequest): Decision;
  /**
   * Optional: the scopes where `action` may be allowed to `subject` at `nowMs`, so a
   * listing queries only candidate rows. Engines without it are listed row by row.
   */
  listingPlan?(subject: Subject, action: Action, nowMs: number): ListingPlan;
}
