/**
 * Signs arbitrary S3 requests with SigV4 (Authorization header or presigned query) for
 * tests that need requests no SDK would send: odd headers, headers carried in a presigned
 * query, fuzzed bodies behind a valid signature. It reuses the server's canonical-request
 * code (its correctness is proven by the AWS known-answer vectors in src/s3/sigv4.test.ts
 * and by the real SDKs in test/integration/s3-*.test.ts); here it only opens the door to
 * the parsers behind authentication.
 */
import { createHmac } from 'node:crypto';
import { Readable } from 'node:stream';
import type { S3HttpRequest } from '../../src/s3/s3-http.js';
import { canonicalRequest, sha256Hex, signingKey, toAmzDate } from '../../src/s3/sigv4.js';
import { awsUriEncode, type QueryParam } from '../../src/s3/uri-encode.js';

/** Temporary S3 credentials. */
export interface SigningCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
}

/** What to sign. `path` is the raw (encoded) path; `query` pairs are encoded here. */
export interface UnsignedS3Request {
  method: string;
  path: string;
  query?: [string, string][];
  headers?: Record<string, string>;
  body?: Buffer;
  /** Presigned URL instead of an Authorization header (UNSIGNED-PAYLOAD). */
  presign?: boolean;
  /** X-Amz-Expires of a presigned URL, as sent (default `300`). */
  expires?: string;
  /** Epoch ms of the signature (default now). */
  now?: number;
  host?: string;
}

/** A signed request: path, query and headers to send as they are. */
export interface SignedS3Request {
  method: string;
  rawPath: string;
  rawQuery: string;
  headers: Record<string, string>;
  body: Buffer | undefined;
}

const encodeQuery = (pairs: [string, string][]) => pairs.map(([k, v]) => `${awsUriEncode(k, false)}=${awsUriEncode(v, false)}`).join('&');

/** Signs `input` with `creds` (region us-east-1, service s3). */
export function signS3(creds: SigningCredentials, input: UnsignedS3Request): SignedS3Request {
  const now = input.now ?? Date.now();
  const amzDate = toAmzDate(now);
  const date = amzDate.slice(0, 8);
  const scope = `${date}/us-east-1/s3/aws4_request`;
  const key = signingKey(creds.secretAccessKey, date, 'us-east-1', 's3');
  const headers: Record<string, string> = { host: input.host ?? '127.0.0.1', ...lower(input.headers ?? {}) };
  const query: [string, string][] = [...(input.query ?? [])];
  let payloadHash: string;
  let signedHeaders: string[];
  if (input.presign) {
    payloadHash = 'UNSIGNED-PAYLOAD';
    signedHeaders = ['host'];
    query.push(
      ['X-Amz-Algorithm', 'AWS4-HMAC-SHA256'],
      ['X-Amz-Credential', `${creds.accessKeyId}/${scope}`],
      ['X-Amz-Date', amzDate],
      ['X-Amz-Expires', input.expires ?? '300'],
      ['X-Amz-SignedHeaders', 'host'],
      ['X-Amz-Security-Token', creds.sessionToken],
    );
  } else {
    payloadHash = headers['x-amz-content-sha256'] ?? sha256Hex(input.body ?? Buffer.alloc(0));
    Object.assign(headers, { 'x-amz-date': amzDate, 'x-amz-content-sha256': payloadHash, 'x-amz-security-token': creds.sessionToken });
    if (input.body !== undefined && headers['content-length'] === undefined) headers['content-length'] = String(input.body.length);
    signedHeaders = Object.keys(headers).sort();
  }
  const rawQuery = encodeQuery(query);
  const asServerSees: S3HttpRequest = {
    method: input.method,
    rawPath: input.path,
    rawQuery,
    headers,
    body: Readable.from([]),
    meta: { requestId: 'signer', sourceIp: '127.0.0.1', userAgent: 'signer' },
    signal: new AbortController().signal,
  };
  const params: QueryParam[] = query.map(([name, value]) => ({ name, value }));
  const canonical = canonicalRequest(asServerSees, params, { kind: input.presign ? 'presigned' : 'header', signedHeaders, payloadHash });
  const signature = createHmac('sha256', key).update(`AWS4-HMAC-SHA256\n${amzDate}\n${scope}\n${sha256Hex(canonical)}`, 'utf8').digest('hex');
  if (input.presign) return { method: input.method, rawPath: input.path, rawQuery: `${rawQuery}&X-Amz-Signature=${signature}`, headers, body: input.body };
  headers.authorization = `AWS4-HMAC-SHA256 Credential=${creds.accessKeyId}/${scope},SignedHeaders=${signedHeaders.join(';')},Signature=${signature}`;
  return { method: input.method, rawPath: input.path, rawQuery, headers, body: input.body };
}

function lower(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
}

/** Sends a signed request to `baseUrl` with fetch; answers status, headers and body text. */
export async function sendSigned(baseUrl: string, signed: SignedS3Request): Promise<{ status: number; headers: Headers; text: string }> {
  const url = `${baseUrl}${signed.rawPath}${signed.rawQuery ? `?${signed.rawQuery}` : ''}`;
  const headers = { ...signed.headers };
  delete headers.host;
  delete headers['content-length'];
  const res = await fetch(url, { method: signed.method, headers, ...(signed.body !== undefined ? { body: signed.body } : {}) });
  return { status: res.status, headers: res.headers, text: await res.text() };
}
