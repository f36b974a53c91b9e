import type { AuditEvent } from '../../audit/audit-event.js';
import type { Tier } from '../../domain/types.js';
import type { Prng } from './prng.js';

/** One audit event of the simulation, as the service's gate would hand it to the audit log. */
export interface SimEvent {
  event: AuditEvent;
  tier: Tier | null;
  /** Id of the injected attack this request belongs to; null for normal traffic. */
  attack: string | null;
  /** Id of the legitimate bulk read (DVC pull, S3 sync) this request belongs to, if any. */
  bulkRead?: string;
}

/** Who makes a simulated request and from where. */
export interface SimSource {
  actor: { id: string; name: string; kind: 'user' | 'service-account' };
  ip: string;
  userAgent: string;
}

/** Options of one simulated request. */
export interface SimRequest {
  action: 'download' | 'upload' | 'read-metadata';
  resource: string;
  tier?: Tier | null;
  /** Plaintext bytes moved (downloads, uploads). */
  bytes?: number;
  /** Time from the attempt record to the completion record. */
  durationMs?: number;
  /** Refused with this error code (one `denied` record). */
  deny?: string;
  /** The transfer broke after `bytes` (a `failure` completion). */
  fail?: boolean;
  /** Id of the legitimate bulk read this request belongs to. */
  bulkRead?: string;
  /** The grant that allows it (its determining policy); null for none (a listing the baseline allows). */
  grant?: string | null;
  attack?: string | null;
}

/**
 * Collects simulated requests as audit events of the exact shape the gate writes:
 * an `attempt` record before acting and a `success`/`failure` record after (with the
 * bytes moved), or one `denied` record; context as `auditContext` builds it.
 */
export class Recorder {
  readonly events: SimEvent[] = [];

  constructor(private readonly rng: Prng) {}

  request(src: SimSource, time: number, r: SimRequest): number {
    const requestId = `${this.rng.hex(4)}-${this.rng.hex(2)}-${this.rng.hex(2)}-${this.rng.hex(2)}-${this.rng.hex(6)}`;
    const context = { sourceIp: src.ip, userAgent: src.userAgent, mfa: ['token'], deviceManaged: false };
    const base = { requestId, actor: src.actor, action: r.action, resource: r.resource, context };
    const tier = r.tier ?? null;
    const attack = r.attack ?? null;
    const label = r.bulkRead === undefined ? {} : { bulkRead: r.bulkRead };
    const t = Math.round(time);
    if (r.deny !== undefined) {
      this.events.push({ event: { ...base, time: t, decision: 'deny', policies: [], outcome: 'denied', reason: r.deny }, tier, attack, ...label });
      return t;
    }
    // drawn whatever the grant, so the seeded traffic stays what it was before grants were modelled
    const drawn = this.rng.hex(4);
    const policies = r.grant === undefined ? [`grt_sim${drawn}`] : r.grant === null ? [] : [r.grant];
    this.events.push({ event: { ...base, time: t, decision: 'allow', policies, outcome: 'attempt' }, tier, attack, ...label });
    const end = t + Math.max(1, Math.round(r.durationMs ?? 20 + this.rng.next() * 80));
    this.events.push({
      event: {
        ...base,
        time: end,
        decision: 'allow',
        policies,
        outcome: r.fail === true ? 'failure' : 'success',
        ...(r.bytes !== undefined ? { bytes: Math.round(r.bytes) } : {}),
        ...(r.fail === true ? { reason: 'client-disconnected' } : {}),
      },
      tier,
      attack,
      ...label,
    });
    return end;
  }
}
