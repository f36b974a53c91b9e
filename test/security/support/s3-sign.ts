/**
 * Raw S3 requests signed with SigV4 by the AWS SDK's own signer (@smithy/signature-v4),
 * sent to an S3 listener with inject(): the suites see the exact status, headers and
 * body Coffer answers, with no client retries or error parsing in between.
 */
import { createHash, createHmac, type Hash, type Hmac } from 'node:crypto';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { SignatureV4 } from '@smithy/signature-v4';

/** Temporary S3 credentials as `POST /v1/s3/credentials` returns them. */
export interface S3Keys {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
}

function toBytes(d: Uint8Array | string | ArrayBuffer | ArrayBufferView | undefined): Uint8Array | string | undefined {
  if (d === undefined || typeof d === 'string' || d instanceof Uint8Array) return d;
  return ArrayBuffer.isView(d) ? new Uint8Array(d.buffer, d.byteOffset, d.byteLength) : new Uint8Array(d);
}

/** SHA-256 (or HMAC-SHA256 with a key) in the signer's Checksum shape. */
class NodeSha256 {
  #h: Hash | Hmac;
  readonly #secret: Uint8Array | string | undefined;
  constructor(secret?: Uint8Array | string | ArrayBuffer | ArrayBufferView) {
    this.#secret = toBytes(secret);
    this.#h = this.#fresh();
  }
  #fresh(): Hash | Hmac {
    return this.#secret === undefined ? createHash('sha256') : createHmac('sha256', this.#secret);
  }
  update(data: Uint8Array | string | ArrayBuffer | ArrayBufferView): void {
    this.#h.update(toBytes(data)!);
  }
  digest(): Promise<Uint8Array> {
    return Promise.resolve(new Uint8Array(this.#h.digest()));
  }
  reset(): void {
    this.#h = this.#fresh();
  }
}

/** An S3 request before signing. `query` values `''` are sent as `name=`. */
export interface RawS3Request {
  method: string;
  /** Decoded path, e.g. `/bucket/key`. */
  path: string;
  query?: Record<string, string>;
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** The client address the listener sees (default 127.0.0.1). */
  remoteAddress?: string;
}

/** Signs `r` with `keys` (SigV4, unsigned payload) and sends it to `app`. */
export async function sendS3(app: FastifyInstance, keys: S3Keys | null, r: RawS3Request): Promise<LightMyRequestResponse> {
  const encodedPath = r.path.split('/').map((s) => encodeURIComponent(s)).join('/');
  const headers: Record<string, string> = { host: 'localhost', 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD', ...r.headers };
  if (r.body !== undefined) headers['content-length'] = String(Buffer.byteLength(r.body));
  let signed = headers;
  if (keys !== null) {
    const signer = new SignatureV4({ credentials: keys, region: 'us-east-1', service: 's3', sha256: NodeSha256, uriEscapePath: false, applyChecksum: false });
    const request = await signer.sign({ method: r.method, protocol: 'http:', hostname: 'localhost', path: encodedPath, query: r.query ?? {}, headers });
    signed = request.headers;
  }
  const qs = Object.entries(r.query ?? {})
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`)
    .join('&');
  return app.inject({ method: r.method as 'GET', url: encodedPath + (qs === '' ? '' : `?${qs}`), headers: signed, ...(r.body !== undefined ? { payload: r.body } : {}), ...(r.remoteAddress !== undefined ? { remoteAddress: r.remoteAddress } : {}) });
}
