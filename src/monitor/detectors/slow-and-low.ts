import { TIERS } from '../../domain/types.js';
import { EMPTY_EWMA, ewmaAdd, ewmaThreshold } from '../ewma.js';
import type { Ewma } from '../ewma.js';
import { evidenceOf } from '../finding.js';
import type { Finding } from '../finding.js';
import { artifactKey } from '../monitor-event.js';
import type { MonitorRules } from '../rules.js';
import { DAY, HOUR, formatBytes } from './detector.js';
import type { Detector, StepResult } from './detector.js';

/** One clock hour: bytes by tier (TIERS order, then unknown tier). */
export interface HourBucket {
  h: number;
  b: number[];
}

/** A download of the last 24 hours: [time, seq, artifact, bytes]. */
export type RecentDownload = [number, number, string, number];

/** One personal day being accumulated: bytes per artifact and novel artifacts. */
export interface DayTotals {
  i: number;
  perArt: Record<string, number>;
  novel: number;
}

/** State of the slow-and-low detector for one principal. */
export interface SlowAndLowState {
  /**
   * Start of the principal's personal days: two hours before the hour of its first
   * download, so a working day (in any time zone) falls within one personal day.
   */
  anchor: number | null;
  /** The last 24 hours by clock hour (absolute caps per tier). */
  hours: HourBucket[];
  /** Downloads of the last 24 hours, newest last, at most {@link MAX_RECENT}. */
  recent: RecentDownload[];
  /** Artifacts downloaded within the novelty horizon: [first, last] download time (first = when it became known). */
  seen: Record<string, [number, number]>;
  day: DayTotals | null;
  /** Spread bytes of the last closed personal days: [day index, bytes]. */
  pastDays: Array<[number, number]>;
  week: { i: number; bytes: number } | null;
  /** Baselines per active personal day (spread bytes, novel artifacts, distinct artifacts) and per active week (spread bytes). */
  daily: Ewma;
  novel: Ewma;
  distinct: Ewma;
  weekly: Ewma;
  lastFinding: number | null;
}

const WEEK = 7 * DAY;
const MAX_RECENT = 400;
const MAX_DAY_ARTS = 2000;
const MAX_SEEN = 2000;
const UNKNOWN_TIER = TIERS.length;

/**
 * Slow-and-low: cumulative budgets, so many small downloads that stay under every
 * short-window threshold still add up to an alert.
 *
 * - Absolute daily caps per tier over a rolling 24 hours, from the first download.
 * - Against the principal's own baselines (EWMA of its active personal days and
 *   weeks): bytes over a rolling 24 hours and 7 days, counted as *spread bytes*
 *   (everything but the artifact it took most of), so one large dataset pulled once
 *   is not mistaken for many pieces; distinct artifacts; and novel artifacts (not
 *   downloaded by the principal within `noveltyDays`): people mostly pull their working
 *   set again, someone taking data pulls what they never needed before.
 */
