import { findingAt } from '../finding.js';
import type { Finding } from '../finding.js';
import { RecentKeys } from '../window/recent-keys.js';
import { num, numOrNull, obj } from '../window/state-format.js';
import { DAY } from './detector.js';
import type { Detector, StepContext } from './detector.js';

/** State of the new-source detector for one principal. */
export interface NewSourceState {
  /** Networks (/24, /64) seen, with the time last seen, least recently seen first. */
  nets: RecentKeys;
  /** Devices seen (device id or user agent family), with the time last seen, least recently seen first. */
  devices: RecentKeys;
  firstSeen: number | null;
  events: number;
}

/** Most networks or devices remembered per principal (the least recently seen are forgotten first). */
export const MAX_SOURCES = 64;

/**
 * New source: a request from a network (/24 for IPv4, /64 for IPv6) or a device the
 * principal has not used within `forgetDays`, once the principal has been learned
 * (`learnDays` since its first request and `minEvents` requests). A stolen token used
 * from elsewhere shows up at its first request. O(1) amortized per record: sources are
 * kept in order of last sighting, forgotten from the front.
 */
export const newSourceDetector: Detector<NewSourceState> = {
  rule: 'new-source',
  initial: () => ({ nets: new RecentKeys(MAX_SOURCES), devices: new RecentKeys(MAX_SOURCES), firstSeen: null, events: 0 }),
  step(s, e, ctx: StepContext): Finding[] {
    if (e.actor === null) return [];
    const r = ctx.rules.newSource;
    const now = ctx.now;
    s.firstSeen ??= now;
    // remembered: last seen after forgetBefore
    const forgetBefore = now - r.forgetDays * DAY;
    s.nets.expire(forgetBefore + 1);
    s.devices.expire(forgetBefore + 1);
    const knownNet = s.nets.lastSeen(e.network) !== undefined;
    const knownDevice = s.devices.lastSeen(e.device) !== undefined;
    const learned = now - s.firstSeen >= r.learnDays * DAY && s.events >= r.minEvents;
    const findings: Finding[] = [];
    if (learned && (!knownNet || !knownDevice)) {
      const what = [!knownNet ? `network ${e.network}` : null, !knownDevice ? `device \`${e.device.slice(3, 83)}\`` : null].filter((w) => w !== null);
      const summary = `first request from a new ${what.join(' and ')} (${e.action} \`${e.resource}\`)`;
      findings.push(findingAt(e, 'new-source', !knownNet && !knownDevice ? 'high' : 'medium', summary, [e.seq], { network: e.network, device: e.device, knownNetworks: s.nets.size, knownDevices: s.devices.size }));
    }
    s.nets.touch(e.network, now);
    s.devices.touch(e.device, now);
    s.events++;
    return findings;
  },
  clearWindows() {
    // nothing short-lived: sources are what was learned
  },
  encode: (s) => ({ nets: s.nets.encode(), devices: s.devices.encode(), firstSeen: s.firstSeen, events: s.events }),
  decode(json) {
    const o = obj(json, 'newSource');
    return {
      nets: RecentKeys.decode(o.nets, MAX_SOURCES, 'newSource.nets'),
      devices: RecentKeys.decode(o.devices, MAX_SOURCES, 'newSource.devices'),
      firstSeen: numOrNull(o.firstSeen, 'newSource.firstSeen'),
      events: num(o.events, 'newSource.events'),
    };
  },
};
