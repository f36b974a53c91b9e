import type { Readable, Writable } from 'node:stream';
import { RequestAbortedError, type CofferError } from '../domain/errors.js';
import { destroySafely, guard } from '../streams/index.js';

/**
 * Pipes an adapter's raw `source` (a file, an HTTP body) into `out`, the stream handed to
 * the caller: a source error becomes `mapError(err)` on `out`, the caller's `signal` cuts
 * `out` with RequestAbortedError, and whenever `out` closes (read to the end, destroyed,
 * or dropped early by the consumer) the source is destroyed, releasing its file handle or
 * connection.
 */
export function pipeBlobRead<T extends Readable & Writable>(source: Readable, out: T, signal: AbortSignal | undefined, mapError: (err: Error) => CofferError): T {
  // guarded from birth: an abort may destroy `out` before the caller attaches its listeners
  guard(out);
  source.on('error', (err) => destroySafely(out, mapError(err)));
  source.pipe(out);
  const onAbort = () => destroySafely(out, new RequestAbortedError());
  signal?.addEventListener('abort', onAbort, { once: true });
  out.once('close', () => {
    signal?.removeEventListener('abort', onAbort);
    source.destroy();
  });
  return out;
}
