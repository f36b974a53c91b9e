import type { AlertView } from '../alert-record.js';

/** What a notification carries: the alert, and the lock if the rule locked the principal. */
export interface AlertNotice {
  type: 'coffer.alert';
  version: 1;
  alert: AlertView;
  lock: { principal: string; tokensRevoked: number; downloadsAborted: number; lockedAt: string } | null;
  /** Set when the rule locks but the principal was not locked (the last administrator). */
  notLocked?: string;
}

/** A reminder to one reviewer of the items of a campaign still waiting for a decision. */
export interface ReminderNotice {
  type: 'coffer.review-reminder';
  version: 1;
  /** `rmd_` + digest of (campaign, reviewer, round time): the same reminder has the same id on every sink. */
  id: string;
  sentAt: string;
  reviewer: string;
  campaign: { id: string; name: string; scope: string; createdAt: string; dueAt: string | null; overdue: boolean };
  /** How many items this reviewer may decide are pending; `items` lists the first 50. */
  pending: number;
  items: Array<{ id: string; principal: string; role: string; scope: string; lastUsedAt: string | null }>;
}

/** A signed audit checkpoint handed to a remote witness (see audit/checkpoint-witness.ts). */
export interface CheckpointNotice {
  type: 'coffer.audit-checkpoint';
  version: 1;
  /** Verifies `signature` (base64url Ed25519, as `coffer audit checkpoint` prints it). */
  publicKey: string;
  checkpoint: { seq: number; hash: string; signature: string; time: string; node: string };
}

/** What sinks deliver: alerts, review reminders and audit checkpoints. */
export type Notice = AlertNotice | ReminderNotice | CheckpointNotice;

/**
 * A destination for alert notifications (webhook, file, syslog). The alert is already
 * stored when a sink is called: a sink failing loses a notification, never an alert.
 */
export interface AlertSink {
  /** For error reports (`webhook`, `file`, `syslog`). */
  readonly name: string;
  send(notice: Notice): Promise<void>;
  close(): Promise<void>;
}
