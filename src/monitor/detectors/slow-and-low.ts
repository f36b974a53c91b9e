import { TIERS } from '../../domain/types.js';
import { datasetOf } from '../dataset.js';
import { EMPTY_EWMA, decodeEwma, encodeEwma, ewmaAdd, ewmaThreshold } from '../ewma.js';
import type { Ewma } from '../ewma.js';
import { findingAt } from '../finding.js';
import type { Finding } from '../finding.js';
import type { MonitorEvent } from '../monitor-event.js';
import type { MonitorRules } from '../rules.js';
import { KeyedSlotSums } from '../window/keyed-slot-sums.js';
import { RecentKeys } from '../window/recent-keys.js';
import { SlotSums } from '../window/slot-sums.js';
import { arr, num, numOrNull, obj, str, StateFormatError } from '../window/state-format.js';
import { DAY, HOUR, formatBytes } from './detector.js';
import type { Detector, StepContext } from './detector.js';
import { tierIndex } from './volume.js';

/** One personal day being accumulated: bytes per dataset and novel datasets. */
export interface DayTotals {
  i: number;
  /** Bytes per dataset (at most MAX_DAY_DATASETS; bytes of datasets beyond go to `overflow`). */
  perDataset: Map<string, number>;
  overflow: number;
  novel: number;
}

/** State of the slow-and-low detector for one principal. */
export interface SlowAndLowState {
  /**
   * Start of the principal's personal days: two hours before the hour of its first
   * download, so a working day (in any time zone) falls within one personal day.
   */
  anchor: number | null;
  /** Bytes per tier (TIERS order, then unknown) per clock hour of the last 24. */
  tiers: SlotSums;
  /** Bytes per dataset per clock hour of the last 24. */
  datasets: KeyedSlotSums;
  /** Datasets downloaded within the novelty horizon, with their last download, least recently downloaded first (at most MAX_SEEN). */
  seen: RecentKeys;
  /** The datasets of `seen` that became known within the last 24 clock hours, with that hour, in the order they became known. */
  fresh: Map<string, number>;
  day: DayTotals | null;
  /** Spread bytes of the last closed personal days: [day index, bytes]. */
  pastDays: Array<[number, number]>;
  week: { i: number; bytes: number } | null;
  /** Baselines per active personal day (spread bytes, novel datasets, distinct datasets) and per active week (spread bytes). */
  daily: Ewma;
  novelBase: Ewma;
  distinct: Ewma;
  weekly: Ewma;
  lastFinding: number | null;
}

const WEEK = 7 * DAY;
/** Datasets tracked over the rolling 24 hours (above the daily distinct floors). */
export const DAY_DATASETS = 128;
/** Datasets tracked in the personal day being learned. */
export const MAX_DAY_DATASETS = 256;
/** Datasets remembered for novelty (the least recently downloaded are forgotten first). */
export const MAX_SEEN = 2000;

/**
 * Slow-and-low: cumulative budgets, so many small downloads that stay under every
 * short-window threshold still add up to an alert.
 *
 * - Absolute daily caps per tier over a rolling 24 hours (the current clock hour and
 *   the 23 before it), from the first download.
 * - Against the principal's own baselines (EWMA of its active personal days and
 *   weeks): bytes over a rolling 24 hours and 7 days, counted as *spread bytes*
 *   (everything but the dataset it took most of), so one large dataset pulled once is
 *   not mistaken for many pieces; distinct datasets; and novel datasets (not
 *   downloaded by the principal within `noveltyDays`): people mostly pull their working
 *   set again, someone taking data pulls what they never needed before. Datasets, not
 *   keys (dataset.ts): a DVC pull is one dataset, novel once.
 *
 * O(1) amortized per record: hour slots, per-dataset hour slots, the novelty memory as
 * a map in order of last download (expired and evicted from its front), and the
 * datasets new within the day as a map in order of their first download.
 */
