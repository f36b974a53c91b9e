import type { Environment, Role, ScopeKind, Tier } from '../domain/types.js';

/**
 * What an access request asks for:
 * - `grant`: a role on a scope for a while (a core Grant with `expiresAt`, created at final approval);
 * - `break-glass`: an emergency self-elevation, granted at once, with an open review item;
 * - `share`: the activation of a share link to a restricted version;
 * - `promote`: the approval to promote a version to an environment (used once);
 * - `gate-exception`: an exception to the artifact gate's block on one version (until revoked).
 */
export const REQUEST_KINDS = ['grant', 'break-glass', 'share', 'promote', 'gate-exception'] as const;
export type RequestKind = (typeof REQUEST_KINDS)[number];

/**
 * Stored status. `pending` -> `approved` | `denied` | `cancelled`; `approved` -> `revoked`
 * (early end) | `used` (a promote approval, consumed by the promotion). A pending request
 * past its deadline can no longer be approved; an approved one ends at `endsAt`.
 */
export const REQUEST_STATUSES = ['pending', 'approved', 'denied', 'cancelled', 'revoked', 'used'] as const;
export type RequestStatus = (typeof REQUEST_STATUSES)[number];

/** The state shown to people: the stored status with the clock applied. */
export type RequestState = 'pending' | 'expired' | 'active' | 'ended' | 'approved' | 'denied' | 'cancelled' | 'revoked' | 'used';

/** A request for elevated access and its whole life (kept after it ends, as the audit log is). */
export interface AccessRequestRecord {
  /** `req_` id. */
  id: string;
  kind: RequestKind;
  requesterId: string;
  /** The role asked for (`grant`, `break-glass`); null for `share` and `promote`. */
  role: Role | null;
  scopeKind: ScopeKind;
  /** Project, artifact or version id, by `scopeKind`. */
  scopeId: string;
  /** Project of the scope (listings filter by it). */
  projectId: string;
  /** Tier of the artifact when the request was made (null for a project scope). */
  tier: Tier | null;
  /** How long the access lasts once approved (`grant`, `break-glass`, `share`), or how long a promote approval stays usable. */
  durationMs: number;
  justification: string;
  /** Ticket reference (`OPS-1234`), free text. */
  ticket: string | null;
  /** Distinct approvers needed (0 = approved at creation: auto-approval, break-glass). */
  approvalsRequired: number;
  status: RequestStatus;
  createdAt: number;
  /** A pending request can no longer be approved from this time on. */
  deadline: number;
  /** When it was approved, denied, cancelled, revoked or used. */
  decidedAt: number | null;
  /** Who made the last decision (final approver, denier, revoker); null for automatic ones. */
  decidedBy: string | null;
  /** Why it was denied, revoked or cancelled. */
  reason: string | null;
  /** The grant created at approval (`grant`, `break-glass`); deleted from grants on revoke, kept here. */
  grantId: string | null;
  /** When the access ends (grant expiry, link expiry, promote approval validity). */
  endsAt: number | null;
  /** `promote`: the target environment; `share`: the link id. */
  target: string | null;
  /** When the end of this access was recorded (audit + notification); null until then. */
  expiryNotedAt: number | null;
  /** Break-glass only: the after-the-fact review. */
  review: BreakGlassReview | null;
}

/** The review a break-glass leaves: open until someone other than the requester signs it off. */
export interface BreakGlassReview {
  status: 'open' | 'signed-off';
  by: string | null;
  at: number | null;
  note: string | null;
}

/** One approver's approval of a request. */
export interface Approval {
  requestId: string;
  approverId: string;
  /**
   * The approver's party: the root of its owner chain (src/access/four-eyes.ts). A request
   * counts at most one approval per party (unique in the store), so two service accounts
   * of one owner, or a person and their service account, never make two approvals.
   */
  partyId?: string | null;
  createdAt: number;
  comment: string;
}

/** Stored status of a share link. `pending`: waits for the approval of its request. */
export const SHARE_LINK_STATUSES = ['pending', 'active', 'revoked', 'denied'] as const;
export type ShareLinkStatus = (typeof SHARE_LINK_STATUSES)[number];

/** A revocable, time-limited, read-only link to one artifact version. The secret is never stored. */
export interface ShareLink {
  /** `shl_` id. */
  id: string;
  /** SHA-256 hex of the whole link token. */
  tokenHash: string;
  /** Non-secret hint (prefix and last 4 characters). */
  hint: string;
  projectId: string;
  artifactId: string;
  versionId: string;
  createdBy: string;
  createdAt: number;
  /** Lifetime from activation (creation, or approval for restricted versions). */
  ttlMs: number;
  /** Null while pending approval. */
  expiresAt: number | null;
  /** Null = unlimited. */
  maxDownloads: number | null;
  /** Uses so far (every GET counts, ranged or not). */
  downloads: number;
  /** Allowed source networks (CIDR); empty = any. */
  cidrs: string[];
  status: ShareLinkStatus;
  /** The approval request of a link to a restricted version. */
  requestId: string | null;
  revokedAt: number | null;
  revokedBy: string | null;
  lastUsedAt: number | null;
}

/** A version reaching an environment. A version's environment is the highest it reached. */
export interface Promotion {
  /** `prm_` id. */
  id: string;
  versionId: string;
  artifactId: string;
  environment: Environment;
  fromEnvironment: Environment;
  promotedBy: string;
  promotedAt: number;
  /** The approved `promote` request it used, if approvals were required. */
  requestId: string | null;
  /** SHA-256 of the stored bytes, re-read through the vault at promotion time. */
  sha256: string;
  /** Names of the checks that passed (the digest check is `digest`). */
  checks: string[];
}

/** Id prefixes of the access module's entities. */
export const ACCESS_ID_PREFIX = { request: 'req', shareLink: 'shl', promotion: 'prm', event: 'evt' } as const;
