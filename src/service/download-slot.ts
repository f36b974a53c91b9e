import type { Readable } from 'node:stream';
import { PrincipalDisabledError } from '../domain/errors.js';
import type { MetadataStore } from '../store/metadata-store.js';
import { destroySafely } from '../streams/index.js';

/**
 * One download of a principal, from before its attempt is recorded until its stream
 * closes, so a lock can cut it at any moment: before a byte was read (the download is
 * refused when it tries to start), or while it is being sent (the stream is destroyed).
 */
export class DownloadSlot {
  readonly #controller = new AbortController();
  readonly #onEnd: () => void;
  #stream: Readable | null = null;
  #ended = false;

  /** `onEnd` runs once, when the slot ends (its stream closed, or it was closed without one). */
  constructor(onEnd: () => void = () => undefined) {
    this.#onEnd = onEnd;
  }

  /** Aborted, with the lock's error as reason, once the download is cut. */
  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  /** Cuts the download: its stream is destroyed with `reason` now, or as soon as it is attached. */
  cut(reason: Error): void {
    if (!this.#controller.signal.aborted) this.#controller.abort(reason);
    if (this.#stream !== null) destroySafely(this.#stream, reason);
  }

  /** Throws the lock's error if the download was cut before it started. */
  throwIfCut(): void {
    if (this.#controller.signal.aborted) throw this.#controller.signal.reason as Error;
  }

  /** What a failure of this download is reported as: the lock's error once cut, else `err`. */
  failureOf(err: unknown): unknown {
    return this.#controller.signal.aborted ? this.#controller.signal.reason : err;
  }

  /** The stream being sent; the slot ends when it closes. A slot already cut destroys it at once. */
  attach(stream: Readable): void {
    if (this.#ended) return;
    this.#stream = stream;
    stream.once('close', () => this.close());
    if (this.#controller.signal.aborted) destroySafely(stream, this.#controller.signal.reason as Error);
  }

  /** Ends the slot (refused or failed before serving, or done). Idempotent. */
  close(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#onEnd();
  }
}

/** Where slots are kept, by principal, so a lock finds them (the monitor's InflightDownloads). */
export interface InflightRegistry {
  /** Opens a slot for a download of `principalId`; it leaves the registry when it ends. */
  open(principalId: string): DownloadSlot;
}

/**
 * Opens the slot of a download by `principalId`. Every download path (REST, share link,
 * S3 GetObject and copy sources) calls this BEFORE writing the audit record of its
 * attempt, and attaches the stream it serves (meterPlaintext does), so:
 *
 * - a lock triggered by the attempt record itself, or by anything later, finds the slot
 *   and cuts the download, whether it has started sending or not;
 * - a lock that fell between the caller's authentication and this call is seen by the
 *   re-read of the principal below (a lock disables first, then cuts the slots it finds).
 *
 * INVARIANT: open the slot, then re-read; the locker disables, then cuts. Whatever the
 * interleaving, one of the two sees the other.
 */
export async function openDownloadSlot(deps: { store: Pick<MetadataStore, 'getPrincipal'>; inflight?: InflightRegistry | undefined }, principalId: string): Promise<DownloadSlot> {
  const slot = deps.inflight?.open(principalId) ?? new DownloadSlot();
  try {
    const principal = await deps.store.getPrincipal(principalId);
    if (principal === null || principal.disabled) slot.cut(new PrincipalDisabledError());
  } catch (err) {
    slot.close();
    throw err;
  }
  return slot;
}

/** The signal a download's vault read stops on: the client going away, or the slot being cut. */
export function downloadSignal(slot: DownloadSlot, client: AbortSignal | undefined): AbortSignal {
  return client === undefined ? slot.signal : AbortSignal.any([client, slot.signal]);
}
