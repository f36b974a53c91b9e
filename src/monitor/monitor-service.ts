import { ConflictError, NotFoundError, ValidationError, isCofferError } from '../domain/errors.js';
import type { Caller } from '../service/caller.js';
import type { ServiceDeps } from '../service/deps.js';
import type { Gate } from '../service/gate.js';
import type { AlertRecord, LockRecord, MonitorStore } from '../store/monitor-store.js';
import { alertView, type AlertView } from './alert-record.js';
import { parseAuditRecord } from './monitor-event.js';
import type { MonitorMetrics } from './monitor-metrics.js';

const SYSTEM = { kind: 'system' } as const;
/** Evidence spanning at most this many records is read in one scan. */
const EVIDENCE_SCAN = 20_000;

/** A step-up check for sensitive actions (throws StepUpRequiredError); see src/access/step-up.ts. */
export type UnlockCheck = (subject: { context: Caller['context']; sessionId?: string | undefined }) => void;

/** What the monitor's use cases need besides the service's deps and gate. */
export interface MonitorServiceDeps {
  monitorStore: MonitorStore;
  metrics: MonitorMetrics;
  /** Clears the detectors' short windows of a principal after an administrator's review. */
  clearWindows: (principalId: string) => Promise<void>;
  /** Required of whoever unlocks (a fresh, strong authentication). */
  unlockCheck: UnlockCheck;
}

/** One audit record behind an alert (its evidence). */
export interface EvidenceView {
  seq: number;
  time: string;
  action: string;
  resource: string;
  outcome: string;
  bytes: number | null;
  sourceIp: string;
}

/** A lock as callers see it. */
export function lockView(l: LockRecord) {
  const iso = (n: number | null) => (n === null ? null : new Date(n).toISOString());
  return { id: l.id, principal: l.principalName, principalId: l.principalId, alert: l.alertId, reason: l.reason, lockedAt: iso(l.lockedAt), tokensRevoked: l.tokensRevoked, downloadsAborted: l.downloadsAborted, unlockedAt: iso(l.unlockedAt), unlockedBy: l.unlockedBy, note: l.note };
}
export type LockView = ReturnType<typeof lockView>;

/**
 * The monitor's use cases: alerts (`read-audit` to read, `admin` to acknowledge),
 * locks (`read-audit`) and unlock (`manage-principals` and a fresh strong
 * authentication). Every one authorizes and records through the Gate.
 */
export class MonitorService {
  constructor(
    private readonly deps: ServiceDeps,
    private readonly gate: Gate,
    private readonly m: MonitorServiceDeps,
  ) {}

  /** Alerts, newest first. */
  async listAlerts(caller: Caller, input: { status?: AlertRecord['status']; principal?: string; limit?: number; cursor?: string | null }): Promise<{ items: AlertView[]; next: string | null }> {
    const permit = await this.gate.enter(caller, 'read-audit', SYSTEM, 'monitor/alerts', null, { op: 'list-alerts' });
    let principalId: string | undefined;
    if (input.principal !== undefined) {
      const p = await this.deps.store.getPrincipalByName(input.principal);
      if (p === null) {
        await permit.finish('success', { details: { returned: 0 } });
        return { items: [], next: null };
      }
      principalId = p.id;
    }
    const page = await this.m.monitorStore.listAlerts({ ...(input.status ? { status: input.status } : {}), ...(principalId ? { principalId } : {}), ...(input.limit ? { limit: input.limit } : {}), cursor: input.cursor ?? null });
    await permit.finish('success', { details: { returned: page.items.length } });
    return { items: page.items.map(alertView), next: page.next };
  }

  /** One alert with its evidence: the audit records that crossed the threshold. */
  async showAlert(caller: Caller, id: string): Promise<AlertView & { records: EvidenceView[] }> {
    const permit = await this.gate.enter(caller, 'read-audit', SYSTEM, `monitor/alert/${id.slice(0, 40)}`, null, { op: 'show-alert' });
    const alert = await this.m.monitorStore.getAlert(id);
    if (alert === null) {
      await permit.finish('failure', { reason: 'COFFER_NOT_FOUND' });
      throw new NotFoundError(`alert \`${id.slice(0, 40)}\` not found`);
    }
    const records = await this.#evidence(alert.evidence);
    await permit.finish('success');
    return { ...alertView(alert), records };
  }

