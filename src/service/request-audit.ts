import { AuditUnavailableError } from '../domain/errors.js';
import type { AuditEvent, AuditLog, ExportedCheckpoint, VerifyOptions, VerifyResult } from '../audit/audit-event.js';
import { AnonymousTraffic, type AnonymousLimits } from '../audit/anonymous-traffic.js';
import { RequestLedger } from './request-ledger.js';

/** Options of {@link RequestAudit}. */
export interface RequestAuditOptions {
  clock: () => number;
  /** Unauthenticated traffic per source (default: 120 refusals a minute, the first 20 recorded one by one). */
  anonymous?: AnonymousLimits;
  /** Told about coalesced records that could not be written (they are retried at the next flush). */
  warn?: (message: string, detail: Record<string, unknown>) => void;
}

/** The closing record of a request that ended with no outcome on record. */
export interface RequestClosing {
  requestId: string;
  actor: AuditEvent['actor'];
  /** `METHOD /path` (share-link secrets redacted) or `s3:/bucket/key`. */
  resource: string;
  status: number;
  /** The catalog code of a refusal, if any. */
  reason: string | null;
  context: Record<string, unknown>;
}

/**
 * The audit log as the use cases see it: every record goes to the hash chain, and
 * through two bookkeepers first.
 *
 * - A ledger of the requests in flight (opened and closed by the transports' audit
 *   hook, src/server/audit-outcome.ts), so the hook knows whether a request ended with
 *   an outcome on record and which attempts were left without their completion.
 * - The unauthenticated traffic per source ({@link AnonymousTraffic}): refusals of
 *   requests without an actor beyond the first ones of a window, and unauthenticated
 *   probes, are counted into one coalesced record per source and window instead of one
 *   each; the count also drives the 429 of the hook.
 *
 * A coalesced event resolves at once with seq 0: a refusal has nothing to protect by
 * waiting, and its count is written when the window closes (or at close()).
 */
export class RequestAudit implements AuditLog {
  readonly ledger = new RequestLedger();
  readonly anonymous: AnonymousTraffic;
  readonly #inner: AuditLog;
  readonly #clock: () => number;
  readonly #warn: (message: string, detail: Record<string, unknown>) => void;
  #timer: NodeJS.Timeout | null = null;
  #pending: AuditEvent[] = [];
  #writing: Promise<void> = Promise.resolve();

  constructor(inner: AuditLog, options: RequestAuditOptions) {
    this.#inner = inner;
    this.#clock = options.clock;
    this.#warn = options.warn ?? (() => undefined);
    this.anonymous = new AnonymousTraffic(options.anonymous ?? { refusalsPerWindow: 120, recordIndividually: 20 });
  }

  get publicKey(): string {
    return this.#inner.publicKey;
  }

  record(event: AuditEvent): Promise<{ seq: number }> {
    // noted at once (a completion written after the answer must be seen by the hook), undone if the write fails
    const undo = this.ledger.note(event);
    if (event.actor === null) this.#schedule();
    if (this.anonymous.admit(event, this.#clock()) === 'coalesce') return Promise.resolve({ seq: 0 });
    return this.#inner.record(event).catch((err: unknown) => {
      undo();
      throw err;
    });
  }

  verify(options?: VerifyOptions): Promise<VerifyResult> {
    return this.#inner.verify(options);
  }

  export(fromSeq?: number): AsyncIterable<string> {
    return this.#inner.export(fromSeq);
  }

  checkpoint(): Promise<ExportedCheckpoint> {
    return this.#inner.checkpoint();
  }

  /**
   * Writes the one outcome of a request that ended with none on record (a refusal before
   * any use case: validation, unknown route, rate limit; or a use case that recorded
   * nothing). Rejects with AuditUnavailableError if it cannot be written (unless it is
   * coalesced): the transport then answers 503, fail closed.
   */
  async closeRequest(c: RequestClosing): Promise<void> {
    // S3 answers its throttle 503 SlowDown: still a refusal, counted against the source
    const refused = c.status >= 400 && (c.status < 500 || c.reason === 'COFFER_RATE_LIMITED');
    const outcome: AuditEvent['outcome'] = refused ? 'denied' : c.status >= 500 ? 'failure' : c.status >= 400 ? 'denied' : 'success';
    await this.record({
      time: this.#clock(),
      requestId: c.requestId,
      actor: c.actor,
      action: 'request',
      resource: c.resource.slice(0, 300),
      decision: outcome === 'success' ? 'allow' : 'deny',
      policies: [],
      outcome,
      ...(c.reason !== null ? { reason: c.reason } : {}),
      context: { ...c.context, status: c.status },
    });
  }

  /**
   * Forgets a request that has ended, after closing each attempt it left without a
   * completion with a `failure` record (the act started and its result is unknown).
   * Never throws: the answer is already sent.
   */
  async endRequest(requestId: string, reason: string | null): Promise<void> {
    for (const a of this.ledger.close(requestId)) {
      await this.#inner
        .record({ time: this.#clock(), requestId, actor: a.actor, action: a.action, resource: a.resource, decision: 'allow', policies: [], outcome: 'failure', reason: reason ?? 'unfinished', context: a.context })
        .catch((err: unknown) => this.#warn('audit completion record failed', { requestId, code: err instanceof AuditUnavailableError ? err.code : 'unknown' }));
    }
  }

  /** Writes the coalesced records of the windows closed so far (every window with `all`). */
  async flush(all = false): Promise<void> {
    this.#pending.push(...this.anonymous.drain(this.#clock(), all));
    const batch = this.#pending;
    this.#pending = [];
    this.#writing = this.#writing.then(async () => {
      const failed: AuditEvent[] = [];
      for (const e of batch) {
        try {
          await this.#inner.record(e);
        } catch {
          failed.push(e);
        }
      }
      if (failed.length > 0) {
        // kept for the next flush: the counts must reach the chain eventually
        this.#pending.unshift(...failed);
        this.#warn('coalesced audit records could not be written', { records: failed.length });
      }
    });
    await this.#writing;
  }

  /** Writes every coalesced count, including the open windows', and stops the timer. */
  async close(): Promise<void> {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
    await this.flush(true);
  }

  #schedule(): void {
    if (this.#timer !== null) return;
    // closed windows are written within half a window; the timer never holds the process
    this.#timer = setInterval(() => {
      void this.flush().then(() => {
        if (this.anonymous.tracked === 0 && this.#pending.length === 0 && this.#timer !== null) {
          clearInterval(this.#timer);
          this.#timer = null;
        }
      });
    }, Math.max(1000, this.anonymous.windowMs / 2));
    this.#timer.unref();
  }
}
