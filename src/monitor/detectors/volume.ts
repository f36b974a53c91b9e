import { TIERS } from '../../domain/types.js';
import type { Tier } from '../../domain/types.js';
import { EMPTY_EWMA, ewmaAdd, ewmaThreshold } from '../ewma.js';
import type { Ewma } from '../ewma.js';
import { evidenceOf } from '../finding.js';
import type { Finding } from '../finding.js';
import { artifactKey } from '../monitor-event.js';
import type { MonitorRules } from '../rules.js';
import { HOUR, MINUTE, formatBytes } from './detector.js';
import type { Detector, StepResult } from './detector.js';
import { spreadOf } from './slow-and-low.js';

/** One download in the window: an attempt (bytes 0, counts the artifact) or a completion (bytes sent). */
export interface VolumeEntry {
  t: number;
  seq: number;
  bytes: number;
  tier: Tier | null;
  art: string;
}

/** State of the volume detector for one principal. */
export interface VolumeState {
  window: VolumeEntry[];
  /** The clock hour being accumulated for the baseline: bytes per artifact. */
  bucket: { start: number; perArt: Record<string, number> } | null;
  /** Baseline of spread bytes (all but the largest artifact's) per active hour. */
  bytes: Ewma;
  /** Baseline of distinct artifacts per active hour. */
  arts: Ewma;
  lastFinding: number | null;
}

/**
 * Volume: bytes and distinct artifacts downloaded by a principal within a sliding
 * window, against absolute caps per tier (from the first download) and against the
 * principal's own baseline of active hours (an EWMA of mean and deviation, used once
 * it has enough samples). The baseline counts *spread bytes*, everything but the
 * artifact that took most, so one large dataset is never "bulk"; bulk is many. Hours
 * that crossed the threshold enter the baseline only up to the threshold, so an attack
 * does not teach the detector that it is normal.
 */
export const volumeDetector: Detector<VolumeState> = {
  rule: 'volume',
  initial: () => ({ window: [], bucket: null, bytes: EMPTY_EWMA, arts: EMPTY_EWMA, lastFinding: null }),
  step(state, e, rules): StepResult<VolumeState> {
    const art = e.target === null ? null : artifactKey(e.target);
    if (e.action !== 'download' || e.decision !== 'allow' || art === null) return { state, findings: [] };
    const r = rules.volume;
    const bytes = e.outcome === 'success' || e.outcome === 'failure' ? Math.max(0, e.bytes ?? 0) : 0;
    let { bucket, bytes: bytesBase, arts: artsBase } = state;

    const hour = Math.floor(e.time / HOUR) * HOUR;
    if (bucket !== null && bucket.start !== hour) {
      const count = Object.keys(bucket.perArt).length;
      if (count > 0) {
        const th = baselineThresholds({ bytes: bytesBase, arts: artsBase }, rules);
        bytesBase = ewmaAdd(bytesBase, Math.min(spreadOf(Object.values(bucket.perArt)), th.bytes), r.alpha);
        artsBase = ewmaAdd(artsBase, Math.min(count, th.distinct), r.alpha);
      }
      bucket = null;
    }
    bucket ??= { start: hour, perArt: {} };
    bucket = { start: bucket.start, perArt: { ...bucket.perArt, [art]: (bucket.perArt[art] ?? 0) + bytes } };

    const since = e.time - r.windowMinutes * MINUTE;
    const window = [...state.window.filter((w) => w.t > since), { t: e.time, seq: e.seq, bytes, tier: e.tier, art }];
    const next: VolumeState = { window, bucket, bytes: bytesBase, arts: artsBase, lastFinding: state.lastFinding };

    const byArt = new Map<string, number>();
    for (const w of window) byArt.set(w.art, (byArt.get(w.art) ?? 0) + w.bytes);
    const total = window.reduce((s, w) => s + w.bytes, 0);
    const spread = spreadOf([...byArt.values()]);
    const distinct = byArt.size;
    const reasons: string[] = [];
    const measures: Record<string, number | string> = { windowMinutes: r.windowMinutes, bytes: total, distinctArtifacts: distinct };
    let critical = false;
    for (const tier of TIERS) {
      const cap = r.tierCapsBytes[tier];
      if (cap <= 0) continue;
      const inTier = window.reduce((s, w) => s + (w.tier === tier ? w.bytes : 0), 0);
      if (inTier > cap) {
        reasons.push(`${formatBytes(inTier)} of ${tier} data > cap ${formatBytes(cap)}`);
        measures[`${tier}Bytes`] = inTier;
        measures[`${tier}CapBytes`] = cap;
        critical = true;
      }
    }
    if (r.maxDistinctArtifacts > 0 && distinct > r.maxDistinctArtifacts) {
      reasons.push(`${distinct} distinct artifacts > cap ${r.maxDistinctArtifacts}`);
      measures.maxDistinctArtifacts = r.maxDistinctArtifacts;
      critical = true;
    }
    if (bytesBase.n >= r.baselineMinSamples) {
      const { bytes: thB, distinct: thA } = baselineThresholds({ bytes: bytesBase, arts: artsBase }, rules);
      measures.baselineBytes = Math.round(bytesBase.mean);
      measures.thresholdBytes = Math.round(thB);
      measures.thresholdDistinct = Math.round(thA * 10) / 10;
      measures.spreadBytes = spread;
      if (spread > thB) reasons.push(`${formatBytes(spread)} spread over ${distinct} artifacts > usual ${formatBytes(thB)}`);
      if (distinct > thA) reasons.push(`${distinct} distinct artifacts > usual ${thA.toFixed(1)}`);
    }
    if (reasons.length === 0 || (state.lastFinding !== null && e.time - state.lastFinding < r.cooldownMinutes * MINUTE)) {
      return { state: next, findings: [] };
    }
    const finding: Finding = {
      rule: 'volume',
      principalKey: e.principalKey,
      principalName: e.actor?.name ?? null,
      severity: critical ? 'critical' : 'high',
      time: e.time,
      triggerSeq: e.seq,
      summary: `bulk download: ${reasons.join('; ')} within ${r.windowMinutes} min`,
      evidence: evidenceOf(window.map((w) => w.seq)),
      measures,
    };
    return { state: { ...next, lastFinding: e.time }, findings: [finding] };
  },
};

/**
 * The principal's own thresholds for one window: bytes and distinct artifacts above
 * which its downloads are unusual; Infinity while its baseline has too few samples.
 */
export function baselineThresholds(s: Pick<VolumeState, 'bytes' | 'arts'>, rules: MonitorRules): { bytes: number; distinct: number } {
  const r = rules.volume;
  if (s.bytes.n < r.baselineMinSamples) return { bytes: Infinity, distinct: Infinity };
  return {
    bytes: ewmaThreshold(s.bytes, r.baselineFactor, r.baselineDeviations, r.baselineMinBytes),
    distinct: ewmaThreshold(s.arts, r.baselineFactor, r.baselineDeviations, r.baselineMinDistinct),
  };
}