export const slowAndLowDetector: Detector<SlowAndLowState> = {
  rule: 'slow-and-low',
  initial: () => ({
    anchor: null,
    hours: [],
    recent: [],
    seen: {},
    day: null,
    pastDays: [],
    week: null,
    daily: EMPTY_EWMA,
    novel: EMPTY_EWMA,
    distinct: EMPTY_EWMA,
    weekly: EMPTY_EWMA,
    lastFinding: null,
  }),
  step(state, e, rules): StepResult<SlowAndLowState> {
    const art = e.target === null ? null : artifactKey(e.target);
    if (e.action !== 'download' || e.decision !== 'allow' || art === null) return { state, findings: [] };
    const r = rules.slowAndLow;
    const bytes = e.outcome === 'success' || e.outcome === 'failure' ? Math.max(0, e.bytes ?? 0) : 0;
    const anchor = state.anchor ?? Math.floor(e.time / HOUR) * HOUR - 2 * HOUR;
    let { day, week, daily, novel, distinct, weekly, pastDays } = state;

    const prior = state.seen[art];
    const first = prior !== undefined && prior[1] > e.time - r.noveltyDays * DAY ? prior[0] : e.time;
    const novelArt = first === e.time ? 1 : 0;
    const seen = rememberSeen(state.seen, art, first, e.time, e.time - r.noveltyDays * DAY);

    const dayIndex = Math.floor((e.time - anchor) / DAY);
    const weekIndex = Math.floor((e.time - anchor) / WEEK);
    if (day !== null && day.i !== dayIndex) {
      const count = Object.keys(day.perArt).length;
      const spread = spreadOf(Object.values(day.perArt));
      if (count > 0) {
        const th = dailyThresholds({ daily, novel, distinct }, rules);
        daily = ewmaAdd(daily, Math.min(spread, th.bytes), r.alpha);
        novel = ewmaAdd(novel, Math.min(day.novel, th.novel), r.alpha);
        distinct = ewmaAdd(distinct, Math.min(count, th.distinct), r.alpha);
      }
      pastDays = [...pastDays.filter(([i]) => i > dayIndex - 7), [day.i, spread] as [number, number]];
      const closedWeek = Math.floor((day.i * DAY) / WEEK);
      week = week !== null && week.i === closedWeek ? { i: week.i, bytes: week.bytes + spread } : week;
      day = null;
    }
    if (week !== null && week.i !== weekIndex) {
      if (week.bytes > 0) {
        const learned = weekly.n >= r.baselineMinWeeks;
        weekly = ewmaAdd(weekly, Math.min(week.bytes, learned ? weeklyThreshold(weekly, rules) : Infinity), r.alpha);
      }
      week = null;
    }
    week ??= { i: weekIndex, bytes: 0 };
    day ??= { i: dayIndex, perArt: {}, novel: 0 };
    const perArt = art in day.perArt || Object.keys(day.perArt).length < MAX_DAY_ARTS ? { ...day.perArt, [art]: (day.perArt[art] ?? 0) + bytes } : day.perArt;
    day = { i: day.i, perArt, novel: day.novel + novelArt };

    const hour = Math.floor(e.time / HOUR);
    const tierIndex = e.tier === null ? UNKNOWN_TIER : TIERS.indexOf(e.tier);
    const hours = state.hours.filter((hb) => hb.h > hour - 24 && hb.h !== hour);
    const current = state.hours.find((hb) => hb.h === hour);
    const b = current ? [...current.b] : new Array<number>(TIERS.length + 1).fill(0);
    b[tierIndex] = b[tierIndex]! + bytes;
    hours.push({ h: hour, b });

    const recent = [...state.recent.filter(([t]) => t > e.time - DAY), [e.time, e.seq, art, bytes] as RecentDownload].slice(-MAX_RECENT);
    const next: SlowAndLowState = { anchor, hours, recent, seen, day, pastDays, week, daily, novel, distinct, weekly, lastFinding: state.lastFinding };

    const dayByTier = new Array<number>(TIERS.length + 1).fill(0);
    for (const hb of hours) hb.b.forEach((v, i) => (dayByTier[i] = dayByTier[i]! + v));
    const byArt = new Map<string, number>();
    for (const [, , a, n] of recent) byArt.set(a, (byArt.get(a) ?? 0) + n);
    const daySpread = spreadOf([...byArt.values()]);
    const distinctDay = byArt.size;
    const novelDay = Object.values(seen).filter(([f]) => f > e.time - DAY).length;
    const weekSpread = daySpread + pastDays.filter(([i]) => i > dayIndex - 7 && i < dayIndex).reduce((s, [, v]) => s + v, 0);

    const reasons: string[] = [];
    const measures: Record<string, number | string> = { daySpreadBytes: daySpread, weekSpreadBytes: weekSpread, dayDistinctArtifacts: distinctDay, dayNovelArtifacts: novelDay };
    TIERS.forEach((tier, i) => {
      const cap = r.dayTierCapsBytes[tier];
      if (cap > 0 && dayByTier[i]! > cap) {
        reasons.push(`${formatBytes(dayByTier[i]!)} of ${tier} data in 24 h > cap ${formatBytes(cap)}`);
        measures[`${tier}DayBytes`] = dayByTier[i]!;
        measures[`${tier}DayCapBytes`] = cap;
      }
    });
    if (daily.n >= r.baselineMinDays) {
      const th = dailyThresholds({ daily, novel, distinct }, rules);
      measures.dailyBaselineBytes = Math.round(daily.mean);
      measures.dailyThresholdBytes = Math.round(th.bytes);
      measures.dailyThresholdNovel = Math.round(th.novel * 10) / 10;
      measures.dailyThresholdDistinct = Math.round(th.distinct * 10) / 10;
      if (daySpread > th.bytes) reasons.push(`${formatBytes(daySpread)} spread over ${distinctDay} artifacts in 24 h > daily budget ${formatBytes(th.bytes)}`);
      if (novelDay > th.novel) reasons.push(`${novelDay} artifacts new to this principal in 24 h > usual ${th.novel.toFixed(1)}`);
      if (distinctDay > th.distinct) reasons.push(`${distinctDay} distinct artifacts in 24 h > usual ${th.distinct.toFixed(1)}`);
    }
    if (weekly.n >= r.baselineMinWeeks) {
      const thW = weeklyThreshold(weekly, rules);
      measures.weeklyThresholdBytes = Math.round(thW);
      if (weekSpread > thW) reasons.push(`${formatBytes(weekSpread)} spread in 7 days > weekly budget ${formatBytes(thW)}`);
    }
    if (reasons.length === 0 || (state.lastFinding !== null && e.time - state.lastFinding < r.cooldownHours * HOUR)) {
      return { state: next, findings: [] };
    }
    const finding: Finding = {
      rule: 'slow-and-low',
      principalKey: e.principalKey,
      principalName: e.actor?.name ?? null,
      severity: 'high',
      time: e.time,
      triggerSeq: e.seq,
      summary: `cumulative downloads over budget: ${reasons.join('; ')}`,
      evidence: evidenceOf(recent.map(([, seq]) => seq)),
      measures,
    };
    return { state: { ...next, lastFinding: e.time }, findings: [finding] };
  },
};

