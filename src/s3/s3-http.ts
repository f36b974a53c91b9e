import type { Readable } from 'node:stream';
import type { RequestMeta } from '../service/deps.js';

/**
 * An S3 request as the protocol layer sees it, independent of the HTTP framework:
 * the raw path and query (signatures are computed over them), lowercase headers and
 * the raw body stream (never parsed or buffered by the transport).
 */
export interface S3HttpRequest {
  /** Uppercase method. */
  method: string;
  /** Path as sent, still percent-encoded, without the query. */
  rawPath: string;
  /** Query string as sent, without `?`. */
  rawQuery: string;
  /** Lowercase names; repeated headers joined with `,`. */
  headers: Record<string, string>;
  body: Readable;
  meta: RequestMeta;
  /** Fires when the client goes away. */
  signal: AbortSignal;
  /** Sends `100 Continue` to a client waiting for it (called right before the body is read). */
  proceed?: () => void;
}

/** An S3 answer; the transport writes it as is (no body on HEAD). */
export interface S3HttpResponse {
  status: number;
  headers: Record<string, string>;
  /** XML text, bytes, or a stream (object content, or a Complete answer with keep-alive whitespace). */
  body?: string | Buffer | Readable;
}

/** A header of the request, or undefined. */
export function header(request: S3HttpRequest, name: string): string | undefined {
  return request.headers[name];
}
