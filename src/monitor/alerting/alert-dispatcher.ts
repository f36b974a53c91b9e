import { InternalError, isCofferError } from '../../domain/errors.js';
import type { CofferError } from '../../domain/errors.js';
import type { AlertSink, Notice } from './alert-sink.js';

/**
 * Sends each notice to every sink, in the background: a slow or failing receiver never
 * delays detection or a lock. Failures go to `onError`. `close` waits for deliveries in
 * progress, then closes the sinks.
 */
export class AlertDispatcher {
  readonly #pending = new Set<Promise<void>>();

  constructor(
    private readonly sinks: readonly AlertSink[],
    private readonly onError: (err: CofferError, sink: string) => void,
  ) {}

  /** Names of the configured sinks. */
  get names(): string[] {
    return this.sinks.map((s) => s.name);
  }

  notify(notice: Notice): void {
    for (const sink of this.sinks) {
      const p = sink
        .send(notice)
        .catch((err: unknown) => this.onError(isCofferError(err) ? err : new InternalError('alert delivery failed', { cause: err }), sink.name))
        .finally(() => this.#pending.delete(p));
      this.#pending.add(p);
    }
  }

  /** Resolves once every delivery started so far has finished (or failed). */
  async flush(): Promise<void> {
    while (this.#pending.size > 0) await Promise.allSettled([...this.#pending]);
  }

  async close(): Promise<void> {
    await this.flush();
    for (const s of this.sinks) await s.close().catch((err: unknown) => this.onError(isCofferError(err) ? err : new InternalError('alert sink close failed', { cause: err }), s.name));
  }
}
