import { createHash, createHmac } from 'node:crypto';

/** What an S3 request is signed with (temporary credentials as Coffer issues them). */
export interface S3SigningCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string | undefined;
  region?: string | undefined;
}

/** A request signed with SigV4: the headers to send, and what aws-chunked chunk signatures chain from. */
export interface SignedS3Request {
  headers: Record<string, string>;
  /** Signing key, scope and date of the request, for {@link awsChunkedBody}. */
  chunking: { signingKey: Buffer; scope: string; amzDate: string; seedSignature: string };
}

const EMPTY_SHA256 = createHash('sha256').update('').digest('hex');
/** The payload hash that announces a signed aws-chunked body. */
export const STREAMING_SIGNED = 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD';

const hmac = (key: Buffer | string, data: string) => createHmac('sha256', key).update(data, 'utf8').digest();
const sha256Hex = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');

/** RFC 3986 encoding as SigV4 wants it (`/` kept in paths). */
function uriEncode(text: string, keepSlash: boolean): string {
  return [...Buffer.from(text, 'utf8')]
    .map((b) => {
      const c = String.fromCharCode(b);
      return /[A-Za-z0-9\-._~]/.test(c) || (keepSlash && c === '/') ? c : `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
    })
    .join('');
}

/**
 * Signs an S3 request with SigV4 in the Authorization header, written from the AWS
 * specification independently of the server's verifier (tests that send raw requests
 * over a socket, where an SDK would hide the moment a connection is cut).
 * `path` is the decoded path (`/bucket/key`); `query` the parameters in any order;
 * `headers` must include `host`; every header given is signed.
 */
export function signS3Request(
  input: { method: string; path: string; query?: Array<[string, string]>; headers: Record<string, string>; payloadHash: string; now?: number },
  credentials: S3SigningCredentials,
): SignedS3Request {
  const region = credentials.region ?? 'us-east-1';
  const amzDate = new Date(input.now ?? Date.now()).toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
  const date = amzDate.slice(0, 8);
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(input.headers)) headers[k.toLowerCase()] = v;
  headers['x-amz-date'] = amzDate;
  headers['x-amz-content-sha256'] = input.payloadHash;
  if (credentials.sessionToken !== undefined) headers['x-amz-security-token'] = credentials.sessionToken;
  const names = Object.keys(headers).sort();
  const canonicalQuery = (input.query ?? [])
    .map(([k, v]) => [uriEncode(k, false), uriEncode(v, false)] as const)
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
  const canonical = [
    input.method,
    uriEncode(input.path, true),
    canonicalQuery,
    names.map((n) => `${n}:${headers[n]!.trim().replace(/\s+/g, ' ')}\n`).join(''),
    names.join(';'),
    input.payloadHash,
  ].join('\n');
  const scope = `${date}/${region}/s3/aws4_request`;
  const signingKey = hmac(hmac(hmac(hmac(`AWS4${credentials.secretAccessKey}`, date), region), 's3'), 'aws4_request');
  const signature = hmac(signingKey, `AWS4-HMAC-SHA256\n${amzDate}\n${scope}\n${sha256Hex(canonical)}`).toString('hex');
  headers.authorization = `AWS4-HMAC-SHA256 Credential=${credentials.accessKeyId}/${scope}, SignedHeaders=${names.join(';')}, Signature=${signature}`;
  return { headers, chunking: { signingKey, scope, amzDate, seedSignature: signature } };
}

/** The encoded query string of `query` (for the request line; the same encoding the signature used). */
export function s3Query(query: Array<[string, string]>): string {
  return query.map(([k, v]) => (v === '' ? uriEncode(k, false) : `${uriEncode(k, false)}=${uriEncode(v, false)}`)).join('&');
}

/**
 * The signed aws-chunked framing (STREAMING-AWS4-HMAC-SHA256-PAYLOAD) of `chunks`, the
 * final empty chunk included: each chunk's signature chains from the previous one,
 * starting at the request's seed signature.
 */
export function awsChunkedBody(chunks: Buffer[], chunking: SignedS3Request['chunking']): Buffer {
  let previous = chunking.seedSignature;
  const out: Buffer[] = [];
  for (const chunk of [...chunks, Buffer.alloc(0)]) {
    const signature = hmac(chunking.signingKey, `AWS4-HMAC-SHA256-PAYLOAD\n${chunking.amzDate}\n${chunking.scope}\n${previous}\n${EMPTY_SHA256}\n${sha256Hex(chunk)}`).toString('hex');
    previous = signature;
    out.push(Buffer.from(`${chunk.length.toString(16)};chunk-signature=${signature}\r\n`), chunk, Buffer.from('\r\n'));
  }
  return Buffer.concat(out);
}

/** Bytes of an aws-chunked body for `size` bytes of plaintext split in `chunkSize` chunks. */
export function awsChunkedLength(size: number, chunkSize: number): number {
  const line = (n: number) => `${n.toString(16)};chunk-signature=${'0'.repeat(64)}\r\n`.length + n + 2;
  let total = 0;
  for (let left = size; left > 0; left -= chunkSize) total += line(Math.min(left, chunkSize));
  return total + line(0);
}

/** How a raw S3 request carries its body. */
export type S3BodyEncoding = 'sha256' | 'unsigned' | 'chunked';

/**
 * The bytes of a signed S3 request, ready to write on a raw socket: the head (request
 * line and headers) and the body (as is, or in signed aws-chunked framing of `chunkSize`).
 */
export function rawS3Request(
  s3Url: string,
  credentials: S3SigningCredentials,
  input: { method: string; path: string; query?: Array<[string, string]>; headers?: Record<string, string>; body?: Buffer; encoding?: S3BodyEncoding; chunkSize?: number },
): { head: string; body: Buffer } {
  const host = new URL(s3Url).host;
  const data = input.body ?? Buffer.alloc(0);
  const encoding = input.encoding ?? 'sha256';
  const chunkSize = input.chunkSize ?? 64 * 1024;
  const headers: Record<string, string> = { host, ...input.headers };
  let payloadHash: string;
  if (encoding === 'chunked') {
    headers['content-encoding'] = 'aws-chunked';
    headers['x-amz-decoded-content-length'] = String(data.length);
    headers['content-length'] = String(awsChunkedLength(data.length, chunkSize));
    payloadHash = STREAMING_SIGNED;
  } else {
    headers['content-length'] = String(data.length);
    payloadHash = encoding === 'unsigned' ? 'UNSIGNED-PAYLOAD' : sha256Hex(data);
  }
  const signed = signS3Request({ method: input.method, path: input.path, query: input.query ?? [], headers, payloadHash }, credentials);
  const query = input.query === undefined || input.query.length === 0 ? '' : `?${s3Query(input.query)}`;
  const head = `${input.method} ${uriEncode(input.path, true)}${query} HTTP/1.1\r\n${Object.entries(signed.headers)
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('')}\r\n`;
  if (encoding !== 'chunked') return { head, body: data };
  const chunks: Buffer[] = [];
  for (let i = 0; i < data.length; i += chunkSize) chunks.push(data.subarray(i, i + chunkSize));
  return { head, body: awsChunkedBody(chunks, signed.chunking) };
}