/** Bytes of every artifact but the largest one: what many pieces add up to. */
export function spreadOf(perArtifact: number[]): number {
  let total = 0;
  let max = 0;
  for (const v of perArtifact) {
    total += v;
    if (v > max) max = v;
  }
  return total - max;
}

/** The principal's daily budgets (Infinity while fewer than `baselineMinDays` active days are known). */
export function dailyThresholds(s: Pick<SlowAndLowState, 'daily' | 'novel' | 'distinct'>, rules: MonitorRules): { bytes: number; novel: number; distinct: number } {
  const r = rules.slowAndLow;
  if (s.daily.n < r.baselineMinDays) return { bytes: Infinity, novel: Infinity, distinct: Infinity };
  return {
    bytes: ewmaThreshold(s.daily, r.dailyFactor, r.dailyDeviations, r.dailyMinBytes),
    novel: ewmaThreshold(s.novel, r.novelFactor, r.novelDeviations, r.novelMinArtifacts),
    distinct: ewmaThreshold(s.distinct, r.distinctFactor, r.distinctDeviations, r.dailyMinDistinct),
  };
}

function weeklyThreshold(e: Ewma, rules: MonitorRules): number {
  const r = rules.slowAndLow;
  return ewmaThreshold(e, r.weeklyFactor, r.weeklyDeviations, r.weeklyMinBytes);
}

function rememberSeen(seen: Record<string, [number, number]>, art: string, first: number, t: number, forgetBefore: number): Record<string, [number, number]> {
  const out: Record<string, [number, number]> = {};
  let n = 0;
  let oldest: string | null = null;
  for (const [k, v] of Object.entries(seen)) {
    if (k === art || v[1] <= forgetBefore) continue;
    out[k] = v;
    n++;
    if (oldest === null || v[1] < out[oldest]![1]) oldest = k;
  }
  // forget the least recently downloaded artifact
  if (n >= MAX_SEEN && oldest !== null) delete out[oldest];
  out[art] = [first, t];
  return out;
}
