import type { Finding } from '../finding.js';
import { DAY, HOUR } from './detector.js';
import type { Detector, StepResult } from './detector.js';

/** State of the off-hours detector for one principal. */
export interface OffHoursState {
  /** Activity per UTC hour of day (requests), decayed by {@link DAILY_DECAY} a day. */
  hist: number[];
  total: number;
  firstSeen: number | null;
  /** Day index (epoch days) the histogram was last decayed to. */
  decayDay: number;
  lastFinding: number | null;
}

/** Weight an old request keeps after one day: the usual hours follow a changed routine within weeks. */
export const DAILY_DECAY = 0.97;

/**
 * Off hours: a restricted artifact used at an hour of day at which the principal is
 * rarely active. The usual hours are learned per principal from every request it
 * makes (a histogram of UTC hours, so any time zone is learned as is); an hour is
 * unusual when the share of activity within one hour of it is below `minShare`.
 * Nothing is reported while the principal is still being learned.
 */
export const offHoursDetector: Detector<OffHoursState> = {
  rule: 'off-hours',
  initial: () => ({ hist: new Array<number>(24).fill(0), total: 0, firstSeen: null, decayDay: 0, lastFinding: null }),
  step(state, e, rules): StepResult<OffHoursState> {
    if (e.actor === null || e.decision !== 'allow' || e.outcome !== 'attempt') return { state, findings: [] };
    const r = rules.offHours;
    const today = Math.floor(e.time / DAY);
    let hist = state.hist;
    let total = state.total;
    if (state.firstSeen !== null && today > state.decayDay) {
      const f = DAILY_DECAY ** (today - state.decayDay);
      hist = hist.map((v) => v * f);
      total *= f;
    }
    const h = Math.floor(e.time / HOUR) % 24;
    const firstSeen = state.firstSeen ?? e.time;
    const findings: Finding[] = [];
    let lastFinding = state.lastFinding;
    const learned = e.time - firstSeen >= r.learnDays * DAY && total >= r.minEvents;
    if (learned && e.tier === 'restricted' && total > 0) {
      const near = hist[(h + 23) % 24]! + hist[h]! + hist[(h + 1) % 24]!;
      const share = near / total;
      const cooled = lastFinding === null || e.time - lastFinding >= r.cooldownHours * HOUR;
      if (share < r.minShare && cooled) {
        const usual = usualHours(hist, total);
        findings.push({
          rule: 'off-hours',
          principalKey: e.principalKey,
          principalName: e.actor.name,
          severity: 'medium',
          time: e.time,
          triggerSeq: e.seq,
          summary: `restricted \`${e.resource}\` ${e.action} at ${String(h).padStart(2, '0')}:00 UTC, outside usual hours (${usual})`,
          evidence: [e.seq],
          measures: { hourUtc: h, share: Math.round(share * 10_000) / 10_000, minShare: r.minShare, usualHoursUtc: usual },
        });
        lastFinding = e.time;
      }
    }
    const nextHist = [...hist];
    nextHist[h] = nextHist[h]! + 1;
    return { state: { hist: nextHist, total: total + 1, firstSeen, decayDay: today, lastFinding }, findings };
  },
};

/** The hours holding 90% of the activity, as `08-17` style ranges (for people). */
function usualHours(hist: number[], total: number): string {
  const order = hist.map((v, h) => [v, h] as const).sort((a, b) => b[0] - a[0]);
  const keep = new Set<number>();
  let acc = 0;
  for (const [v, h] of order) {
    if (acc >= 0.9 * total) break;
    keep.add(h);
    acc += v;
  }
  const ranges: string[] = [];
  for (let h = 0; h < 24; h++) {
    if (!keep.has(h) || keep.has(h - 1)) continue;
    let end = h;
    while (keep.has(end + 1)) end++;
    ranges.push(end === h ? String(h).padStart(2, '0') : `${String(h).padStart(2, '0')}-${String(end).padStart(2, '0')}`);
  }
  return ranges.join(',') + ' UTC';
}
