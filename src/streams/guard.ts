import type { Stream } from 'node:stream';

const FAILURE = Symbol('coffer.streamFailure');

interface Guarded {
  [FAILURE]?: { error: Error | null };
}

/**
 * Gives `stream` an `error` listener for the rest of its life and returns it.
 *
 * Node ends the process when a stream emits `error` while nobody listens, and on a
 * request path that moment is chosen by the client: a body destroyed because the
 * client hung up before the service started reading it, a decoder failing before the
 * vault attached, a response stream cut by a lock before the transport took it. Every
 * stream Coffer creates on a request path is guarded at birth, so no such moment exists.
 *
 * Nothing is swallowed: the first error is kept ({@link failureOf}), and a consumer that
 * attaches later (`pipeline`, `finished`, async iteration) sees a destroyed, errored
 * stream and reports that error as if it had been listening all along.
 * Idempotent; costs one listener.
 */
export function guard<T extends Stream>(stream: T): T {
  const s = stream as T & Guarded;
  if (s[FAILURE] !== undefined) return stream;
  const state = { error: null as Error | null };
  s[FAILURE] = state;
  stream.on('error', (err: Error) => {
    state.error ??= err;
  });
  return stream;
}

/** The first error a guarded stream emitted, or null (also for a stream never guarded). */
export function failureOf(stream: Stream): Error | null {
  return (stream as Stream & Guarded)[FAILURE]?.error ?? null;
}

/**
 * Destroys `stream` (with `err`, if given) so that the destruction can never emit an
 * unhandled error: the stream is guarded first. A stream already destroyed is left alone.
 */
export function destroySafely(stream: Stream & { destroy(err?: Error): unknown; destroyed?: boolean }, err?: Error): void {
  guard(stream);
  if (stream.destroyed === true) return;
  stream.destroy(err);
}
