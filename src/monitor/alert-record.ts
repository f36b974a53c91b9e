import { createHash } from 'node:crypto';
import type { AlertRecord } from '../store/monitor-store.js';
import type { Finding } from './finding.js';

/**
 * The id of the alert of a finding: `alr_` + 26 hex digits of SHA-256 over its rule,
 * principal and triggering seq. A finding replayed after a restart (or found by a
 * second node reading the same log) gets the same id, so it is stored and acted on once.
 */
export function alertIdOf(f: Pick<Finding, 'rule' | 'principalKey' | 'triggerSeq'>): string {
  return `alr_${createHash('sha256').update(`${f.rule}\n${f.principalKey}\n${f.triggerSeq}`, 'utf8').digest('hex').slice(0, 26)}`;
}

/** The alert to store for a finding. */
export function alertOf(f: Finding, action: 'alert' | 'lock', createdAt: number): AlertRecord {
  const principalId = f.principalKey.startsWith('ip:') ? null : f.principalKey;
  return {
    id: alertIdOf(f),
    rule: f.rule,
    severity: f.severity,
    // an unauthenticated source has no account to lock
    action: principalId === null ? 'alert' : action,
    principalKey: f.principalKey,
    principalId,
    principalName: f.principalName,
    time: f.time,
    createdAt,
    triggerSeq: f.triggerSeq,
    summary: f.summary,
    evidence: f.evidence,
    measures: f.measures,
    status: 'open',
    ackedBy: null,
    ackedAt: null,
    note: null,
  };
}

/** What callers and notification sinks see of an alert (times as ISO 8601). */
export function alertView(a: AlertRecord) {
  return {
    id: a.id,
    rule: a.rule,
    severity: a.severity,
    action: a.action,
    principal: a.principalName ?? a.principalKey,
    principalId: a.principalId,
    time: new Date(a.time).toISOString(),
    createdAt: new Date(a.createdAt).toISOString(),
    summary: a.summary,
    triggerSeq: a.triggerSeq,
    evidence: a.evidence,
    measures: a.measures,
    status: a.status,
    ackedBy: a.ackedBy,
    ackedAt: a.ackedAt === null ? null : new Date(a.ackedAt).toISOString(),
    note: a.note,
  };
}

export type AlertView = ReturnType<typeof alertView>;
