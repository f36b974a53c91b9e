import { evidenceOf, findingAt } from '../finding.js';
import type { Finding } from '../finding.js';
import type { MonitorEvent } from '../monitor-event.js';
import type { MonitorRules } from '../rules.js';
import { Deque } from '../window/deque.js';
import { arr, num, numOrNull, obj, StateFormatError } from '../window/state-format.js';
import { MINUTE } from './detector.js';
import type { Detector, StepContext } from './detector.js';

/** State of the probing detector for one principal (or one source address, for unauthenticated traffic). */
export interface ProbingState {
  /** [time, seq] of denials within the denial window (at most maxDenials + 1). */
  denials: Deque<[number, number]>;
  /** [time, seq] of metadata reads within the listing window (at most maxListings + 1). */
  reads: Deque<[number, number]>;
  lastFinding: number | null;
}

/**
 * Probing: bursts of denials (guessing names, walking projects it may not see,
 * failed authentications from one address) and mass listing (metadata reads, listing
 * pages included, far above what a person browsing or a pipeline polling makes).
 * O(1) amortized per record: two bounded queues, expired from the front.
 */
export const probingDetector: Detector<ProbingState> = {
  rule: 'probing',
  initial: () => ({ denials: new Deque(), reads: new Deque(), lastFinding: null }),
  step(s, e, ctx: StepContext): Finding[] {
    const r = ctx.rules.probing;
    const now = ctx.now;
    const isDenial = e.decision === 'deny';
    const isRead = e.decision === 'allow' && e.outcome === 'attempt' && e.action === 'read-metadata';
    if (!isDenial && !isRead) return [];
    // a coalesced record of unauthenticated refusals counts as every refusal it carries: a burst cannot hide in it
    if (isDenial) slide(s.denials, now, e.seq, r.denialWindowMinutes, r.maxDenials, e.weight ?? 1);
    if (isRead) slide(s.reads, now, e.seq, r.listingWindowMinutes, r.maxListings);
    const burst = isDenial && r.maxDenials > 0 && s.denials.length >= r.maxDenials;
    const listing = isRead && r.maxListings > 0 && s.reads.length >= r.maxListings;
    if ((!burst && !listing) || (s.lastFinding !== null && now - s.lastFinding < r.cooldownMinutes * MINUTE)) return [];
    s.lastFinding = now;
    return [probingFinding(e, burst, [...(burst ? s.denials : s.reads)], r)];
  },
  clearWindows(s) {
    s.denials.clear();
    s.reads.clear();
    s.lastFinding = null;
  },
  encode: (s) => ({ denials: s.denials.toArray(), reads: s.reads.toArray(), lastFinding: s.lastFinding }),
  decode(json) {
    const o = obj(json, 'probing');
    return { denials: decodePairs(o.denials, 'probing.denials'), reads: decodePairs(o.reads, 'probing.reads'), lastFinding: numOrNull(o.lastFinding, 'probing.lastFinding') };
  },
};

/** A probing finding at record `e`: a burst of the denials `counted`, or mass listing of the reads `counted` ([time, seq] in the window). */
export function probingFinding(e: MonitorEvent, burst: boolean, counted: Array<[number, number]>, r: MonitorRules['probing']): Finding {
  const summary = burst
    ? `${counted.length} denied requests within ${r.denialWindowMinutes} min${e.actor === null ? ` from ${e.sourceIp}` : ''} (probing or enumeration)`
    : `${counted.length} metadata reads within ${r.listingWindowMinutes} min (mass listing)`;
  const measures: Record<string, number> = burst ? { denials: counted.length, maxDenials: r.maxDenials, windowMinutes: r.denialWindowMinutes } : { reads: counted.length, maxListings: r.maxListings, windowMinutes: r.listingWindowMinutes };
  return findingAt(e, 'probing', 'high', summary, evidenceOf(counted.map(([, seq]) => seq)), measures);
}

/**
 * Drops entries older than the window, adds (now, seq) `weight` times (a coalesced record),
 * keeps at most `max + 1` (more would change nothing: the threshold is `max`).
 */
function slide(q: Deque<[number, number]>, now: number, seq: number, windowMinutes: number, max: number, weight = 1): void {
  const after = now - windowMinutes * MINUTE;
  for (let f = q.front(); f !== undefined && f[0] <= after; f = q.front()) q.shift();
  // bounded: more than max + 1 copies would be dropped at once
  const copies = Math.min(Math.max(1, Math.floor(weight)), Math.max(1, max + 1));
  for (let i = 0; i < copies; i++) q.push([now, seq]);
  while (q.length > Math.max(1, max + 1)) q.shift();
}

function decodePairs(json: unknown, what: string): Deque<[number, number]> {
  const out = new Deque<[number, number]>();
  for (const row of arr(json, what)) {
    const pair = arr(row, what);
    if (pair.length !== 2) throw new StateFormatError(`${what} is not a list of pairs`);
    out.push([num(pair[0], what), num(pair[1], what)]);
  }
  return out;
}

/** True if the state holds nothing that could still matter (an idle unauthenticated source can be forgotten). */
export function probingIdle(s: ProbingState, now: number, rules: { probing: { denialWindowMinutes: number; listingWindowMinutes: number; cooldownMinutes: number } }): boolean {
  const r = rules.probing;
  const newest = (q: Deque<[number, number]>) => q.back()?.[0] ?? -Infinity;
  return (
    newest(s.denials) <= now - r.denialWindowMinutes * MINUTE &&
    newest(s.reads) <= now - r.listingWindowMinutes * MINUTE &&
    (s.lastFinding === null || s.lastFinding <= now - r.cooldownMinutes * MINUTE)
  );
}
