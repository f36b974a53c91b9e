import type { MonitorEvent } from './monitor-event.js';

/** The detection rules, one per detector. */
export const RULE_IDS = ['volume', 'slow-and-low', 'off-hours', 'new-source', 'probing'] as const;
export type RuleId = (typeof RULE_IDS)[number];

export type Severity = 'low' | 'medium' | 'high' | 'critical';

/** What a detector concluded from the events it saw. Plain data (persisted as alerts). */
export interface Finding {
  rule: RuleId;
  /** Actor id, or `ip:<address>` for unauthenticated traffic. */
  principalKey: string;
  /** Actor name when known (for people reading alerts). */
  principalName: string | null;
  severity: Severity;
  /** Epoch ms of the event that crossed the threshold. */
  time: number;
  /** Seq of the audit record that crossed the threshold. */
  triggerSeq: number;
  /** One line: what crossed which threshold. */
  summary: string;
  /** Seqs of the audit records behind the finding (the window that crossed), ascending, at most {@link MAX_EVIDENCE}. */
  evidence: number[];
  /** The measured values and thresholds. */
  measures: Record<string, number | string>;
}

/** Most evidence seqs one finding carries (the newest ones are kept). */
export const MAX_EVIDENCE = 200;

/** The evidence list of a finding: distinct seqs, ascending, the newest MAX_EVIDENCE. */
export function evidenceOf(seqs: Iterable<number>): number[] {
  const sorted = [...new Set(seqs)].sort((a, b) => a - b);
  return sorted.slice(Math.max(0, sorted.length - MAX_EVIDENCE));
}

/** A finding of `rule` at record `e`, the record that crossed the threshold. */
export function findingAt(e: Pick<MonitorEvent, 'principalKey' | 'actor' | 'time' | 'seq'>, rule: RuleId, severity: Severity, summary: string, evidence: number[], measures: Record<string, number | string>): Finding {
  return { rule, principalKey: e.principalKey, principalName: e.actor?.name ?? null, severity, time: e.time, triggerSeq: e.seq, summary, evidence, measures };
}