  /**
   * The audit records of `seqs` (ascending). A narrow range is read in one scan; a wide
   * one (a day of a busy log) record by record, so showing an alert never reads the
   * whole log.
   */
  async #evidence(seqs: readonly number[]): Promise<EvidenceView[]> {
    const out: EvidenceView[] = [];
    const push = (r: { seq: number; body: string }) => {
      const e = parseAuditRecord(r.seq, r.body);
      if (e !== null) out.push({ seq: e.seq, time: new Date(e.time).toISOString(), action: e.action, resource: e.resource, outcome: e.outcome, bytes: e.bytes, sourceIp: e.sourceIp });
    };
    if (seqs.length === 0) return out;
    const first = seqs[0]!;
    const last = seqs[seqs.length - 1]!;
    const wanted = new Set(seqs);
    if (last - first <= EVIDENCE_SCAN) {
      for await (const r of this.deps.store.iterateAudit(first)) {
        if (r.seq > last) break;
        if (wanted.has(r.seq)) push(r);
      }
      return out;
    }
    for (const seq of seqs) {
      for await (const r of this.deps.store.iterateAudit(seq)) {
        if (r.seq === seq) push(r);
        break;
      }
    }
    return out;
  }

  /** Acknowledges an alert (`admin`). ConflictError if it was acknowledged already. */
  async ackAlert(caller: Caller, id: string, note: string | null): Promise<AlertView> {
    const permit = await this.gate.enter(caller, 'admin', SYSTEM, `monitor/alert/${id.slice(0, 40)}`, null, { op: 'ack-alert' });
    try {
      const alert = await this.m.monitorStore.getAlert(id);
      if (alert === null) throw new NotFoundError(`alert \`${id.slice(0, 40)}\` not found`);
      if (!(await this.m.monitorStore.ackAlert(id, caller.subject.principal.name, this.deps.clock(), note))) throw new ConflictError(`alert \`${id}\` was already acknowledged`);
      await permit.finish('success');
      return alertView((await this.m.monitorStore.getAlert(id))!);
    } catch (err) {
      await permit.finish('failure', { reason: isCofferError(err) ? err.code : 'error' });
      throw err;
    }
  }

  /** Locks in force. */
  async listLocks(caller: Caller): Promise<LockView[]> {
    const permit = await this.gate.enter(caller, 'read-audit', SYSTEM, 'monitor/locks', null, { op: 'list-locks' });
    const locks = await this.m.monitorStore.listOpenLocks();
    await permit.finish('success', { details: { returned: locks.length } });
    return locks.map(lockView);
  }

  /**
   * Lifts the monitor's locks on a principal and enables it again, after an
   * administrator reviewed the alerts (`manage-principals`, and a fresh strong
   * authentication). Its tokens stay revoked: it needs new credentials.
   */
  async unlock(caller: Caller, name: string, note: string | null): Promise<{ principal: string; locksLifted: number }> {
    if (note !== null && note.length > 2000) throw new ValidationError('note must be at most 2000 characters');
    const permit = await this.gate.enter(caller, 'manage-principals', SYSTEM, `principal/${name}`, null, { op: 'unlock' });
    try {
      // a lock is lifted by someone who just proved it is them: a stolen admin token must not free its accomplice
      this.m.unlockCheck({ context: caller.context, sessionId: caller.sessionId });
      const p = await this.deps.store.getPrincipalByName(name);
      if (p === null || p.kind === 'group') throw new NotFoundError(`principal \`${name}\` not found`);
      const open = await this.m.monitorStore.listOpenLocks(p.id);
      if (open.length === 0) throw new ConflictError(`principal \`${name}\` is not locked by the monitor`);
      const lifted = await this.m.monitorStore.closeLocks(p.id, caller.subject.principal.name, this.deps.clock(), note);
      await this.deps.store.setPrincipalDisabled(p.id, false);
      await this.m.clearWindows(p.id);
      this.m.metrics.unlocks.inc();
      await permit.finish('success', { details: { locksLifted: lifted, alerts: open.map((l) => l.alertId) } });
      return { principal: p.name, locksLifted: lifted };
    } catch (err) {
      await permit.finish('failure', { reason: isCofferError(err) ? err.code : 'error' });
      throw err;
    }
  }
}
