import { createHmac, timingSafeEqual } from 'node:crypto';
import { newId } from '../domain/ids.js';
import { ACCESS_ID_PREFIX } from './access-types.js';

/** Events the access module announces. */
export const NOTIFICATION_TYPES = [
  'access.requested',
  'access.approved',
  'access.denied',
  'access.revoked',
  'access.expired',
  'breakglass.activated',
  'breakglass.signed-off',
  'promotion.requested',
  'promotion.completed',
  'share.requested',
] as const;
export type NotificationType = (typeof NOTIFICATION_TYPES)[number];

/** One notification. `data` holds ids, names and times, never a secret. */
export interface Notification {
  type: NotificationType;
  /** Epoch ms. */
  time: number;
  /** One human line (the Slack text). */
  summary: string;
  data: Record<string, unknown>;
}

/** Outcome of a delivery: `retrying` when a first attempt failed and the rest went to the background queue. */
export type DeliveryOutcome = 'sent' | 'failed' | 'retrying' | 'disabled';

/** Where notifications go. Implementations never throw into the caller. */
export interface Notifier {
  /** Queues a notification for delivery in the background. */
  notify(notification: Notification): void;
  /**
   * Delivers now and reports the outcome. With `urgent`, only one attempt is awaited
   * (an emergency must not wait on a dead receiver); if it fails, the retries continue
   * in the background and the outcome is `retrying`.
   */
  deliver(notification: Notification, options?: { urgent?: boolean }): Promise<DeliveryOutcome>;
  /** Waits (bounded) for queued deliveries, then stops accepting new ones. */
  close(): Promise<void>;
}

/** Signature header value: `sha256=` + hex HMAC-SHA256 over `<timestamp>.<body>`. */
export function signWebhook(secret: string, timestamp: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`, 'utf8').digest('hex')}`;
}

/**
 * What a receiver does: recompute the signature over `<timestamp>.<body>` and compare
 * in constant time, and reject timestamps more than `toleranceSeconds` away from its
 * clock (so a captured delivery cannot be replayed later).
 */
export function verifyWebhookSignature(input: { secret: string; timestamp: string | undefined; body: string; signature: string | undefined; nowSeconds: number; toleranceSeconds?: number }): boolean {
  const { timestamp, signature } = input;
  if (timestamp === undefined || signature === undefined || !/^\d{1,12}$/.test(timestamp)) return false;
  if (Math.abs(input.nowSeconds - Number(timestamp)) > (input.toleranceSeconds ?? 300)) return false;
  const expected = Buffer.from(signWebhook(input.secret, timestamp, input.body), 'utf8');
  const given = Buffer.from(signature, 'utf8');
  return expected.length === given.length && timingSafeEqual(expected, given);
}

/** Options of {@link WebhookNotifier}. */
export interface WebhookOptions {
  url: string;
  secret: string;
  /** `coffer`: `{id, type, time, data, summary}`; `slack`: `{text}` (an incoming-webhook body). */
  format: 'coffer' | 'slack';
  /** Epoch ms (the injectable clock of the runtime). */
  clock: () => number;
  warn: (message: string, detail: Record<string, unknown>) => void;
  /** Per attempt. Default 5000 ms. */
  timeoutMs?: number;
  /** Delays before the 2nd, 3rd... attempts. Default [500, 2000]. */
  retryDelaysMs?: number[];
  /** Background queue bound; beyond it notifications are dropped with a warning. Default 1000. */
  maxQueue?: number;
}

/**
 * Sends signed JSON to one URL. Headers: `x-coffer-timestamp` (epoch seconds),
 * `x-coffer-signature` (see {@link signWebhook}), `x-coffer-event`, `x-coffer-delivery`.
 * Background deliveries run one at a time, in order.
 */
export class WebhookNotifier implements Notifier {
  readonly #options: Required<Omit<WebhookOptions, 'retryDelaysMs'>> & { retryDelaysMs: number[] };
  readonly #queue: Notification[] = [];
  #running: Promise<void> | null = null;
  #closed = false;

  constructor(options: WebhookOptions) {
    this.#options = { timeoutMs: 5000, retryDelaysMs: [500, 2000], maxQueue: 1000, ...options };
  }

  notify(notification: Notification): void {
    if (this.#closed) return;
    if (this.#queue.length >= this.#options.maxQueue) {
      this.#options.warn('webhook queue full: notification dropped', { type: notification.type });
      return;
    }
    this.#queue.push(notification);
    this.#running ??= this.#drain().finally(() => {
      this.#running = null;
    });
  }

  async deliver(notification: Notification, options: { urgent?: boolean } = {}): Promise<DeliveryOutcome> {
    if (options.urgent === true) {
      if ((await this.#attempt(notification, newId(ACCESS_ID_PREFIX.event))) === null) return 'sent';
      this.notify(notification);
      return 'retrying';
    }
    const delays = [0, ...this.#options.retryDelaysMs];
    const deliveryId = newId(ACCESS_ID_PREFIX.event);
    let last = '';
    for (const delay of delays) {
      if (delay > 0) await sleep(delay);
      const failure = await this.#attempt(notification, deliveryId);
      if (failure === null) return 'sent';
      last = failure;
    }
    // the URL can carry a token (Slack): log the event type and reason only
    this.#options.warn('webhook delivery failed', { type: notification.type, delivery: deliveryId, reason: last });
    return 'failed';
  }

  async close(): Promise<void> {
    this.#closed = true;
    const running = this.#running;
    if (running === null) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([running, new Promise<void>((resolve) => (timer = setTimeout(resolve, this.#options.timeoutMs * 2)))]);
    clearTimeout(timer);
  }

  /** One POST; null when the receiver accepted it (2xx), else why not. */
  async #attempt(notification: Notification, deliveryId: string): Promise<string | null> {
    try {
      const status = await this.#post(notification, deliveryId);
      return status >= 200 && status < 300 ? null : `status ${status}`;
    } catch (err) {
      return (err as Error).name === 'TimeoutError' ? 'timeout' : ((err as { cause?: { code?: string } }).cause?.code ?? 'error');
    }
  }

  async #drain(): Promise<void> {
    for (let next = this.#queue.shift(); next !== undefined; next = this.#queue.shift()) {
      await this.deliver(next);
    }
  }

  async #post(notification: Notification, deliveryId: string): Promise<number> {
    const body = JSON.stringify(this.#options.format === 'slack' ? { text: notification.summary } : { id: deliveryId, type: notification.type, time: new Date(notification.time).toISOString(), summary: notification.summary, data: notification.data });
    const timestamp = String(Math.floor(this.#options.clock() / 1000));
    const res = await fetch(this.#options.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'user-agent': 'coffer-webhook/1',
        'x-coffer-event': notification.type,
        'x-coffer-delivery': deliveryId,
        'x-coffer-timestamp': timestamp,
        'x-coffer-signature': signWebhook(this.#options.secret, timestamp, body),
      },
      body,
      redirect: 'manual',
      signal: AbortSignal.timeout(this.#options.timeoutMs),
    });
    await res.body?.cancel().catch(() => undefined);
    return res.status;
  }
}

/** The notifier when no webhook is configured: nothing is sent. */
export class DisabledNotifier implements Notifier {
  notify(): void {}
  deliver(): Promise<DeliveryOutcome> {
    return Promise.resolve('disabled');
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
