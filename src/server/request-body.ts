import type { IncomingMessage, ServerResponse } from 'node:http';
import { PassThrough } from 'node:stream';
import { UploadAbortedError } from '../domain/errors.js';
import { destroySafely, guard } from '../streams/index.js';

/** Most of a refused body read and discarded before answering; a larger rest closes the connection. */
export const DRAIN_LIMIT = 256 * 1024 * 1024;
/** Longest wait for a refused body's rest before answering anyway (and closing the connection). */
export const DRAIN_TIMEOUT_MS = 30_000;

/**
 * The body of one HTTP request, owned by the transport from the first byte to the answer
 * (REST uploads and every S3 request). Its listeners are attached once, when it is made:
 *
 * - {@link stream} is what the service reads: a guarded pass-through fed from the socket.
 *   A storage failure destroys this stream, never the request, so the client still gets
 *   the real error; a client that hangs up mid-body fails it with one UploadAbortedError;
 *   no error on it can go unhandled, whether the service is reading it yet or not.
 * - {@link signal} aborts when the client goes away before its body arrived whole or
 *   before the answer was written, so the vault stops and keeps nothing.
 * - {@link settle} runs once the answer is decided and the service is done with the body:
 *   it stops feeding the service and discards a modest rest, so a keep-alive client
 *   finishes sending and reads the answer instead of a reset.
 * - {@link dispose} releases the pass-through when the request is over.
 *
 * INVARIANT: the socket is never destroyed here; only the transport decides to cut a connection.
 */
export class RequestBody {
  /** The body as the service reads it. */
  readonly stream: PassThrough;
  readonly #req: IncomingMessage;
  readonly #res: ServerResponse;
  readonly #controller = new AbortController();
  readonly #deferContinue: boolean;
  #continued = false;

  /**
   * `deferContinue`: the transport answers `Expect: 100-continue` itself, only when the
   * service calls {@link proceed} (so a refused request never uploads its body).
   */
  constructor(req: IncomingMessage, res: ServerResponse, options: { deferContinue?: boolean } = {}) {
    this.#req = req;
    this.#res = res;
    this.#deferContinue = options.deferContinue === true;
    this.stream = guard(new PassThrough({ highWaterMark: 1024 * 1024 }));
    // IncomingMessage emits `error` only when someone listens: we do, and map every end
    // of a body that did not arrive whole to one UploadAbortedError on the service's stream
    req.on('error', () => this.#clientGone());
    req.once('close', () => {
      if (!req.complete) this.#clientGone();
    });
    res.once('close', () => {
      // never after a normal end: an abort builds a DOMException, a cost not worth paying on every request
      if (!res.writableFinished) this.#controller.abort();
    });
    req.pipe(this.stream);
  }

  /** Aborted when the client goes away before its body arrived whole or before the answer was written. */
  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  /** Sends `100 Continue` to a client waiting for it (deferred mode; once). */
  proceed(): void {
    if (!this.#deferContinue || this.#continued || this.#res.destroyed) return;
    if (this.#req.headers.expect?.toLowerCase() !== '100-continue') return;
    this.#continued = true;
    this.#res.writeContinue();
  }

  /**
   * The service is done with the body: stops feeding it and reads and discards what is
   * left, up to `limit` bytes or `timeoutMs`. Resolves true if the body was read whole
   * (the connection can be kept), false if the rest was cut short, the client is gone,
   * or it never sent the body (deferred `100 Continue` not given): then the transport
   * answers with `connection: close`.
   */
  async settle(limit = DRAIN_LIMIT, timeoutMs = DRAIN_TIMEOUT_MS): Promise<boolean> {
    const req = this.#req;
    if (req.complete) return true;
    if (req.destroyed || this.#controller.signal.aborted) return false;
    // a client waiting for `100 Continue` never sends the body: nothing to wait for
    if (this.#deferContinue && !this.#continued && req.headers.expect?.toLowerCase() === '100-continue') return false;
    req.unpipe(this.stream);
    return new Promise((resolve) => {
      let seen = 0;
      const done = () => {
        clearTimeout(timer);
        req.off('data', onData);
        req.off('end', done);
        req.off('close', done);
        req.pause();
        resolve(req.complete);
      };
      const onData = (chunk: Buffer) => {
        seen += chunk.length;
        if (seen > limit) done();
      };
      const timer = setTimeout(done, timeoutMs);
      req.on('data', onData);
      req.once('end', done);
      req.once('close', done);
      req.resume();
    });
  }

  /** Releases the service's stream (whatever it did not read is dropped). Idempotent. */
  dispose(): void {
    this.#req.unpipe(this.stream);
    destroySafely(this.stream);
  }

  #clientGone(): void {
    if (!this.#controller.signal.aborted) this.#controller.abort();
    destroySafely(this.stream, new UploadAbortedError(undefined, { detail: 'the client went away before its body arrived whole' }));
  }
}
