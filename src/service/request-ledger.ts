import type { AuditEvent } from '../audit/audit-event.js';

/** What the audit log holds so far for one request in flight. */
export interface RequestState {
  /** Outcome records (`success`, `failure`, `denied`). */
  outcomes: number;
  /** Attempts without their completion yet, as `action\0resource` -> count. */
  open: Map<string, number>;
  /** The first open attempt's action and resource, to close it with. */
  attempts: Array<{ action: string; resource: string; actor: AuditEvent['actor']; context: Record<string, unknown> }>;
}

/** Most requests tracked at once; past it the oldest are forgotten (a leak must not grow without bound). */
const MAX_OPEN = 100_000;

/**
 * The audit records of the requests in flight, by request id: how many outcomes, and
 * which attempts still wait for their completion. The transports' audit hook opens an
 * entry when a request arrives, asks at the end whether it needs a closing record, and
 * forgets it; every record the use cases write passes through {@link note}. Records of
 * requests not open here (background jobs) are ignored.
 */
export class RequestLedger {
  readonly #open = new Map<string, RequestState>();

  /** Starts tracking a request. */
  open(requestId: string): void {
    if (this.#open.size >= MAX_OPEN) {
      const oldest = this.#open.keys().next();
      if (oldest.done !== true) this.#open.delete(oldest.value);
    }
    this.#open.set(requestId, { outcomes: 0, open: new Map(), attempts: [] });
  }

  /**
   * Counts a record written for a request (any request id; unknown ones are ignored).
   * Returns what undoes it, for a record that then could not be written: an attempt
   * that never reached the log must not be closed later, nor count as an outcome.
   */
  note(event: AuditEvent): () => void {
    const s = this.#open.get(event.requestId);
    if (s === undefined) return () => undefined;
    const key = `${event.action}\0${event.resource}`;
    if (event.outcome === 'attempt') {
      s.open.set(key, (s.open.get(key) ?? 0) + 1);
      const attempt = { action: event.action, resource: event.resource, actor: event.actor, context: event.context };
      s.attempts.push(attempt);
      return () => {
        const i = s.attempts.indexOf(attempt);
        if (i >= 0) s.attempts.splice(i, 1);
        const n = s.open.get(key) ?? 0;
        if (n <= 1) s.open.delete(key);
        else s.open.set(key, n - 1);
      };
    }
    s.outcomes++;
    const n = s.open.get(key) ?? 0;
    const closes = (event.outcome === 'success' || event.outcome === 'failure') && n > 0;
    if (closes) {
      if (n === 1) s.open.delete(key);
      else s.open.set(key, n - 1);
    }
    return () => {
      s.outcomes--;
      if (closes) s.open.set(key, (s.open.get(key) ?? 0) + 1);
    };
  }

  /** The state of a request in flight, or null if it is not tracked. */
  state(requestId: string): RequestState | null {
    return this.#open.get(requestId) ?? null;
  }

  /** Stops tracking a request; returns its attempts still waiting for a completion. */
  close(requestId: string): Array<{ action: string; resource: string; actor: AuditEvent['actor']; context: Record<string, unknown> }> {
    const s = this.#open.get(requestId);
    this.#open.delete(requestId);
    if (s === undefined) return [];
    const left = new Map(s.open);
    const out: RequestState['attempts'] = [];
    for (const a of s.attempts) {
      const key = `${a.action}\0${a.resource}`;
      const n = left.get(key) ?? 0;
      if (n === 0) continue;
      left.set(key, n - 1);
      out.push(a);
    }
    return out;
  }

  /** Requests tracked (tests). */
  get size(): number {
    return this.#open.size;
  }
}
