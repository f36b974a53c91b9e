import { ConfigInvalidError, StorageError } from '../../domain/errors.js';
import type { AlertSink, Notice } from './alert-sink.js';
import { SIGNATURE_HEADER, TIMESTAMP_HEADER, signWebhook } from './webhook-signature.js';

/** Options of {@link WebhookAlertSink}. */
export interface WebhookOptions {
  url: string;
  /** Shared secret of the HMAC signature. */
  secret: string;
  /** Per attempt (default 5000 ms). */
  timeoutMs?: number;
  /** Attempts in all (default 3), with 0.5 s, 1 s... between them. */
  attempts?: number;
  /** Clock in epoch ms (signing time). */
  now?: () => number;
}

/**
 * POSTs each alert as JSON to a URL, signed with HMAC-SHA256 over the timestamp and
 * the body (headers `x-coffer-timestamp`, `x-coffer-signature: v1=<hex>`; receivers
 * check them with verifyWebhookSignature). Retries a few times on failure or a 5xx.
 */
export class WebhookAlertSink implements AlertSink {
  readonly name = 'webhook';
  readonly #o: Required<WebhookOptions>;

  constructor(options: WebhookOptions) {
    if (options.secret.length < 16) throw new ConfigInvalidError('monitor webhook secret must have at least 16 characters');
    this.#o = { timeoutMs: 5000, attempts: 3, now: Date.now, ...options };
  }

  async send(notice: Notice): Promise<void> {
    const body = JSON.stringify(notice);
    let last: unknown = null;
    for (let attempt = 0; attempt < this.#o.attempts; attempt++) {
      if (attempt > 0) await new Promise((r) => setTimeout(r, 500 * 2 ** (attempt - 1)));
      const ts = Math.floor(this.#o.now() / 1000);
      try {
        const res = await fetch(this.#o.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'user-agent': 'coffer-monitor', [TIMESTAMP_HEADER]: String(ts), [SIGNATURE_HEADER]: signWebhook(this.#o.secret, ts, body) },
          body,
          signal: AbortSignal.timeout(this.#o.timeoutMs),
          redirect: 'error',
        });
        await res.body?.cancel();
        if (res.ok) return;
        last = new Error(`status ${res.status}`);
        // a 4xx will not get better by retrying
        if (res.status < 500) break;
      } catch (err) {
        last = err;
      }
    }
    // the URL may carry a token in its query: log the origin only
    throw new StorageError('alert webhook delivery failed', { detail: `webhook ${new URL(this.#o.url).origin}: ${String((last as Error | null)?.message ?? last)}`, cause: last });
  }

  async close(): Promise<void> {}
}
