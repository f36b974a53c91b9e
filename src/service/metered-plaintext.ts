import { Transform } from 'node:stream';
import type { Readable } from 'node:stream';
import { isCofferError } from '../domain/errors.js';
import type { ByteRange } from '../store/blob-store.js';
import { RangeNotSatisfiableError } from '../domain/errors.js';
import { destroySafely, guard } from '../streams/index.js';
import type { DownloadSlot } from './download-slot.js';

/** A RangeNotSatisfiableError that carries the object size for Content-Range. */
export class RangeNotSatisfiable extends RangeNotSatisfiableError {
  constructor(readonly objectSize: number) {
    super();
  }
}

/** Resolves an HTTP-style range (start-end, start-, -suffix) against a size. */
export function resolveRange(r: { start?: number; end?: number; suffix?: number }, size: number): ByteRange {
  let start: number;
  let end: number;
  if (r.suffix !== undefined) {
    start = Math.max(0, size - r.suffix);
    end = size - 1;
  } else {
    start = r.start ?? 0;
    end = Math.min(r.end ?? size - 1, size - 1);
  }
  if (size === 0 || start > end || start >= size) throw new RangeNotSatisfiable(size);
  return { start, end };
}

/** How a metered download ended: bytes that really left, and why it stopped if it failed. */
export type DownloadOutcome = { outcome: 'success'; bytes: number } | { outcome: 'failure'; bytes: number; reason: string };

/**
 * Wraps a plaintext stream from the vault for serving: counts the bytes that really
 * leave (without putting the stream into flowing mode), reports the outcome exactly
 * once (end, error or a client that went away), and authenticates the first segment
 * before resolving, so a tampered or missing object fails as one clean error before
 * any status line is sent. Every download path (REST, share links, S3) serves through it,
 * with the slot it opened before recording its attempt (download-slot.ts), so a lock
 * cuts the download from the first byte on.
 */
export async function meterPlaintext(body: Readable, onDone: (result: DownloadOutcome) => void, options: { expectBytes?: boolean; slot?: DownloadSlot } = {}): Promise<Readable> {
  let finished = false;
  let sent = 0;
  const finish = (result: DownloadOutcome) => {
    if (finished) return;
    finished = true;
    onDone(result);
  };
  // INVARIANT: guarded from birth: a lock or a client gone may destroy the response body
  // before the transport takes it, and after the transport let go of it
  const meter = guard(
    new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        sent += chunk.length;
        callback(null, chunk);
      },
    }),
  );
  guard(body).on('error', (err) => destroySafely(meter, err));
  body.pipe(meter);
  meter.once('end', () => finish({ outcome: 'success', bytes: sent }));
  meter.once('error', (err) => finish({ outcome: 'failure', bytes: sent, reason: isCofferError(err) ? err.code : 'error' }));
  meter.once('close', () => {
    finish({ outcome: 'failure', bytes: sent, reason: 'client-disconnected' });
    // release the vault stream and its file handle when the consumer goes away early
    if (!body.destroyed) body.destroy();
  });
  // a lock cuts it from now on (or at once, if it fell while the download was being opened)
  options.slot?.attach(meter);
  if (options.expectBytes !== false) {
    try {
      await firstReadable(meter);
    } catch (err) {
      meter.destroy();
      throw err;
    }
  }
  return meter;
}

/** Resolves once `stream` has data buffered or has ended; rejects with its error. Consumes nothing. */
function firstReadable(stream: Readable): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = (err?: Error) => {
      stream.off('readable', onReadable);
      stream.off('error', onError);
      if (err) reject(err);
      else resolve();
    };
    const onReadable = () => done();
    const onError = (err: Error) => done(err);
    stream.once('readable', onReadable);
    stream.once('error', onError);
  });
}
