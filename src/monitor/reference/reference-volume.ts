import type { Tier } from '../../domain/types.js';
import { datasetOf } from '../dataset.js';
import { HOUR, MINUTE } from '../detectors/detector.js';
import { spreadOf } from '../detectors/slow-and-low.js';
import { judgeVolume, learnHour, tierIndex, volumeFinding } from '../detectors/volume.js';
import type { VolumeBaselines } from '../detectors/volume.js';
import { EMPTY_EWMA } from '../ewma.js';
import { evidenceOf } from '../finding.js';
import type { Finding } from '../finding.js';
import type { MonitorEvent } from '../monitor-event.js';
import type { MonitorRules } from '../rules.js';
import { bytesOf, bytesPerDataset, ReviewedCooldown, type KeptDownload } from './recount.js';

interface Download extends KeptDownload {
  now: number;
  tier: Tier | null;
  project: string;
}

/**
 * The volume rule computed the straightforward way: every download record kept, and
 * at each record the window is filtered out of them and recounted (tiers, datasets,
 * projects, spread), and a closed hour's sample recounted from its records; O(window)
 * per record, as the detector was before it kept sliding sums. The verdict and the
 * baselines' arithmetic are the detector's own (`judgeVolume`, `learnHour`): what
 * this checks is the bookkeeping. Exact while a window holds at most VOLUME_DATASETS
 * datasets and VOLUME_PROJECTS projects (the detector's bounds).
 */
export class ReferenceVolume {
  #downloads: Download[] = [];
  readonly #base: VolumeBaselines = { bytes: EMPTY_EWMA, arts: EMPTY_EWMA, projs: EMPTY_EWMA, restricted: EMPTY_EWMA };
  #hour: number | null = null;
  readonly #review = new ReviewedCooldown();

  step(e: MonitorEvent, now: number, rules: MonitorRules): Finding[] {
    const dataset = datasetOf(e);
    if (e.action !== 'download' || e.decision !== 'allow' || dataset === null) return [];
    const r = rules.volume;
    const hour = Math.floor(now / HOUR);
    if (this.#hour !== null && this.#hour !== hour) {
      const closing = this.#hour;
      const inHour = this.#downloads.filter((d) => Math.floor(d.now / HOUR) === closing);
      const perDataset = bytesPerDataset(inHour);
      learnHour(this.#base, { datasets: perDataset.size, spread: spreadOf(perDataset.values()), projects: new Set(inHour.map((d) => d.project)).size, restrictedBytes: bytesOf(inHour.filter((d) => d.tier === 'restricted')) }, rules);
    }
    this.#hour = hour;
    const bytes = e.outcome === 'success' || e.outcome === 'failure' ? Math.max(0, e.bytes ?? 0) : 0;
    this.#downloads.push({ now, seq: e.seq, bytes, tier: e.tier, dataset, project: e.target!.project });

    const minSlot = Math.floor(now / MINUTE) - r.windowMinutes + 1;
    // what neither the window nor the hour can still need
    this.#downloads = this.#downloads.filter((d) => d.now >= Math.min(minSlot * MINUTE, hour * HOUR));
    const window = this.#downloads.filter((d) => Math.floor(d.now / MINUTE) >= minSlot && d.seq > this.#review.clearedSeq);
    const perDataset = bytesPerDataset(window);
    const tierBytes = (i: number) => bytesOf(window.filter((d) => tierIndex(d.tier) === i));
    const { reasons, measures, critical } = judgeVolume(
      this.#base,
      { tierBytes, total: bytesOf(window), distinct: perDataset.size, projects: new Set(window.map((d) => d.project)).size, largest: () => Math.max(0, ...perDataset.values()) },
      rules,
    );
    if (reasons.length === 0 || this.#review.cooling(now, r.cooldownMinutes * MINUTE)) return [];
    this.#review.lastFinding = now;
    return [volumeFinding(e, reasons, measures, critical, evidenceOf(window.map((d) => d.seq)), r.windowMinutes)];
  }

  clearWindows(lastSeq: number): void {
    this.#review.clearWindows(lastSeq);
  }
}
