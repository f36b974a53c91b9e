import { TIERS } from '../../domain/types.js';
import type { Tier } from '../../domain/types.js';
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
import { HOUR, MINUTE, formatBytes } from './detector.js';
import type { Detector, StepContext } from './detector.js';

/** Datasets tracked per principal in the window and in the hour being learned (above every distinct cap and floor). */
export const VOLUME_DATASETS = 64;
/** Projects tracked per principal in the window and in the hour being learned. */
export const VOLUME_PROJECTS = 32;
/** Counter of bytes of unknown tier, after the TIERS. */
export const UNKNOWN_TIER = TIERS.length;
const RESTRICTED = TIERS.indexOf('restricted');

/** The clock hour being accumulated for the baselines. */
export interface VolumeHour {
  /** Hour index (epoch ms / 1 h). */
  start: number;
  /** Bytes per dataset (at most VOLUME_DATASETS; bytes of datasets beyond go to `overflow`). */
  perDataset: Map<string, number>;
  overflow: number;
  /** Projects used (at most VOLUME_PROJECTS). */
  projects: Set<string>;
  restrictedBytes: number;
}

/** What the volume detector learned of a principal: its baselines. */
export type VolumeBaselines = Pick<VolumeState, 'bytes' | 'arts' | 'projs' | 'restricted'>;

/** State of the volume detector for one principal. */
export interface VolumeState {
  /** Bytes per tier (TIERS order, then unknown) per minute of the window. */
  tiers: SlotSums;
  /** Bytes per dataset per minute of the window. */
  datasets: KeyedSlotSums;
  /** Projects used in the window. */
  projects: RecentKeys;
  hour: VolumeHour | null;
  /** Baselines per active hour: spread bytes (all but the largest dataset's), distinct datasets, distinct projects. */
  bytes: Ewma;
  arts: Ewma;
  projs: Ewma;
  /** Baseline of restricted bytes per hour with restricted downloads. */
  restricted: Ewma;
  lastFinding: number | null;
}

/** Index of a tier among the counters. */
export function tierIndex(tier: Tier | null): number {
  return tier === null ? UNKNOWN_TIER : TIERS.indexOf(tier);
}

/**
 * Volume: what a principal downloads within a sliding window (the current minute and
 * the `windowMinutes - 1` before it), judged in *datasets* and *projects*, never in
 * keys (see dataset.ts: `dvc pull` of 2,000 keys of one cache is one dataset):
 *
 * - absolute caps: bytes of each tier, distinct datasets, distinct projects;
 * - restricted bytes against the principal's own history of restricted bytes per hour
 *   (from the first download: with no history, `restrictedMinBytes` is the budget);
 *   restricted data is reached only through artifact or version grants, so this is
 *   the draining of granted datasets far beyond what the reader ever took;
 * - against the principal's own baseline of active hours (once it has
 *   `baselineMinSamples` of them): *spread bytes* (everything but the largest dataset,
 *   so one large dataset is never "bulk"; bulk is many), distinct datasets, distinct
 *   projects.
 *
 * Hours that crossed a threshold enter the baselines only up to it, so an attack does
 * not teach the detector that it is normal. Every sum is kept per minute slot and per
 * dataset (O(1) amortized per record, see window/); the state is bounded by
 * VOLUME_DATASETS x window minutes whatever the traffic.
 */
