import { isIPv4, isIPv6 } from 'node:net';
import type { AuditEvent } from './audit-event.js';

/** Limits of {@link AnonymousTraffic}. */
export interface AnonymousLimits {
  /** Refusals of unauthenticated requests a source may cause per window before it is throttled (0 = never throttled). */
  refusalsPerWindow: number;
  /** Refusals of a source recorded one by one in each window; the rest are counted into one record. */
  recordIndividually: number;
  /** Window length in ms (default one minute). */
  windowMs?: number;
  /** Most sources tracked at once; beyond, new sources share one overflow entry (default 10,000). */
  maxSources?: number;
  /** Sample entries kept in a coalesced record (default 5). */
  sample?: number;
}

/** The code of the refusal the throttle itself answers. */
const RATE_LIMITED = 'COFFER_RATE_LIMITED';

/** What to do with an event of unauthenticated traffic. */
export type AnonymousVerdict = 'record' | 'coalesce';

interface Tally {
  count: number;
  from: number;
  to: number;
  reasons: Record<string, number>;
  actions: Record<string, number>;
  sample: Array<{ time: number; requestId: string; action: string; resource: string; reason: string | null }>;
}

interface SourceWindow {
  start: number;
  refusals: number;
  individual: number;
  coalescedRefusals: Tally | null;
  coalescedRequests: Tally | null;
}

