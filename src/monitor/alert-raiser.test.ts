import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { AuditEvent } from '../audit/audit-event.js';
import type { AlertRecord, LockRecord } from '../store/monitor-store.js';
import type { AccountLocker } from './account-locker.js';
import { AlertDispatcher } from './alerting/alert-dispatcher.js';
import type { AlertNotice } from './alerting/alert-sink.js';
import { AlertRaiser } from './alert-raiser.js';
import type { Finding } from './finding.js';
import { MonitorMetrics } from './monitor-metrics.js';
import { DEFAULT_RULES, mergeRules } from './rules.js';

const f = (rule: Finding['rule'], principalKey = 'prn_dana'): Finding => ({ rule, principalKey, principalName: 'dana', severity: 'high', time: 5, triggerSeq: 9, summary: 's', evidence: [9], measures: {} });

void test('an alert is stored, acted on and notified once, even when its finding is replayed', async () => {
  const stored = new Map<string, AlertRecord>();
  const locked: string[] = [];
  const notices: AlertNotice[] = [];
  const audited: AuditEvent[] = [];
  const rules = mergeRules(DEFAULT_RULES, { probing: { action: 'off' } });
  const raiser = new AlertRaiser({
    rules,
    monitorStore: { insertAlert: (a) => Promise.resolve(stored.has(a.id) ? false : !!stored.set(a.id, a)) },
    locker: { lock: (a: AlertRecord) => Promise.resolve(locked.push(a.id) && ({ principalName: 'dana', tokensRevoked: 1, downloadsAborted: 0, lockedAt: 1 } as LockRecord)) } as unknown as AccountLocker,
    dispatcher: new AlertDispatcher([{ name: 't', send: (n) => Promise.resolve(void (n.type === 'coffer.alert' && notices.push(n))), close: () => Promise.resolve() }], () => undefined),
    audit: { record: (e) => Promise.resolve({ seq: audited.push(e) }) },
    metrics: new MonitorMetrics({ openAlerts: () => Promise.resolve(0), lockedPrincipals: () => Promise.resolve(0), pendingReviewItems: () => Promise.resolve(0) }),
    clock: () => 1,
    warn: () => undefined,
  });
  await raiser.raise(f('volume'));
  await raiser.raise(f('volume'));
  await raiser.raise(f('new-source'));
  await raiser.raise(f('probing'));
  await raiser.raise(f('volume', 'ip:203.0.113.1'));
  await new Promise((r) => setImmediate(r));
  assert.deepEqual([...stored.values()].map((a) => `${a.rule}:${a.action}`), ['volume:lock', 'new-source:alert', 'volume:alert']);
  assert.equal(locked.length, 1, 'the volume rule locks; the same finding replayed does not lock twice; an address is never locked');
  assert.deepEqual(notices.map((n) => n.lock === null), [false, true, true]);
  assert.deepEqual(audited.map((e) => e.action), ['monitor-alert', 'monitor-alert', 'monitor-alert']);
});
