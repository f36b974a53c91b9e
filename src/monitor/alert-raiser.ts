import { isCofferError } from '../domain/errors.js';
import type { AuditLog } from '../audit/audit-event.js';
import type { LockRecord, MonitorStore } from '../store/monitor-store.js';
import type { AccountLocker } from './account-locker.js';
import { alertOf, alertView } from './alert-record.js';
import type { AlertDispatcher } from './alerting/alert-dispatcher.js';
import type { Finding } from './finding.js';
import { MONITOR_ACTOR } from './monitor-event.js';
import type { MonitorMetrics } from './monitor-metrics.js';
import { actionOf } from './rules.js';
import type { MonitorRules } from './rules.js';

/** What raising an alert needs. */
export interface RaiserDeps {
  rules: MonitorRules;
  monitorStore: Pick<MonitorStore, 'insertAlert'>;
  locker: AccountLocker;
  dispatcher: AlertDispatcher;
  audit: Pick<AuditLog, 'record'>;
  metrics: MonitorMetrics;
  clock: () => number;
  warn: (message: string, detail: Record<string, unknown>) => void;
}

/**
 * Turns findings into alerts: store the alert (once: a replayed finding is a no-op),
 * lock the principal if the rule says so, record the alert in the audit log, notify the
 * sinks in the background.
 */
export class AlertRaiser {
  constructor(private readonly deps: RaiserDeps) {}

  async raise(f: Finding): Promise<void> {
    const d = this.deps;
    const action = actionOf(d.rules, f.rule);
    if (action === 'off') return;
    const alert = alertOf(f, action, d.clock());
    if (!(await d.monitorStore.insertAlert(alert))) return;
    d.metrics.alerts.inc({ rule: alert.rule, action: alert.action });
    let lock: LockRecord | null = null;
    if (alert.action === 'lock') {
      lock = await d.locker.lock(alert);
      if (lock !== null) {
        d.metrics.locks.inc();
        d.metrics.aborted.inc(lock.downloadsAborted);
      }
    }
    try {
      await d.audit.record({
        time: alert.createdAt,
        requestId: alert.id,
        actor: MONITOR_ACTOR,
        action: 'monitor-alert',
        resource: `principal/${alert.principalName ?? alert.principalKey}`,
        decision: 'allow',
        policies: [`monitor/${alert.rule}`],
        outcome: 'success',
        context: { alertId: alert.id, rule: alert.rule, severity: alert.severity, action: alert.action, triggerSeq: alert.triggerSeq, evidenceCount: alert.evidence.length },
      });
    } catch (err) {
      d.warn('monitor alert could not be recorded in the audit log', { alert: alert.id, code: isCofferError(err) ? err.code : 'unknown' });
    }
    const notLocked = alert.action === 'lock' && lock === null;
    d.dispatcher.notify({
      type: 'coffer.alert',
      version: 1,
      alert: alertView(alert),
      lock: lock && { principal: lock.principalName, tokensRevoked: lock.tokensRevoked, downloadsAborted: lock.downloadsAborted, lockedAt: new Date(lock.lockedAt).toISOString() },
      ...(notLocked ? { notLocked: 'the rule locks, but this principal could not be locked (last administrator, or gone)' } : {}),
    });
  }
}