export const volumeDetector: Detector<VolumeState> = {
  rule: 'volume',
  initial: () => ({
    tiers: new SlotSums(TIERS.length + 1),
    datasets: new KeyedSlotSums(VOLUME_DATASETS),
    projects: new RecentKeys(VOLUME_PROJECTS),
    hour: null,
    bytes: EMPTY_EWMA,
    arts: EMPTY_EWMA,
    projs: EMPTY_EWMA,
    restricted: EMPTY_EWMA,
    lastFinding: null,
  }),

  step(s, e, ctx: StepContext): Finding[] {
    const ds = datasetOf(e);
    if (e.action !== 'download' || e.decision !== 'allow' || ds === null) return [];
    const { rules, now } = ctx;
    const r = rules.volume;
    const bytes = e.outcome === 'success' || e.outcome === 'failure' ? Math.max(0, e.bytes ?? 0) : 0;
    const project = e.target!.project;
    const restricted = e.tier === 'restricted';

    const hour = Math.floor(now / HOUR);
    if (s.hour !== null && s.hour.start !== hour) {
      closeHour(s, s.hour, rules);
      s.hour = null;
    }
    s.hour ??= { start: hour, perDataset: new Map(), overflow: 0, projects: new Set(), restrictedBytes: 0 };
    const h = s.hour;
    if (h.perDataset.has(ds) || h.perDataset.size < VOLUME_DATASETS) h.perDataset.set(ds, (h.perDataset.get(ds) ?? 0) + bytes);
    else h.overflow += bytes;
    if (h.projects.size < VOLUME_PROJECTS) h.projects.add(project);
    if (restricted) h.restrictedBytes += bytes;

    const slot = Math.floor(now / MINUTE);
    const minSlot = slot - r.windowMinutes + 1;
    s.tiers.expire(minSlot);
    s.datasets.expire(minSlot);
    s.projects.expire(minSlot);
    s.tiers.add(slot, tierIndex(e.tier), bytes);
    s.datasets.add(ds, slot, bytes);
    s.projects.touch(project, slot);

    const { reasons, measures, critical } = judgeVolume(s, { tierBytes: (i) => s.tiers.total(i), total: s.tiers.sum(), distinct: s.datasets.size, projects: s.projects.size, largest: () => s.datasets.max() }, rules);
    if (reasons.length === 0 || (s.lastFinding !== null && now - s.lastFinding < r.cooldownMinutes * MINUTE)) return [];
    s.lastFinding = now;
    return [volumeFinding(e, reasons, measures, critical, ctx.downloads.since(minSlot * MINUTE), r.windowMinutes)];
  },

  clearWindows(s) {
    s.tiers.clear();
    s.datasets.clear();
    s.projects.clear();
    s.lastFinding = null;
  },

  encode(s) {
    const h = s.hour;
    return {
      tiers: s.tiers.encode(),
      datasets: s.datasets.encode(),
      projects: s.projects.encode(),
      hour: h === null ? null : [h.start, h.overflow, h.restrictedBytes, [...h.perDataset], [...h.projects]],
      bytes: encodeEwma(s.bytes),
      arts: encodeEwma(s.arts),
      projs: encodeEwma(s.projs),
      restricted: encodeEwma(s.restricted),
      lastFinding: s.lastFinding,
    };
  },

  decode(json) {
    const o = obj(json, 'volume');
    return {
      tiers: SlotSums.decode(o.tiers, TIERS.length + 1, 'volume.tiers'),
      datasets: KeyedSlotSums.decode(o.datasets, VOLUME_DATASETS, 'volume.datasets'),
      projects: RecentKeys.decode(o.projects, VOLUME_PROJECTS, 'volume.projects'),
      hour: o.hour === null ? null : decodeHour(o.hour),
      bytes: decodeEwma(o.bytes, 'volume.bytes'),
      arts: decodeEwma(o.arts, 'volume.arts'),
      projs: decodeEwma(o.projs, 'volume.projs'),
      restricted: decodeEwma(o.restricted, 'volume.restricted'),
      lastFinding: numOrNull(o.lastFinding, 'volume.lastFinding'),
    };
  },
};

function decodeHour(json: unknown): VolumeHour {
  const [start, overflow, restrictedBytes, perDataset, projects] = arr(json, 'volume.hour');
  const h: VolumeHour = { start: num(start, 'volume.hour'), overflow: num(overflow, 'volume.hour'), restrictedBytes: num(restrictedBytes, 'volume.hour'), perDataset: new Map(), projects: new Set() };
  for (const row of arr(perDataset, 'volume.hour.perDataset')) {
    const pair = arr(row, 'volume.hour.perDataset');
    if (pair.length !== 2) throw new StateFormatError('volume.hour.perDataset is not a list of pairs');
    h.perDataset.set(str(pair[0], 'volume.hour.perDataset'), num(pair[1], 'volume.hour.perDataset'));
  }
  for (const p of arr(projects, 'volume.hour.projects')) h.projects.add(str(p, 'volume.hour.projects'));
  if (h.perDataset.size > VOLUME_DATASETS || h.projects.size > VOLUME_PROJECTS) throw new StateFormatError('volume.hour holds too many keys');
  return h;
}

/** Adds a closed active hour to the baselines. */
function closeHour(s: VolumeState, h: VolumeHour, rules: MonitorRules): void {
  let total = h.overflow;
  let max = 0;
  for (const v of h.perDataset.values()) {
    total += v;
    if (v > max) max = v;
  }
  learnHour(s, { datasets: h.perDataset.size, spread: total - max, projects: h.projects.size, restrictedBytes: h.restrictedBytes }, rules);
}

/** What one closed clock hour of a principal's downloads teaches the baselines. */
export interface HourSample {
  /** Distinct datasets (0: no download in the hour, nothing to learn but restricted bytes). */
  datasets: number;
  spread: number;
  projects: number;
  restrictedBytes: number;
}

/** Adds a closed hour to the baselines, each sample capped at the threshold it was judged against (an attack does not teach that it is normal). */
export function learnHour(s: VolumeBaselines, h: HourSample, rules: MonitorRules): void {
  const r = rules.volume;
  if (h.datasets > 0) {
    const th = baselineThresholds(s, rules);
    s.bytes = ewmaAdd(s.bytes, Math.min(h.spread, th.bytes), r.alpha);
    s.arts = ewmaAdd(s.arts, Math.min(h.datasets, th.distinct), r.alpha);
    s.projs = ewmaAdd(s.projs, Math.min(h.projects, th.projects), r.alpha);
  }
  if (h.restrictedBytes > 0) s.restricted = ewmaAdd(s.restricted, Math.min(h.restrictedBytes, restrictedThreshold(s, rules)), r.alpha);
}

