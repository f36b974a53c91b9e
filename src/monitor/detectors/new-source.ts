import type { Finding } from '../finding.js';
import { DAY } from './detector.js';
import type { Detector, StepResult } from './detector.js';

/** State of the new-source detector for one principal. */
export interface NewSourceState {
  /** Networks (/24, /64) seen, with the time last seen. */
  nets: Record<string, number>;
  /** Devices seen (device id or user agent family), with the time last seen. */
  devices: Record<string, number>;
  firstSeen: number | null;
  events: number;
}

/** Most networks or devices remembered per principal (the least recently seen are forgotten first). */
export const MAX_SOURCES = 64;

/**
 * New source: a request from a network (/24 for IPv4, /64 for IPv6) or a device the
 * principal has not used within `forgetDays`, once the principal has been learned
 * (`learnDays` since its first request and `minEvents` requests). A stolen token used
 * from elsewhere shows up at its first request.
 */
export const newSourceDetector: Detector<NewSourceState> = {
  rule: 'new-source',
  initial: () => ({ nets: {}, devices: {}, firstSeen: null, events: 0 }),
  step(state, e, rules): StepResult<NewSourceState> {
    if (e.actor === null) return { state, findings: [] };
    const r = rules.newSource;
    const firstSeen = state.firstSeen ?? e.time;
    const forgetBefore = e.time - r.forgetDays * DAY;
    const knownNet = (state.nets[e.network] ?? -Infinity) > forgetBefore;
    const knownDevice = (state.devices[e.device] ?? -Infinity) > forgetBefore;
    const learned = e.time - firstSeen >= r.learnDays * DAY && state.events >= r.minEvents;
    const findings: Finding[] = [];
    if (learned && (!knownNet || !knownDevice)) {
      const what = [!knownNet ? `network ${e.network}` : null, !knownDevice ? `device \`${e.device.slice(3, 83)}\`` : null].filter((s) => s !== null);
      findings.push({
        rule: 'new-source',
        principalKey: e.principalKey,
        principalName: e.actor.name,
        severity: !knownNet && !knownDevice ? 'high' : 'medium',
        time: e.time,
        triggerSeq: e.seq,
        summary: `first request from a new ${what.join(' and ')} (${e.action} \`${e.resource}\`)`,
        evidence: [e.seq],
        measures: { network: e.network, device: e.device, knownNetworks: Object.keys(state.nets).length, knownDevices: Object.keys(state.devices).length },
      });
    }
    return {
      state: {
        nets: remember(state.nets, e.network, e.time, forgetBefore),
        devices: remember(state.devices, e.device, e.time, forgetBefore),
        firstSeen,
        events: state.events + 1,
      },
      findings,
    };
  },
};

function remember(seen: Record<string, number>, key: string, t: number, forgetBefore: number): Record<string, number> {
  if (seen[key] === t) return seen;
  const entries = Object.entries(seen).filter(([k, at]) => k !== key && at > forgetBefore);
  entries.push([key, t]);
  entries.sort((a, b) => b[1] - a[1]);
  return Object.fromEntries(entries.slice(0, MAX_SOURCES));
}