export const slowAndLowDetector: Detector<SlowAndLowState> = {
  rule: 'slow-and-low',
  initial: () => ({
    anchor: null,
    tiers: new SlotSums(TIERS.length + 1),
    datasets: new KeyedSlotSums(DAY_DATASETS),
    seen: new RecentKeys(MAX_SEEN),
    fresh: new Map(),
    day: null,
    pastDays: [],
    week: null,
    daily: EMPTY_EWMA,
    novelBase: EMPTY_EWMA,
    distinct: EMPTY_EWMA,
    weekly: EMPTY_EWMA,
    lastFinding: null,
  }),

  step(s, e, ctx: StepContext): Finding[] {
    const ds = datasetOf(e);
    if (e.action !== 'download' || e.decision !== 'allow' || ds === null) return [];
    const { rules, now } = ctx;
    const r = rules.slowAndLow;
    const bytes = e.outcome === 'success' || e.outcome === 'failure' ? Math.max(0, e.bytes ?? 0) : 0;
    s.anchor ??= Math.floor(now / HOUR) * HOUR - 2 * HOUR;
    const hour = Math.floor(now / HOUR);
    const minHour = hour - 23;

    // novelty: forget what was last downloaded beyond the horizon, then look this dataset up
    for (const [k, h] of s.fresh) {
      if (h >= minHour) break;
      s.fresh.delete(k);
    }
    s.seen.expire(now - r.noveltyDays * DAY + 1, (k) => s.fresh.delete(k));
    const novelDataset = s.seen.lastSeen(ds) === undefined;
    const dropped = s.seen.touch(ds, now);
    if (dropped !== undefined) s.fresh.delete(dropped);
    if (novelDataset) s.fresh.set(ds, hour);

    const dayIndex = Math.floor((now - s.anchor) / DAY);
    const weekIndex = Math.floor((now - s.anchor) / WEEK);
    if (s.day !== null && s.day.i !== dayIndex) closeDay(s, s.day, dayIndex, rules);
    if (s.week !== null && s.week.i !== weekIndex) {
      learnWeek(s, s.week.bytes, rules);
      s.week = null;
    }
    s.week ??= { i: weekIndex, bytes: 0 };
    s.day ??= { i: dayIndex, perDataset: new Map(), overflow: 0, novel: 0 };
    if (s.day.perDataset.has(ds) || s.day.perDataset.size < MAX_DAY_DATASETS) s.day.perDataset.set(ds, (s.day.perDataset.get(ds) ?? 0) + bytes);
    else s.day.overflow += bytes;
    if (novelDataset) s.day.novel++;

    s.tiers.expire(minHour);
    s.datasets.expire(minHour);
    s.tiers.add(hour, tierIndex(e.tier), bytes);
    s.datasets.add(ds, hour, bytes);

    const daySpread = s.tiers.sum() - s.datasets.max();
    let weekSpread = daySpread;
    for (const [i, v] of s.pastDays) if (i > dayIndex - 7 && i < dayIndex) weekSpread += v;
    const { reasons, measures } = judgeDay(s, { tierBytes: (i) => s.tiers.total(i), spread: daySpread, weekSpread, distinct: s.datasets.size, novel: s.fresh.size }, rules);
    if (reasons.length === 0 || (s.lastFinding !== null && now - s.lastFinding < r.cooldownHours * HOUR)) return [];
    s.lastFinding = now;
    return [slowAndLowFinding(e, reasons, measures, ctx.downloads.since(minHour * HOUR))];
  },

  clearWindows(s) {
    s.tiers.clear();
    s.datasets.clear();
    s.lastFinding = null;
  },

  encode(s) {
    const d = s.day;
    return {
      anchor: s.anchor,
      tiers: s.tiers.encode(),
      datasets: s.datasets.encode(),
      seen: s.seen.encode(),
      fresh: [...s.fresh],
      day: d === null ? null : [d.i, d.overflow, d.novel, [...d.perDataset]],
      pastDays: s.pastDays,
      week: s.week === null ? null : [s.week.i, s.week.bytes],
      daily: encodeEwma(s.daily),
      novelBase: encodeEwma(s.novelBase),
      distinct: encodeEwma(s.distinct),
      weekly: encodeEwma(s.weekly),
      lastFinding: s.lastFinding,
    };
  },

  decode(json) {
    const o = obj(json, 'slowAndLow');
    const s = slowAndLowDetector.initial();
    s.anchor = numOrNull(o.anchor, 'slowAndLow.anchor');
    s.tiers = SlotSums.decode(o.tiers, TIERS.length + 1, 'slowAndLow.tiers');
    s.datasets = KeyedSlotSums.decode(o.datasets, DAY_DATASETS, 'slowAndLow.datasets');
    s.seen = RecentKeys.decode(o.seen, MAX_SEEN, 'slowAndLow.seen');
    for (const row of arr(o.fresh, 'slowAndLow.fresh')) {
      const [k, h] = arr(row, 'slowAndLow.fresh');
      const key = str(k, 'slowAndLow.fresh');
      if (s.seen.lastSeen(key) === undefined) throw new StateFormatError('slowAndLow.fresh names a dataset not seen');
      s.fresh.set(key, num(h, 'slowAndLow.fresh'));
    }
    if (o.day !== null) {
      const [i, overflow, novel, perDataset] = arr(o.day, 'slowAndLow.day');
      s.day = { i: num(i, 'slowAndLow.day'), overflow: num(overflow, 'slowAndLow.day'), novel: num(novel, 'slowAndLow.day'), perDataset: new Map() };
      for (const row of arr(perDataset, 'slowAndLow.day')) {
        const [k, v] = arr(row, 'slowAndLow.day');
        s.day.perDataset.set(str(k, 'slowAndLow.day'), num(v, 'slowAndLow.day'));
      }
      if (s.day.perDataset.size > MAX_DAY_DATASETS) throw new StateFormatError('slowAndLow.day holds too many datasets');
    }
    s.pastDays = arr(o.pastDays, 'slowAndLow.pastDays').map((row) => {
      const [i, v] = arr(row, 'slowAndLow.pastDays');
      return [num(i, 'slowAndLow.pastDays'), num(v, 'slowAndLow.pastDays')];
    });
    if (s.pastDays.length > 8) throw new StateFormatError('slowAndLow.pastDays is too long');
    if (o.week !== null) {
      const [i, b] = arr(o.week, 'slowAndLow.week');
      s.week = { i: num(i, 'slowAndLow.week'), bytes: num(b, 'slowAndLow.week') };
    }
    s.daily = decodeEwma(o.daily, 'slowAndLow.daily');
    s.novelBase = decodeEwma(o.novelBase, 'slowAndLow.novelBase');
    s.distinct = decodeEwma(o.distinct, 'slowAndLow.distinct');
    s.weekly = decodeEwma(o.weekly, 'slowAndLow.weekly');
    s.lastFinding = numOrNull(o.lastFinding, 'slowAndLow.lastFinding');
    return s;
  },
};

