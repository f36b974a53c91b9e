import type { Page } from './metadata-store.js';

/** An alert: a detector's finding as stored, with what was done about it. */
export interface AlertRecord {
  /** `alr_` + a digest of (rule, principal, triggering seq): the same finding replayed is the same alert. */
  id: string;
  rule: string;
  severity: string;
  /** What the rule did: `alert` (recorded and notified) or `lock` (and the principal locked). */
  action: 'alert' | 'lock';
  /** Actor id, or `ip:<address>` for unauthenticated traffic. */
  principalKey: string;
  principalId: string | null;
  principalName: string | null;
  /** Epoch ms of the audit record that crossed the threshold. */
  time: number;
  /** Epoch ms the alert was raised. */
  createdAt: number;
  triggerSeq: number;
  summary: string;
  /** Audit seqs of the records behind the alert, ascending. */
  evidence: number[];
  measures: Record<string, number | string>;
  status: 'open' | 'acked';
  ackedBy: string | null;
  ackedAt: number | null;
  note: string | null;
}

/** A lock of a principal by the monitor, open until an administrator unlocks it. */
export interface LockRecord {
  id: string;
  principalId: string;
  principalName: string;
  alertId: string | null;
  reason: string;
  lockedAt: number;
  /** API tokens and sessions revoked by the lock. */
  tokensRevoked: number;
  downloadsAborted: number;
  unlockedAt: number | null;
  unlockedBy: string | null;
  note: string | null;
}

/** Last use of a grant, from the determining policies of allowed audit records. */
export interface GrantUse {
  grantId: string;
  principalId: string;
  lastUsedAt: number;
  lastSeq: number;
}

/** What a principal did to which catalog item: one row per (principal, action, project, artifact). */
export interface PrincipalUse {
  principalId: string;
  action: string;
  project: string;
  /** Empty for actions on the project itself. */
  artifact: string;
  lastUsedAt: number;
  /** Successful uses counted since the row was created. */
  count: number;
}

/** A campaign of access review over a scope. */
export interface ReviewCampaign {
  id: string;
  name: string;
  scopeKind: 'all' | 'project' | 'tier';
  /** Project name or tier; null for `all`. */
  scopeValue: string | null;
  /** Grants unused for this many days were revoked automatically at the start (0 = none). */
  staleDays: number;
  createdBy: string;
  createdAt: number;
  dueAt: number | null;
  status: 'open' | 'closed';
  closedAt: number | null;
}

export type ReviewDecision = 'pending' | 'certify' | 'revoke';

/** One grant under review, with what the reviewer needs to decide. */
export interface ReviewItem {
  id: string;
  campaignId: string;
  grantId: string;
  principalId: string;
  principalName: string;
  principalKind: string;
  /** Whether the grant's principal was disabled when the campaign started. */
  principalDisabled: boolean;
  role: string;
  scopeKind: string;
  scopeId: string;
  /** `project/x`, `project/x/artifact/y`, `project/x/artifact/y@3`. */
  scopeName: string;
  tier: string | null;
  grantCreatedAt: number;
  grantExpiresAt: number | null;
  lastUsedAt: number | null;
  /** Names of the principals who may decide (owners of the scope, else administrators). */
  reviewers: string[];
  decision: ReviewDecision;
  /** Name of who decided, `coffer-monitor` for automatic revocations. */
  decidedBy: string | null;
  decidedAt: number | null;
  note: string | null;
}

/**
 * Storage of the monitor and of access reviews: detector state, alerts, locks, usage
 * derived from the audit log, review campaigns.
 *
 * TRUST: same database as the MetadataStore, trusted like it. Nothing here is a
 * record of truth for access: the audit chain is (usage and detector state can be
 * rebuilt by replaying it). Rows never hold secrets; alert evidence is audit seqs.
 *
 * Every method rejects with a catalog error: AlreadyExistsError for a uniqueness
 * violation, StorageError otherwise.
 */
export interface MonitorStore {
  // ---- detector state (see monitor/audit-monitor.ts) ----
  /** The last audit seq the stored state accounts for (0 if none), and the states by principal key. */
  loadMonitorState(): Promise<{ seq: number; states: Array<[string, string]> }>;
  /**
   * Stores, in one transaction: the states that changed (null = delete), the usage
   * gathered since the last save, and `seq` as the last record they account for. So a
   * restart replays exactly the records after `seq`.
   */
  saveMonitorState(p: { seq: number; states: ReadonlyArray<[string, string | null]>; grantUses: readonly GrantUse[]; principalUses: readonly PrincipalUse[] }): Promise<void>;

  // ---- alerts ----
  /** Inserts an alert; false (and nothing changes) if an alert with its id exists. */
  insertAlert(a: AlertRecord): Promise<boolean>;
  getAlert(id: string): Promise<AlertRecord | null>;
  /** Newest first (by record time, then id). */
  listAlerts(options?: { status?: AlertRecord['status']; principalId?: string; limit?: number; cursor?: string | null }): Promise<Page<AlertRecord>>;
  /** Acknowledges an open alert; false if it does not exist or is already acknowledged. */
  ackAlert(id: string, by: string, at: number, note: string | null): Promise<boolean>;
  countOpenAlerts(): Promise<number>;

  // ---- locks ----
  insertLock(l: LockRecord): Promise<void>;
  /** Locks not yet lifted (of one principal, or all), oldest first. */
  listOpenLocks(principalId?: string): Promise<LockRecord[]>;
  /** Lifts every open lock of a principal; returns how many. */
  closeLocks(principalId: string, by: string, at: number, note: string | null): Promise<number>;

  // ---- usage ----
  /** Last use of each of `grantIds` that was ever used. */
  grantLastUse(grantIds: readonly string[]): Promise<Map<string, number>>;
  /** What the principal did since `since` (epoch ms). */
  principalUsage(principalId: string, since: number): Promise<PrincipalUse[]>;

  // ---- access reviews ----
  /** Creates a campaign and its items in one transaction. */
  createCampaign(c: ReviewCampaign, items: readonly ReviewItem[]): Promise<void>;
  getCampaign(id: string): Promise<ReviewCampaign | null>;
  /** Newest first. */
  listCampaigns(options?: { status?: ReviewCampaign['status']; limit?: number }): Promise<ReviewCampaign[]>;
  listItems(campaignId: string): Promise<ReviewItem[]>;
  getItem(id: string): Promise<ReviewItem | null>;
  /** Records a decision on a pending item; false if the item is not pending (decided already, or absent). */
  decideItem(id: string, decision: Exclude<ReviewDecision, 'pending'>, by: string, at: number, note: string | null): Promise<boolean>;
  closeCampaign(id: string, at: number): Promise<void>;

  // ---- review reminders ----
  /** When the reviewers of each of `campaignIds` were last reminded (campaigns never reminded are absent). */
  lastReminders(campaignIds: readonly string[]): Promise<Map<string, number>>;
  /**
   * Claims a round of reminders of a campaign at `at`, compare-and-set on the previous
   * round (`previous`, null if never reminded): false if another sweep (or node) claimed
   * it meanwhile, so a round is sent once.
   */
  claimReminder(campaignId: string, previous: number | null, at: number): Promise<boolean>;
}
