import { findingAt } from '../finding.js';
import type { Finding } from '../finding.js';
import { nums, numOrNull, obj, num, StateFormatError } from '../window/state-format.js';
import { DAY, HOUR } from './detector.js';
import type { Detector, StepContext } from './detector.js';

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
  step(s, e, ctx: StepContext): Finding[] {
    if (e.actor === null || e.decision !== 'allow' || e.outcome !== 'attempt') return [];
    const r = ctx.rules.offHours;
    const today = Math.floor(e.time / DAY);
    if (s.firstSeen !== null && today > s.decayDay) {
      const f = DAILY_DECAY ** (today - s.decayDay);
      for (let i = 0; i < 24; i++) s.hist[i]! *= f;
      s.total *= f;
    }
    const h = Math.floor(e.time / HOUR) % 24;
    s.firstSeen ??= e.time;
    const findings: Finding[] = [];
    const learned = e.time - s.firstSeen >= r.learnDays * DAY && s.total >= r.minEvents;
    if (learned && e.tier === 'restricted' && s.total > 0) {
      const near = s.hist[(h + 23) % 24]! + s.hist[h]! + s.hist[(h + 1) % 24]!;
      const share = near / s.total;
      const cooled = s.lastFinding === null || e.time - s.lastFinding >= r.cooldownHours * HOUR;
      if (share < r.minShare && cooled) {
        const usual = usualHours(s.hist, s.total);
        const summary = `restricted \`${e.resource}\` ${e.action} at ${String(h).padStart(2, '0')}:00 UTC, outside usual hours (${usual})`;
        findings.push(findingAt(e, 'off-hours', 'medium', summary, [e.seq], { hourUtc: h, share: Math.round(share * 10_000) / 10_000, minShare: r.minShare, usualHoursUtc: usual }));
        s.lastFinding = e.time;
      }
    }
    s.hist[h]! += 1;
    s.total += 1;
    // INVARIANT: decayDay never moves back (a record stamped on an earlier day decays nothing)
    s.decayDay = Math.max(s.decayDay, today);
    return findings;
  },
  clearWindows(s) {
    s.lastFinding = null;
  },
  encode: (s) => ({ hist: s.hist, total: s.total, firstSeen: s.firstSeen, decayDay: s.decayDay, lastFinding: s.lastFinding }),
  decode(json) {
    const o = obj(json, 'offHours');
    const hist = nums(o.hist, 'offHours.hist');
    if (hist.length !== 24) throw new StateFormatError('offHours.hist does not have 24 hours');
    return { hist, total: num(o.total, 'offHours.total'), firstSeen: numOrNull(o.firstSeen, 'offHours.firstSeen'), decayDay: num(o.decayDay, 'offHours.decayDay'), lastFinding: numOrNull(o.lastFinding, 'offHours.lastFinding') };
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
