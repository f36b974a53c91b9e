import { evidenceOf } from '../finding.js';
import type { Finding } from '../finding.js';
import { MINUTE } from './detector.js';
import type { Detector, StepResult } from './detector.js';

/** State of the probing detector for one principal (or one source address, for unauthenticated traffic). */
export interface ProbingState {
  /** [time, seq] of denials within the denial window. */
  denials: Array<[number, number]>;
  /** [time, seq] of metadata reads within the listing window. */
  reads: Array<[number, number]>;
  lastFinding: number | null;
}

/**
 * Probing: bursts of denials (guessing names, walking projects it may not see,
 * failed authentications from one address) and mass listing (metadata reads, listing
 * pages included, far above what a person browsing or a pipeline polling makes).
 */
export const probingDetector: Detector<ProbingState> = {
  rule: 'probing',
  initial: () => ({ denials: [], reads: [], lastFinding: null }),
  step(state, e, rules): StepResult<ProbingState> {
    const r = rules.probing;
    const isDenial = e.decision === 'deny';
    const isRead = e.decision === 'allow' && e.outcome === 'attempt' && e.action === 'read-metadata';
    if (!isDenial && !isRead) return { state, findings: [] };
    // a coalesced record of unauthenticated refusals counts as every refusal it carries: a burst cannot hide in it
    const weight = Math.min(Math.max(1, e.weight ?? 1), r.maxDenials + 1);
    const denials = isDenial
      ? [...state.denials.filter(([t]) => t > e.time - r.denialWindowMinutes * MINUTE), ...Array.from({ length: weight }, () => [e.time, e.seq] as [number, number])].slice(-Math.max(1, r.maxDenials + 1))
      : state.denials;
    const reads = isRead
      ? [...state.reads.filter(([t]) => t > e.time - r.listingWindowMinutes * MINUTE), [e.time, e.seq] as [number, number]].slice(-Math.max(1, r.maxListings + 1))
      : state.reads;
    const next: ProbingState = { denials, reads, lastFinding: state.lastFinding };
    const burst = isDenial && r.maxDenials > 0 && denials.length >= r.maxDenials;
    const listing = isRead && r.maxListings > 0 && reads.length >= r.maxListings;
    if ((!burst && !listing) || (state.lastFinding !== null && e.time - state.lastFinding < r.cooldownMinutes * MINUTE)) {
      return { state: next, findings: [] };
    }
    const finding: Finding = {
      rule: 'probing',
      principalKey: e.principalKey,
      principalName: e.actor?.name ?? null,
      severity: 'high',
      time: e.time,
      triggerSeq: e.seq,
      summary: burst
        ? `${denials.length} denied requests within ${r.denialWindowMinutes} min${e.actor === null ? ` from ${e.sourceIp}` : ''} (probing or enumeration)`
        : `${reads.length} metadata reads within ${r.listingWindowMinutes} min (mass listing)`,
      evidence: evidenceOf((burst ? denials : reads).map(([, seq]) => seq)),
      measures: burst ? { denials: denials.length, maxDenials: r.maxDenials, windowMinutes: r.denialWindowMinutes } : { reads: reads.length, maxListings: r.maxListings, windowMinutes: r.listingWindowMinutes },
    };
    return { state: { ...next, lastFinding: e.time }, findings: [finding] };
  },
};

/** True if the state holds nothing that could still matter (an idle unauthenticated source can be forgotten). */
export function probingIdle(s: ProbingState, now: number, rules: { probing: { denialWindowMinutes: number; listingWindowMinutes: number; cooldownMinutes: number } }): boolean {
  const r = rules.probing;
  return (
    s.denials.every(([t]) => t <= now - r.denialWindowMinutes * MINUTE) &&
    s.reads.every(([t]) => t <= now - r.listingWindowMinutes * MINUTE) &&
    (s.lastFinding === null || s.lastFinding <= now - r.cooldownMinutes * MINUTE)
  );
}
