import { AccountLockedError, isCofferError } from '../domain/errors.js';
import { newId } from '../domain/ids.js';
import type { AuditLog } from '../audit/audit-event.js';
import type { MetadataStore } from '../store/metadata-store.js';
import type { AlertRecord, LockRecord, MonitorStore } from '../store/monitor-store.js';
import type { InflightDownloads } from './inflight-downloads.js';
import { MONITOR_ACTOR } from './monitor-event.js';

/** What the locker needs. */
export interface LockerDeps {
  store: Pick<MetadataStore, 'getPrincipal' | 'getPrincipalByName' | 'listMembers' | 'setPrincipalDisabled'>;
  monitorStore: Pick<MonitorStore, 'insertLock' | 'listOpenLocks'>;
  inflight: InflightDownloads;
  audit: Pick<AuditLog, 'record'>;
  clock: () => number;
  warn: (message: string, detail: Record<string, unknown>) => void;
  /**
   * Revokes every credential of the principal (sessions, API tokens, S3 keys) and every
   * credential minted from them, through the credential lineage; returns how many.
   */
  revokeCredentials: (principalId: string, at: number, reason: string) => Promise<number>;
}

/**
 * Locks a principal after an alert: suspends it (authentication refuses it from the
 * next request on), cuts its downloads in flight, revokes every credential it holds
 * and every one minted from them (sessions, API tokens, S3 keys: a stolen credential
 * stays dead after the unlock), and records the lock in the monitor store and the
 * audit log.
 */
export class AccountLocker {
  constructor(private readonly deps: LockerDeps) {}

  /**
   * Locks the principal of `alert`; null if it is not a user or service account, or if
   * it is the last enabled administrator (locking it would leave nobody to unlock: the
   * alert still goes out, marked as not locked).
   */
  async lock(alert: AlertRecord): Promise<LockRecord | null> {
    const d = this.deps;
    if (alert.principalId === null) return null;
    const p = await d.store.getPrincipal(alert.principalId);
    if (p === null || p.kind === 'group') return null;
    if (await this.#lastAdmin(p.id)) {
      d.warn('monitor did not lock the last enabled administrator', { principal: p.id, alert: alert.id });
      return null;
    }
    const now = d.clock();
    // protective action first: a lock is never held back by a slow audit write or a notification
    await d.store.setPrincipalDisabled(p.id, true);
    const aborted = d.inflight.abort(p.id, new AccountLockedError());
    // INVARIANT: every credential of the principal and what was minted from them, whoever holds it
    const revoked = await d.revokeCredentials(p.id, now, `monitor-lock:${alert.rule}`);
    const lock: LockRecord = {
      id: newId('lck'),
      principalId: p.id,
      principalName: p.name,
      alertId: alert.id,
      reason: `${alert.rule}: ${alert.summary}`.slice(0, 1000),
      lockedAt: now,
      tokensRevoked: revoked,
      downloadsAborted: aborted,
      unlockedAt: null,
      unlockedBy: null,
      note: null,
    };
    await d.monitorStore.insertLock(lock);
    try {
      await d.audit.record({
        time: now,
        requestId: alert.id,
        actor: MONITOR_ACTOR,
        action: 'monitor-lock',
        resource: `principal/${p.name}`,
        decision: 'allow',
        policies: [`monitor/${alert.rule}`],
        outcome: 'success',
        context: { alertId: alert.id, triggerSeq: alert.triggerSeq, credentialsRevoked: revoked, downloadsAborted: aborted },
      });
    } catch (err) {
      // the lock holds; the audit log being down is reported, not a reason to undo it
      d.warn('monitor lock could not be recorded in the audit log', { principal: p.id, code: isCofferError(err) ? err.code : 'unknown' });
    }
    return lock;
  }

  async #lastAdmin(principalId: string): Promise<boolean> {
    const admins = await this.deps.store.getPrincipalByName('admins');
    if (admins === null || admins.kind !== 'group') return false;
    const members = await this.deps.store.listMembers(admins.id);
    if (!members.includes(principalId)) return false;
    for (const id of members) {
      if (id === principalId) continue;
      const m = await this.deps.store.getPrincipal(id);
      if (m !== null && !m.disabled && m.kind === 'user') return false;
    }
    return true;
  }
}