/** The key unauthenticated traffic is counted under: the IPv4 address, or the /64 of an IPv6 one. */
export function sourceKey(ip: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (mapped) return mapped[1]!;
  if (isIPv4(ip)) return ip;
  if (isIPv6(ip)) {
    // one host gets a whole /64: counting per address would let it rotate addresses freely
    const [head, tail] = ip.toLowerCase().split('%')[0]!.split('::') as [string, string | undefined];
    const left = head === '' ? [] : head.split(':');
    const right = tail === undefined || tail === '' ? [] : tail.split(':');
    const groups = tail === undefined ? left : [...left, ...Array<string>(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right];
    return `${groups.slice(0, 4).map((g) => (Number.parseInt(g, 16) || 0).toString(16)).join(':')}::/64`;
  }
  return `other:${ip.slice(0, 64)}`;
}

/**
 * Unauthenticated traffic per source, in fixed windows: counts the refusals of
 * requests without an authenticated actor, says when a source is over its limit (the
 * transports answer 429), and bounds what such traffic writes to the audit log without
 * letting it hide. The first `recordIndividually` refusals of a source in a window are
 * recorded one by one; the rest, and the successes of unauthenticated probes (health,
 * readiness, public keys), are counted into one coalesced record per source and window
 * (`coalesced-refusals` / `coalesced-requests`) carrying the count, the reasons, the
 * actions, the first and last time and a sample of requests. Memory is bounded: past
 * `maxSources`, new sources share one overflow entry (`*`).
 *
 * Not thread-safe across nodes: each node counts what it serves (a source spread over
 * N nodes gets N times the budget; the records stay bounded per node).
 */
export class AnonymousTraffic {
  readonly #limits: Required<AnonymousLimits>;
  readonly #sources = new Map<string, SourceWindow>();
  /** Coalesced records of closed windows, waiting to be written. */
  #due: AuditEvent[] = [];

  constructor(limits: AnonymousLimits) {
    this.#limits = { windowMs: 60_000, maxSources: 10_000, sample: 5, ...limits };
  }

  /** The window length in ms. */
  get windowMs(): number {
    return this.#limits.windowMs;
  }

  /**
   * Counts an event of unauthenticated traffic (actor null): a refusal (`denied`), or the
   * success of an unauthenticated probe (action `request`). Others are always recorded.
   */
  admit(event: AuditEvent, now: number): AnonymousVerdict {
    const refusal = event.outcome === 'denied';
    const probe = event.outcome === 'success' && event.action === 'request';
    if (event.actor !== null || (!refusal && !probe)) return 'record';
    const ip = event.context.sourceIp;
    const w = this.#window(sourceKey(typeof ip === 'string' ? ip : ''), now);
    if (probe) {
      w.coalescedRequests = tally(w.coalescedRequests, event, this.#limits.sample);
      return 'coalesce';
    }
    // the 429s themselves are counted (below) but do not spend the budget: a throttled source
    // must not push its address past the credential threshold and lock out its valid clients
    if (event.reason !== RATE_LIMITED) w.refusals++;
    if (w.individual < this.#limits.recordIndividually) {
      w.individual++;
      return 'record';
    }
    w.coalescedRefusals = tally(w.coalescedRefusals, event, this.#limits.sample);
    return 'coalesce';
  }

  /**
   * Seconds until the window of `ip` ends if it is over its limit, else 0. Requests
   * that carry a credential are throttled only past twice the limit (a source that
   * keeps failing with credentials), so clients behind a busy address keep working.
   */
  throttled(ip: string, withCredential: boolean, now: number): number {
    if (this.#limits.refusalsPerWindow <= 0) return 0;
    // the overflow entry of a many-address flood throttles only requests without a credential
    const w = this.#sources.get(sourceKey(ip)) ?? (withCredential ? undefined : this.#sources.get('*'));
    if (w === undefined || now >= w.start + this.#limits.windowMs) return 0;
    const limit = withCredential ? 2 * this.#limits.refusalsPerWindow : this.#limits.refusalsPerWindow;
    return w.refusals >= limit ? Math.max(1, Math.ceil((w.start + this.#limits.windowMs - now) / 1000)) : 0;
  }

  /** Coalesced records of the windows closed by `now` (all of them with `all`), to be written. */
  drain(now: number, all = false): AuditEvent[] {
    for (const [key, w] of this.#sources) {
      if (all || now >= w.start + this.#limits.windowMs) {
        this.#close(key, w);
        this.#sources.delete(key);
      }
    }
    const due = this.#due;
    this.#due = [];
    return due;
  }

  /** Sources currently tracked (for tests and metrics). */
  get tracked(): number {
    return this.#sources.size;
  }

  #window(key: string, now: number): SourceWindow {
    let w = this.#sources.get(key);
    if (w !== undefined && now >= w.start + this.#limits.windowMs) {
      this.#close(key, w);
      w = undefined;
    }
    if (w === undefined) {
      if (!this.#sources.has(key) && this.#sources.size >= this.#limits.maxSources) {
        // INVARIANT: bounded memory; a flood of addresses is still counted, under one entry
        this.drain(now);
        if (this.#sources.size >= this.#limits.maxSources) return this.#window('*', now);
      }
      w = { start: now, refusals: 0, individual: 0, coalescedRefusals: null, coalescedRequests: null };
      this.#sources.set(key, w);
    }
    return w;
  }

  #close(key: string, w: SourceWindow): void {
    for (const [action, t] of [['coalesced-refusals', w.coalescedRefusals], ['coalesced-requests', w.coalescedRequests]] as const) {
      if (t === null) continue;
      this.#due.push({
        time: t.to,
        requestId: `${action}:${key}:${w.start}`,
        actor: null,
        action,
        resource: `source/${key}`,
        decision: action === 'coalesced-refusals' ? 'deny' : 'allow',
        policies: [],
        outcome: action === 'coalesced-refusals' ? 'denied' : 'success',
        ...(action === 'coalesced-refusals' ? { reason: 'coalesced' } : {}),
        context: {
          sourceIp: key,
          count: t.count,
          from: new Date(t.from).toISOString(),
          to: new Date(t.to).toISOString(),
          reasons: t.reasons,
          actions: t.actions,
          sample: t.sample,
          ...(action === 'coalesced-refusals' ? { recordedIndividually: w.individual } : {}),
        },
      });
    }
    w.coalescedRefusals = null;
    w.coalescedRequests = null;
  }
}

function tally(t: Tally | null, e: AuditEvent, sample: number): Tally {
  const out: Tally = t ?? { count: 0, from: e.time, to: e.time, reasons: {}, actions: {}, sample: [] };
  out.count++;
  out.from = Math.min(out.from, e.time);
  out.to = Math.max(out.to, e.time);
  const reason = e.reason ?? 'none';
  // bounded maps: an attacker choosing actions or reasons cannot grow them without limit
  if (reason in out.reasons || Object.keys(out.reasons).length < 32) out.reasons[reason] = (out.reasons[reason] ?? 0) + 1;
  const action = e.action.slice(0, 64);
  if (action in out.actions || Object.keys(out.actions).length < 32) out.actions[action] = (out.actions[action] ?? 0) + 1;
  if (out.sample.length < sample) out.sample.push({ time: e.time, requestId: e.requestId, action, resource: e.resource.slice(0, 200), reason: e.reason ?? null });
  return out;
}
