import type { AccessRequestRecord, Approval, Promotion, RequestKind, RequestStatus, ShareLink } from '../access/access-types.js';
import type { Environment, Grant } from '../domain/types.js';

/** Filter of {@link AccessStore.listRequests}; all given fields must match. */
export interface RequestFilter {
  requesterId?: string;
  status?: RequestStatus;
  kind?: RequestKind;
  projectId?: string;
  /** Break-glass requests whose review is still open. */
  reviewOpen?: boolean;
  /** At most this many, newest first (capped at 1000). */
  limit?: number;
}

/** What the final approval of a request does, inside the same transaction. */
export interface ApprovalEffect {
  /** The grant to create (`grant` requests); its `expiresAt` is the end of the access. */
  grant?: Grant;
  /** The share link to activate (`share` requests): it becomes `active` until `endsAt`. */
  shareLinkId?: string;
  /** The version whose gate block the approval lifts (`gate-exception` requests), until revoked. */
  gateExceptionVersionId?: string;
  /** When the access (or the promote approval) ends. */
  endsAt: number;
}

/** The outcome of {@link AccessStore.approve}. */
export interface ApproveResult {
  /** True when this approval was the last one needed: the request is now approved and the effect applied. */
  final: boolean;
  /** Distinct approvals recorded so far (this one included). */
  approvals: number;
  request: AccessRequestRecord;
}

/**
 * Storage of the access module: requests and their approvals, share links,
 * promotions. It lives in the same database as the MetadataStore because approvals
 * create core grants atomically with the request's change of status.
 *
 * TRUST: trusted for integrity like the MetadataStore. It never holds a share-link
 * secret, only its SHA-256. Every state change is a compare-and-set on the current
 * status, so concurrent callers (on any number of nodes) cannot both win: exactly one
 * final approval creates a grant, exactly one download takes the last allowed use.
 *
 * Methods reject with catalog errors: AlreadyExistsError (duplicate id or approval),
 * NotFoundError (no such request where one must exist), AccessRequestClosedError (the
 * request is not in the state the change needs), StorageError otherwise.
 */
export interface AccessStore {
  // ---- requests ----
  /**
   * Inserts a request in one transaction with what it brings: a pending share link
   * (`share`), or the grant of a request approved at creation (break-glass, auto-approval).
   */
  createRequest(request: AccessRequestRecord, with_?: { link?: ShareLink; grant?: Grant }): Promise<void>;
  getRequest(id: string): Promise<AccessRequestRecord | null>;
  listRequests(filter: RequestFilter): Promise<AccessRequestRecord[]>;
  listApprovals(requestId: string): Promise<Approval[]>;
  /**
   * Records `approval` of a pending request whose deadline is after `now`
   * (AccessRequestClosedError otherwise; AlreadyExistsError if this approver already
   * approved). When the distinct approvals reach the required number, in the same
   * transaction: the request becomes `approved` (decidedAt = now, decidedBy = the
   * approver, endsAt, grantId) and `effect` is applied.
   */
  approve(approval: Approval, now: number, effect: ApprovalEffect): Promise<ApproveResult>;
  /**
   * Closes a request: `from` -> `to` (pending -> denied | cancelled, approved -> revoked,
   * approved -> used). Revoking deletes its grant (if still there) and revokes its share
   * link; denying denies its pending link. AccessRequestClosedError if the status is not `from`.
   */
  close(id: string, from: RequestStatus, to: RequestStatus, by: string | null, reason: string | null, now: number): Promise<AccessRequestRecord>;
  /**
   * Marks a promote approval used and records the promotion, in one transaction.
   * AccessRequestClosedError if the request is not approved or ended before `now`;
   * ConflictError if the version already reached that environment.
   */
  usePromoteApproval(requestId: string, promotion: Promotion, now: number): Promise<void>;
  /** Requests whose access ended (endsAt <= now) and whose end is not yet recorded (oldest first). */
  listEndedUnnoted(now: number, limit: number): Promise<AccessRequestRecord[]>;
  /** Records that the end was noted; false if someone else noted it first. */
  noteExpiry(id: string, now: number): Promise<boolean>;
  /** Signs off the open review of a break-glass; false if it is not open. */
  signOffReview(id: string, by: string, note: string, now: number): Promise<boolean>;

  // ---- share links ----
  /** Inserts an active link (links to restricted versions go through createRequest). */
  createShareLink(link: ShareLink): Promise<void>;
  getShareLink(id: string): Promise<ShareLink | null>;
  getShareLinkByHash(tokenHash: string): Promise<ShareLink | null>;
  /** Links created by `createdBy` and/or to `versionId`, newest first (at most 1000). */
  listShareLinks(filter: { createdBy?: string; versionId?: string; projectId?: string }): Promise<ShareLink[]>;
  /** Revokes a pending or active link; false if it was already revoked or denied. */
  revokeShareLink(id: string, by: string, now: number): Promise<boolean>;
  /**
   * Takes one use of a link, atomically: succeeds only if the link is active, not
   * expired at `now`, and under its download limit. False otherwise (nothing changes).
   */
  takeShareDownload(id: string, now: number): Promise<boolean>;

  // ---- promotions ----
  /** Records a promotion without an approval. ConflictError if the version already reached that environment. */
  createPromotion(promotion: Promotion): Promise<void>;
  /** Promotions of the versions of an artifact, oldest first. */
  listPromotions(artifactId: string): Promise<Promotion[]>;
  /** The highest environment a version was promoted to, or null. */
  promotedEnvironment(versionId: string): Promise<Environment | null>;
}
