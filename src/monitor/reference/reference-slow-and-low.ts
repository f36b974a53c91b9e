import type { Tier } from '../../domain/types.js';
import { datasetOf } from '../dataset.js';
import { DAY, HOUR } from '../detectors/detector.js';
import { judgeDay, learnDay, learnWeek, slowAndLowFinding, spreadOf } from '../detectors/slow-and-low.js';
import type { SlowAndLowBaselines } from '../detectors/slow-and-low.js';
import { tierIndex } from '../detectors/volume.js';
import { EMPTY_EWMA } from '../ewma.js';
import { evidenceOf } from '../finding.js';
import type { Finding } from '../finding.js';
import type { MonitorEvent } from '../monitor-event.js';
import type { MonitorRules } from '../rules.js';
import { bytesOf, bytesPerDataset, ReviewedCooldown, type KeptDownload } from './recount.js';

const WEEK = 7 * DAY;

interface Download extends KeptDownload {
  now: number;
  tier: Tier | null;
  /** Personal day index. */
  day: number;
  /** Whether the dataset was new to the principal at this download. */
  novel: boolean;
}

/**
 * The slow-and-low rule computed the straightforward way: every download record kept
 * (as long as the novelty horizon needs), and at each record the rolling day, the
 * novel datasets, the last seven days and a closed day's or week's sample recounted
 * from them; O(history) per record. The verdict and the baselines' arithmetic are the
 * detector's own (`judgeDay`, `learnDay`, `learnWeek`): what this checks is the
 * bookkeeping. Exact while the detector's bounds hold (DAY_DATASETS datasets in the
 * rolling day, MAX_DAY_DATASETS in a personal day, MAX_SEEN remembered).
 */
export class ReferenceSlowAndLow {
  #downloads: Download[] = [];
  readonly #base: SlowAndLowBaselines = { daily: EMPTY_EWMA, novelBase: EMPTY_EWMA, distinct: EMPTY_EWMA, weekly: EMPTY_EWMA };
  #anchor: number | null = null;
  #day: number | null = null;
  #week: number | null = null;
  readonly #review = new ReviewedCooldown();

  step(e: MonitorEvent, now: number, rules: MonitorRules): Finding[] {
    const dataset = datasetOf(e);
    if (e.action !== 'download' || e.decision !== 'allow' || dataset === null) return [];
    const r = rules.slowAndLow;
    this.#anchor ??= Math.floor(now / HOUR) * HOUR - 2 * HOUR;
    const dayIndex = Math.floor((now - this.#anchor) / DAY);
    const weekIndex = Math.floor((now - this.#anchor) / WEEK);
    const previous = this.#downloads.filter((d) => d.dataset === dataset).at(-1);
    const novel = previous === undefined || previous.now <= now - r.noveltyDays * DAY;

    if (this.#day !== null && this.#day !== dayIndex) {
      const closing = this.#downloads.filter((d) => d.day === this.#day);
      learnDay(this.#base, { datasets: bytesPerDataset(closing).size, spread: this.#spreadOfDay(this.#day), novel: closing.filter((d) => d.novel).length }, rules);
    }
    if (this.#week !== null && this.#week !== weekIndex) {
      const closedWeek = this.#week;
      const days = new Set(this.#downloads.filter((d) => Math.floor(d.day / 7) === closedWeek).map((d) => d.day));
      learnWeek(this.#base, [...days].reduce((n, i) => n + this.#spreadOfDay(i), 0), rules);
    }
    this.#day = dayIndex;
    this.#week = weekIndex;
    const bytes = e.outcome === 'success' || e.outcome === 'failure' ? Math.max(0, e.bytes ?? 0) : 0;
    this.#downloads.push({ now, seq: e.seq, bytes, tier: e.tier, dataset, day: dayIndex, novel });
    // what neither novelty nor the last seven days can still need
    this.#downloads = this.#downloads.filter((d) => d.now > now - Math.max(r.noveltyDays, 9) * DAY);

    const minHour = Math.floor(now / HOUR) - 23;
    const window = this.#downloads.filter((d) => Math.floor(d.now / HOUR) >= minHour && d.seq > this.#review.clearedSeq);
    const perDataset = bytesPerDataset(window);
    const spread = spreadOf(perDataset.values());
    // novel in the rolling day: datasets still remembered (this one, or downloaded within the horizon) whose current run began with a novel download in it
    let novelDay = 0;
    for (const ds of new Set(this.#downloads.map((d) => d.dataset))) {
      const mine = this.#downloads.filter((d) => d.dataset === ds);
      const began = mine.filter((d) => d.novel).at(-1);
      const remembered = ds === dataset || mine.at(-1)!.now > now - r.noveltyDays * DAY;
      if (remembered && began !== undefined && Math.floor(began.now / HOUR) >= minHour) novelDay++;
    }
    let weekSpread = spread;
    for (const i of new Set(this.#downloads.map((d) => d.day))) if (i > dayIndex - 7 && i < dayIndex) weekSpread += this.#spreadOfDay(i);
    const tierBytes = (i: number) => bytesOf(window.filter((d) => tierIndex(d.tier) === i));
    const { reasons, measures } = judgeDay(this.#base, { tierBytes, spread, weekSpread, distinct: perDataset.size, novel: novelDay }, rules);
    if (reasons.length === 0 || this.#review.cooling(now, r.cooldownHours * HOUR)) return [];
    this.#review.lastFinding = now;
    return [slowAndLowFinding(e, reasons, measures, evidenceOf(window.map((d) => d.seq)))];
  }

  #spreadOfDay(i: number): number {
    return spreadOf(bytesPerDataset(this.#downloads.filter((d) => d.day === i)).values());
  }

  clearWindows(lastSeq: number): void {
    this.#review.clearWindows(lastSeq);
  }
}