/** What the volume rule measures over one window, however it was counted. */
export interface VolumeWindow {
  /** Bytes of one tier counter (TIERS order, then unknown). */
  tierBytes: (i: number) => number;
  total: number;
  distinct: number;
  projects: number;
  /** Bytes of the largest dataset (asked for only when the spread can matter). */
  largest: () => number;
}

/** The volume rule's verdict on one window: why it crosses (empty: it does not), what was measured, and whether an absolute limit was crossed. */
export function judgeVolume(s: VolumeBaselines, w: VolumeWindow, rules: MonitorRules): { reasons: string[]; measures: Record<string, number | string>; critical: boolean } {
  const r = rules.volume;
  const reasons: string[] = [];
  const measures: Record<string, number | string> = { windowMinutes: r.windowMinutes, bytes: w.total, distinctDatasets: w.distinct, distinctProjects: w.projects };
  let critical = false;
  TIERS.forEach((tier, i) => {
    const cap = r.tierCapsBytes[tier];
    const inTier = w.tierBytes(i);
    if (cap > 0 && inTier > cap) {
      reasons.push(`${formatBytes(inTier)} of ${tier} data > cap ${formatBytes(cap)}`);
      measures[`${tier}Bytes`] = inTier;
      measures[`${tier}CapBytes`] = cap;
      critical = true;
    }
  });
  if (r.maxDistinctDatasets > 0 && w.distinct > r.maxDistinctDatasets) {
    reasons.push(`${w.distinct} distinct datasets > cap ${r.maxDistinctDatasets}`);
    measures.maxDistinctDatasets = r.maxDistinctDatasets;
    critical = true;
  }
  if (r.maxDistinctProjects > 0 && w.projects > r.maxDistinctProjects) {
    reasons.push(`${w.projects} distinct projects > cap ${r.maxDistinctProjects}`);
    measures.maxDistinctProjects = r.maxDistinctProjects;
    critical = true;
  }
  const restrictedBytes = w.tierBytes(RESTRICTED);
  const thR = restrictedThreshold(s, rules);
  if (restrictedBytes > thR) {
    reasons.push(`${formatBytes(restrictedBytes)} of restricted data > usual ${formatBytes(thR)}`);
    measures.restrictedBytes = restrictedBytes;
    measures.restrictedThresholdBytes = Math.round(thR);
    critical = true;
  }
  if (s.bytes.n >= r.baselineMinSamples) {
    const th = baselineThresholds(s, rules);
    // spread <= total: the largest dataset is looked up only when the total exceeds the threshold
    const spread = w.total > th.bytes ? w.total - w.largest() : 0;
    if (spread > th.bytes) reasons.push(`${formatBytes(spread)} spread over ${w.distinct} datasets > usual ${formatBytes(th.bytes)}`);
    if (w.distinct > th.distinct) reasons.push(`${w.distinct} distinct datasets > usual ${th.distinct.toFixed(1)}`);
    if (w.projects > th.projects) reasons.push(`${w.projects} distinct projects > usual ${th.projects.toFixed(1)}`);
    measures.baselineBytes = Math.round(s.bytes.mean);
    measures.thresholdBytes = Math.round(th.bytes);
    measures.thresholdDistinct = Math.round(th.distinct * 10) / 10;
    measures.thresholdProjects = Math.round(th.projects * 10) / 10;
    if (reasons.length > 0) measures.spreadBytes = w.total - w.largest();
  }
  return { reasons, measures, critical };
}

/** A volume finding at record `e`. */
export function volumeFinding(e: MonitorEvent, reasons: string[], measures: Record<string, number | string>, critical: boolean, evidence: number[], windowMinutes: number): Finding {
  return findingAt(e, 'volume', critical ? 'critical' : 'high', `bulk download: ${reasons.join('; ')} within ${windowMinutes} min`, evidence, measures);
}

/**
 * The principal's own thresholds for one window: spread bytes, distinct datasets and
 * distinct projects above which its downloads are unusual; Infinity while its baseline
 * has too few samples.
 */
export function baselineThresholds(s: Pick<VolumeBaselines, 'bytes' | 'arts' | 'projs'>, rules: MonitorRules): { bytes: number; distinct: number; projects: number } {
  const r = rules.volume;
  if (s.bytes.n < r.baselineMinSamples) return { bytes: Infinity, distinct: Infinity, projects: Infinity };
  return {
    bytes: ewmaThreshold(s.bytes, r.baselineFactor, r.baselineDeviations, r.baselineMinBytes),
    distinct: ewmaThreshold(s.arts, r.baselineFactor, r.baselineDeviations, r.baselineMinDistinct),
    projects: ewmaThreshold(s.projs, r.baselineFactor, r.baselineDeviations, r.baselineMinProjects),
  };
}

/** Restricted bytes within the window above which the principal drains restricted data beyond its history (Infinity when `restrictedMinBytes` is 0: check off). */
export function restrictedThreshold(s: Pick<VolumeBaselines, 'restricted'>, rules: MonitorRules): number {
  const r = rules.volume;
  if (r.restrictedMinBytes <= 0) return Infinity;
  return ewmaThreshold(s.restricted, r.restrictedFactor, r.restrictedDeviations, r.restrictedMinBytes);
}
