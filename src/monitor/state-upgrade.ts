import { TIERS } from '../domain/types.js';
import type { Tier } from '../domain/types.js';
import type { PrincipalState } from './detector-set.js';
import { HOUR, MINUTE } from './detectors/detector.js';
import { MAX_DAY_DATASETS, MAX_SEEN } from './detectors/slow-and-low.js';
import { VOLUME_DATASETS, VOLUME_PROJECTS, tierIndex } from './detectors/volume.js';
import { decodeEwma } from './ewma.js';
import { arr, num, numOrNull, obj, str, StateFormatError } from './window/state-format.js';

/**
 * Reads a state stored by version 1 of the detectors (windows kept as lists of every
 * download) into the current form, so an upgrade keeps what was learned (baselines,
 * usual hours, known networks and devices, datasets seen) and the windows in
 * progress: a principal in the middle of a bulk download when the server is upgraded
 * is still judged on its whole window. Version 1 counted artifacts one by one; each
 * becomes a dataset of its own. Fills `s`, a fresh state. Throws StateFormatError on a
 * malformed state.
 */
export function upgradeStateV1(o: Record<string, unknown>, s: PrincipalState): PrincipalState {
  const vol = obj(o.volume, 'volume');
  const sl = obj(o.slowAndLow, 'slowAndLow');
  const off = obj(o.offHours, 'offHours');
  const ns = obj(o.newSource, 'newSource');
  const pr = obj(o.probing, 'probing');

  const window = arr(vol.window, 'volume.window').map((raw) => {
    const w = obj(raw, 'volume.window');
    const tier = w.tier === null ? null : str(w.tier, 'volume.window.tier');
    return { t: num(w.t, 'volume.window.t'), seq: num(w.seq, 'volume.window.seq'), bytes: num(w.bytes, 'volume.window.bytes'), tier: (TIERS as readonly string[]).includes(tier ?? '') ? (tier as Tier) : null, art: str(w.art, 'volume.window.art') };
  });
  window.sort((a, b) => a.t - b.t || a.seq - b.seq);
  const recent = arr(sl.recent, 'slowAndLow.recent').map((raw) => {
    const [t, seq, art, bytes] = arr(raw, 'slowAndLow.recent');
    return { t: num(t, 'slowAndLow.recent'), seq: num(seq, 'slowAndLow.recent'), art: str(art, 'slowAndLow.recent'), bytes: num(bytes, 'slowAndLow.recent') };
  });
  recent.sort((a, b) => a.t - b.t || a.seq - b.seq);
  const denials = pairs(pr.denials, 'probing.denials');
  const reads = pairs(pr.reads, 'probing.reads');
  s.clock = Math.max(0, ...window.map((w) => w.t), ...recent.map((r) => r.t), ...denials.map(([t]) => t), ...reads.map(([t]) => t));

  // the newest downloads, as evidence
  const bySeq = new Map<number, number>();
  for (const r of recent) bySeq.set(r.seq, r.t);
  for (const w of window) bySeq.set(w.seq, w.t);
  for (const [seq, t] of [...bySeq].sort((a, b) => a[0] - b[0])) s.downloads.push(t, seq);

  // volume: the window into minute slots, the hour being learned, the baselines
  const v = s.volume;
  for (const w of window) {
    const slot = Math.floor(w.t / MINUTE);
    v.tiers.add(slot, tierIndex(w.tier), w.bytes);
    v.datasets.add(w.art, slot, w.bytes);
    v.projects.touch(projectOf(w.art), slot);
  }
  if (vol.bucket !== null && vol.bucket !== undefined) {
    const b = obj(vol.bucket, 'volume.bucket');
    const start = Math.floor(num(b.start, 'volume.bucket.start') / HOUR);
    v.hour = { start, perDataset: new Map(), overflow: 0, projects: new Set(), restrictedBytes: 0 };
    for (const [art, bytes] of Object.entries(obj(b.perArt, 'volume.bucket.perArt'))) {
      const n = num(bytes, 'volume.bucket.perArt');
      if (v.hour.perDataset.size < VOLUME_DATASETS) v.hour.perDataset.set(art, n);
      else v.hour.overflow += n;
      if (v.hour.projects.size < VOLUME_PROJECTS) v.hour.projects.add(projectOf(art));
    }
    for (const w of window) if (w.tier === 'restricted' && Math.floor(w.t / HOUR) === start) v.hour.restrictedBytes += w.bytes;
  }
  v.bytes = ewmaOf(vol.bytes, 'volume.bytes');
  v.arts = ewmaOf(vol.arts, 'volume.arts');
  v.lastFinding = numOrNull(vol.lastFinding, 'volume.lastFinding');

  // slow-and-low: hours and the day's downloads into hour slots, datasets seen, days and weeks, baselines
  const d = s.slowAndLow;
  d.anchor = numOrNull(sl.anchor, 'slowAndLow.anchor');
  const hours = arr(sl.hours, 'slowAndLow.hours').map((raw) => {
    const h = obj(raw, 'slowAndLow.hours');
    return { h: num(h.h, 'slowAndLow.hours.h'), b: arr(h.b, 'slowAndLow.hours.b').map((x) => num(x, 'slowAndLow.hours.b')) };
  });
  hours.sort((a, b) => a.h - b.h);
  for (const h of hours) h.b.forEach((bytes, i) => i <= TIERS.length && d.tiers.add(h.h, i, bytes));
  for (const r of recent) d.datasets.add(r.art, Math.floor(r.t / HOUR), r.bytes);
  const seen = Object.entries(obj(sl.seen, 'slowAndLow.seen')).map(([art, raw]) => {
    const [first, last] = arr(raw, 'slowAndLow.seen');
    return { art, first: num(first, 'slowAndLow.seen'), last: num(last, 'slowAndLow.seen') };
  });
  seen.sort((a, b) => a.last - b.last);
  const fromHour = Math.floor(s.clock / HOUR) - 23;
  for (const e of seen.slice(-MAX_SEEN)) d.seen.touch(e.art, e.last);
  for (const e of seen.slice(-MAX_SEEN).sort((a, b) => a.first - b.first)) if (Math.floor(e.first / HOUR) >= fromHour) d.fresh.set(e.art, Math.floor(e.first / HOUR));
  if (sl.day !== null && sl.day !== undefined) {
    const day = obj(sl.day, 'slowAndLow.day');
    d.day = { i: num(day.i, 'slowAndLow.day.i'), perDataset: new Map(), overflow: 0, novel: num(day.novel, 'slowAndLow.day.novel') };
    for (const [art, bytes] of Object.entries(obj(day.perArt, 'slowAndLow.day.perArt'))) {
      if (d.day.perDataset.size < MAX_DAY_DATASETS) d.day.perDataset.set(art, num(bytes, 'slowAndLow.day.perArt'));
      else d.day.overflow += num(bytes, 'slowAndLow.day.perArt');
    }
  }
  d.pastDays = arr(sl.pastDays, 'slowAndLow.pastDays').map((raw) => {
    const [i, b] = arr(raw, 'slowAndLow.pastDays');
    return [num(i, 'slowAndLow.pastDays'), num(b, 'slowAndLow.pastDays')] as [number, number];
  });
  if (sl.week !== null && sl.week !== undefined) {
    const w = obj(sl.week, 'slowAndLow.week');
    d.week = { i: num(w.i, 'slowAndLow.week.i'), bytes: num(w.bytes, 'slowAndLow.week.bytes') };
  }
  d.daily = ewmaOf(sl.daily, 'slowAndLow.daily');
  d.novelBase = ewmaOf(sl.novel, 'slowAndLow.novel');
  d.distinct = ewmaOf(sl.distinct, 'slowAndLow.distinct');
  d.weekly = ewmaOf(sl.weekly, 'slowAndLow.weekly');
  d.lastFinding = numOrNull(sl.lastFinding, 'slowAndLow.lastFinding');

  // off-hours: the same fields
  s.offHours = {
    hist: arr(off.hist, 'offHours.hist').map((x) => num(x, 'offHours.hist')),
    total: num(off.total, 'offHours.total'),
    firstSeen: numOrNull(off.firstSeen, 'offHours.firstSeen'),
    decayDay: num(off.decayDay, 'offHours.decayDay'),
    lastFinding: numOrNull(off.lastFinding, 'offHours.lastFinding'),
  };
  if (s.offHours.hist.length !== 24) throw new StateFormatError('offHours.hist does not have 24 hours');

  // new source: networks and devices in order of last sighting
  for (const [field, into] of [['nets', s.newSource.nets], ['devices', s.newSource.devices]] as const) {
    const entries = Object.entries(obj(ns[field], `newSource.${field}`)).map(([k, t]) => [k, num(t, `newSource.${field}`)] as const);
    entries.sort((a, b) => a[1] - b[1]);
    for (const [k, t] of entries) into.touch(k, t);
  }
  s.newSource.firstSeen = numOrNull(ns.firstSeen, 'newSource.firstSeen');
  s.newSource.events = num(ns.events, 'newSource.events');

  // probing: the queues
  for (const p of denials) s.probing.denials.push(p);
  for (const p of reads) s.probing.reads.push(p);
  s.probing.lastFinding = numOrNull(pr.lastFinding, 'probing.lastFinding');
  return s;
}

function projectOf(art: string): string {
  const slash = art.indexOf('/');
  return slash < 0 ? art : art.slice(0, slash);
}

function ewmaOf(json: unknown, what: string) {
  const e = obj(json, what);
  return decodeEwma([e.mean, e.dev, e.n], what);
}

function pairs(json: unknown, what: string): Array<[number, number]> {
  return arr(json, what).map((raw) => {
    const [t, seq] = arr(raw, what);
    return [num(t, what), num(seq, what)];
  });
}
