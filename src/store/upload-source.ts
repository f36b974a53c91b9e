import type { Readable } from 'node:stream';
import { UploadAbortedError, isCofferError, type CofferError } from '../domain/errors.js';

/**
 * Reads an upload's source stream chunk by chunk, as bytes, so that a blob store adapter
 * can stop waiting at once when the upload fails elsewhere (its signal fires, a part
 * upload fails): {@link SourceReader.cancel} rejects the pending read directly.
 * (Racing every read against one long-lived abort promise kept every chunk reachable
 * until the end, so memory grew with the object.)
 */
export class SourceReader {
  readonly #iterator: AsyncIterator<unknown>;
  #rejectRead: ((err: Error) => void) | null = null;

  constructor(body: Readable) {
    this.#iterator = body[Symbol.asyncIterator]() as AsyncIterator<unknown>;
  }

  /**
   * The next chunk, or null at the end of the stream. A failing source rejects with
   * {@link sourceFailure} of its error; a cancelled read with the reason given to cancel.
   */
  async next(signal: AbortSignal | undefined): Promise<Uint8Array | null> {
    let next: IteratorResult<unknown>;
    try {
      next = await new Promise<IteratorResult<unknown>>((resolve, reject) => {
        this.#rejectRead = reject;
        this.#iterator.next().then(resolve, reject);
      });
    } catch (err) {
      throw sourceFailure(err, signal);
    } finally {
      this.#rejectRead = null;
    }
    return next.done === true ? null : toBytes(next.value);
  }

  /** Rejects the pending read, if any, with `err`. */
  cancel(err: Error): void {
    this.#rejectRead?.(err);
  }
}

/** The catalog error for a source stream that failed: its own catalog error, else UploadAbortedError. */
export function sourceFailure(err: unknown, signal: AbortSignal | undefined): CofferError {
  if (isCofferError(err)) return err;
  if (signal?.aborted) return new UploadAbortedError(undefined, { detail: 'signal aborted during the upload', cause: err });
  const detail = `source stream failed: ${err instanceof Error ? err.message : String(err)}`;
  return new UploadAbortedError(undefined, { detail, cause: err });
}

/** A chunk of the source as bytes (strings as UTF-8); anything else fails the upload. */
export function toBytes(chunk: unknown): Uint8Array {
  if (chunk instanceof Uint8Array) return chunk;
  if (typeof chunk === 'string') return Buffer.from(chunk, 'utf8');
  throw new UploadAbortedError(undefined, { detail: 'source stream produced a chunk that is not bytes' });
}