/** Closes a personal day: its sample goes to the daily baselines, its spread to the week and the last days. */
function closeDay(s: SlowAndLowState, day: DayTotals, dayIndex: number, rules: MonitorRules): void {
  let total = day.overflow;
  let max = 0;
  for (const v of day.perDataset.values()) {
    total += v;
    if (v > max) max = v;
  }
  const spread = total - max;
  learnDay(s, { datasets: day.perDataset.size, spread, novel: day.novel }, rules);
  s.pastDays = [...s.pastDays.filter(([i]) => i > dayIndex - 7), [day.i, spread]];
  const closedWeek = Math.floor((day.i * DAY) / WEEK);
  if (s.week !== null && s.week.i === closedWeek) s.week = { i: s.week.i, bytes: s.week.bytes + spread };
  s.day = null;
}

/** What the slow-and-low detector learned of a principal: its baselines. */
export type SlowAndLowBaselines = Pick<SlowAndLowState, 'daily' | 'novelBase' | 'distinct' | 'weekly'>;

/** Adds a closed personal day to the daily baselines (each sample capped at the threshold it was judged against); a day without downloads teaches nothing. */
export function learnDay(s: SlowAndLowBaselines, day: { datasets: number; spread: number; novel: number }, rules: MonitorRules): void {
  if (day.datasets === 0) return;
  const r = rules.slowAndLow;
  const th = dailyThresholds(s, rules);
  s.daily = ewmaAdd(s.daily, Math.min(day.spread, th.bytes), r.alpha);
  s.novelBase = ewmaAdd(s.novelBase, Math.min(day.novel, th.novel), r.alpha);
  s.distinct = ewmaAdd(s.distinct, Math.min(day.datasets, th.distinct), r.alpha);
}

/** Adds a closed week's spread bytes to the weekly baseline (capped at its threshold once learned); a week without bytes teaches nothing. */
export function learnWeek(s: SlowAndLowBaselines, bytes: number, rules: MonitorRules): void {
  if (bytes <= 0) return;
  const r = rules.slowAndLow;
  const learned = s.weekly.n >= r.baselineMinWeeks;
  s.weekly = ewmaAdd(s.weekly, Math.min(bytes, learned ? weeklyThreshold(s.weekly, rules) : Infinity), r.alpha);
}

