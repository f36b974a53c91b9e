import { DAY, HOUR, MINUTE } from '../detectors/detector.js';
import { DAILY_DECAY, offHoursDetector } from '../detectors/off-hours.js';
import type { OffHoursState } from '../detectors/off-hours.js';
import { MAX_SOURCES, newSourceDetector } from '../detectors/new-source.js';
import { probingFinding } from '../detectors/probing.js';
import type { Finding } from '../finding.js';
import type { MonitorEvent } from '../monitor-event.js';
import type { MonitorRules } from '../rules.js';
import { EvidenceRing } from '../window/evidence-ring.js';

/**
 * Off hours computed the straightforward way: the histogram of usual hours is rebuilt
 * at each record by replaying every earlier request of the principal (O(history) per
 * record), with the detector's own arithmetic of the daily decay; the judgement is the
 * detector's, run on that rebuilt histogram.
 */
export class ReferenceOffHours {
  readonly #times: number[] = [];
  #lastFinding: number | null = null;

  step(e: MonitorEvent, rules: MonitorRules): Finding[] {
    if (e.actor === null || e.decision !== 'allow' || e.outcome !== 'attempt') return [];
    const s: OffHoursState = { hist: new Array<number>(24).fill(0), total: 0, firstSeen: null, decayDay: 0, lastFinding: this.#lastFinding };
    for (const t of this.#times) {
      const today = Math.floor(t / DAY);
      if (s.firstSeen !== null && today > s.decayDay) {
        const f = DAILY_DECAY ** (today - s.decayDay);
        for (let i = 0; i < 24; i++) s.hist[i]! *= f;
        s.total *= f;
      }
      s.firstSeen ??= t;
      s.hist[Math.floor(t / HOUR) % 24]! += 1;
      s.total += 1;
      s.decayDay = Math.max(s.decayDay, today);
    }
    this.#times.push(e.time);
    const findings = offHoursDetector.step(s, e, { rules, now: e.time, downloads: new EvidenceRing() });
    this.#lastFinding = s.lastFinding;
    return findings;
  }

  clearWindows(): void {
    this.#lastFinding = null;
  }
}

/**
 * New source computed the straightforward way: every request's network and device
 * kept; at each record the remembered ones are recomputed (last sighting after
 * `forgetDays` ago, the MAX_SOURCES most recently seen) and the detector's judgement
 * runs on them.
 */
export class ReferenceNewSource {
  readonly #seen: Array<{ now: number; network: string; device: string }> = [];
  #firstSeen: number | null = null;

  step(e: MonitorEvent, now: number, rules: MonitorRules): Finding[] {
    if (e.actor === null) return [];
    const forgetBefore = now - rules.newSource.forgetDays * DAY;
    const remembered = (pick: (x: { network: string; device: string }) => string) => {
      const last = new Map<string, number>();
      // later sightings win, and the order of last sighting is the order of the records
      this.#seen.forEach((x, i) => last.set(pick(x), i));
      const live = [...last].filter(([, i]) => this.#seen[i]!.now > forgetBefore).sort((a, b) => a[1] - b[1]);
      return live.slice(-MAX_SOURCES).map(([k, i]) => [k, this.#seen[i]!.now] as [string, number]);
    };
    const s = newSourceDetector.initial();
    for (const [k, t] of remembered((x) => x.network)) s.nets.touch(k, t);
    for (const [k, t] of remembered((x) => x.device)) s.devices.touch(k, t);
    this.#firstSeen ??= now;
    s.firstSeen = this.#firstSeen;
    s.events = this.#seen.length;
    this.#seen.push({ now, network: e.network, device: e.device });
    return newSourceDetector.step(s, e, { rules, now, downloads: new EvidenceRing() });
  }

  clearWindows(): void {
    // nothing short-lived
  }
}

/**
 * Probing computed the straightforward way: every denial and metadata read kept; at
 * each one the window is filtered out of them and counted.
 */
export class ReferenceProbing {
  readonly #denials: Array<[number, number]> = [];
  readonly #reads: Array<[number, number]> = [];
  #lastFinding: number | null = null;
  #clearedSeq = 0;

  step(e: MonitorEvent, now: number, rules: MonitorRules): Finding[] {
    const r = rules.probing;
    const isDenial = e.decision === 'deny';
    const isRead = e.decision === 'allow' && e.outcome === 'attempt' && e.action === 'read-metadata';
    if (!isDenial && !isRead) return [];
    (isDenial ? this.#denials : this.#reads).push([now, e.seq]);
    const inWindow = (list: Array<[number, number]>, minutes: number, max: number) => list.filter(([t, seq]) => t > now - minutes * MINUTE && seq > this.#clearedSeq).slice(-Math.max(1, max + 1));
    const denials = inWindow(this.#denials, r.denialWindowMinutes, r.maxDenials);
    const reads = inWindow(this.#reads, r.listingWindowMinutes, r.maxListings);
    const burst = isDenial && r.maxDenials > 0 && denials.length >= r.maxDenials;
    const listing = isRead && r.maxListings > 0 && reads.length >= r.maxListings;
    if ((!burst && !listing) || (this.#lastFinding !== null && now - this.#lastFinding < r.cooldownMinutes * MINUTE)) return [];
    this.#lastFinding = now;
    return [probingFinding(e, burst, burst ? denials : reads, r)];
  }

  clearWindows(lastSeq: number): void {
    this.#clearedSeq = lastSeq;
    this.#lastFinding = null;
  }
}
