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

/**
 * A destination for alert notifications (webhook, file, syslog). The alert is already
 * stored when a sink is called: a sink failing loses a notification, never an alert.
 */
export interface AlertSink {
  /** For error reports (`webhook`, `file`, `syslog`). */
  readonly name: string;
  send(notice: AlertNotice): Promise<void>;
  close(): Promise<void>;
}