/** What the slow-and-low rule measures over the rolling day, however it was counted. */
export interface DayWindow {
  /** Bytes of one tier counter (TIERS order, then unknown) in the last 24 clock hours. */
  tierBytes: (i: number) => number;
  spread: number;
  weekSpread: number;
  distinct: number;
  novel: number;
}

/** The slow-and-low rule's verdict on the rolling day: why it crosses (empty: it does not) and what was measured. */
export function judgeDay(s: SlowAndLowBaselines, w: DayWindow, rules: MonitorRules): { reasons: string[]; measures: Record<string, number | string> } {
  const r = rules.slowAndLow;
  const reasons: string[] = [];
  const measures: Record<string, number | string> = { daySpreadBytes: w.spread, weekSpreadBytes: w.weekSpread, dayDistinctDatasets: w.distinct, dayNovelDatasets: w.novel };
  TIERS.forEach((tier, i) => {
    const cap = r.dayTierCapsBytes[tier];
    const inTier = w.tierBytes(i);
    if (cap > 0 && inTier > cap) {
      reasons.push(`${formatBytes(inTier)} of ${tier} data in 24 h > cap ${formatBytes(cap)}`);
      measures[`${tier}DayBytes`] = inTier;
      measures[`${tier}DayCapBytes`] = cap;
    }
  });
  if (s.daily.n >= r.baselineMinDays) {
    const th = dailyThresholds(s, rules);
    measures.dailyBaselineBytes = Math.round(s.daily.mean);
    measures.dailyThresholdBytes = Math.round(th.bytes);
    measures.dailyThresholdNovel = Math.round(th.novel * 10) / 10;
    measures.dailyThresholdDistinct = Math.round(th.distinct * 10) / 10;
    if (w.spread > th.bytes) reasons.push(`${formatBytes(w.spread)} spread over ${w.distinct} datasets in 24 h > daily budget ${formatBytes(th.bytes)}`);
    if (w.novel > th.novel) reasons.push(`${w.novel} datasets new to this principal in 24 h > usual ${th.novel.toFixed(1)}`);
    if (w.distinct > th.distinct) reasons.push(`${w.distinct} distinct datasets in 24 h > usual ${th.distinct.toFixed(1)}`);
  }
  if (s.weekly.n >= r.baselineMinWeeks) {
    const thW = weeklyThreshold(s.weekly, rules);
    measures.weeklyThresholdBytes = Math.round(thW);
    if (w.weekSpread > thW) reasons.push(`${formatBytes(w.weekSpread)} spread in 7 days > weekly budget ${formatBytes(thW)}`);
  }
  return { reasons, measures };
}

/** A slow-and-low finding at record `e`. */
export function slowAndLowFinding(e: MonitorEvent, reasons: string[], measures: Record<string, number | string>, evidence: number[]): Finding {
  return findingAt(e, 'slow-and-low', 'high', `cumulative downloads over budget: ${reasons.join('; ')}`, evidence, measures);
}

/** Bytes of every dataset but the largest one: what many pieces add up to. */
export function spreadOf(perDataset: Iterable<number>): number {
  let total = 0;
  let max = 0;
  for (const v of perDataset) {
    total += v;
    if (v > max) max = v;
  }
  return total - max;
}

/** The principal's daily budgets (Infinity while fewer than `baselineMinDays` active days are known). */
export function dailyThresholds(s: Pick<SlowAndLowBaselines, 'daily' | 'novelBase' | 'distinct'>, rules: MonitorRules): { bytes: number; novel: number; distinct: number } {
  const r = rules.slowAndLow;
  if (s.daily.n < r.baselineMinDays) return { bytes: Infinity, novel: Infinity, distinct: Infinity };
  return {
    bytes: ewmaThreshold(s.daily, r.dailyFactor, r.dailyDeviations, r.dailyMinBytes),
    novel: ewmaThreshold(s.novelBase, r.novelFactor, r.novelDeviations, r.novelMinDatasets),
    distinct: ewmaThreshold(s.distinct, r.distinctFactor, r.distinctDeviations, r.dailyMinDistinct),
  };
}

function weeklyThreshold(e: Ewma, rules: MonitorRules): number {
  const r = rules.slowAndLow;
  return ewmaThreshold(e, r.weeklyFactor, r.weeklyDeviations, r.weeklyMinBytes);
}
