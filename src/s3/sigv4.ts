import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { S3RequestError, S3RequestExpiredError, S3RequestTimeSkewedError, S3SignatureMismatchError } from '../domain/errors.js';
import type { S3HttpRequest } from './s3-http.js';
import { awsUriEncode, parseQuery, percentDecode, type QueryParam } from './uri-encode.js';

/** Largest clock difference accepted between a signed request and the server (AWS's 15 minutes). */
export const MAX_SKEW_MS = 15 * 60 * 1000;
/** Longest lifetime of a SigV4 presigned URL (AWS's 7 days). */
const MAX_PRESIGN_SECONDS = 7 * 24 * 3600;
/** SHA-256 of the empty string. */
export const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

/** The parsed SigV4 fields of a request (Authorization header or presigned query). */
export interface SigV4Request {
  kind: 'header' | 'presigned';
  accessKeyId: string;
  /** `YYYYMMDD` of the credential scope. */
  scopeDate: string;
  region: string;
  service: string;
  /** `YYYYMMDDTHHMMSSZ`. */
  amzDate: string;
  signedHeaders: string[];
  signature: string;
  /** Presigned only: lifetime in seconds. */
  expiresSeconds: number | null;
  sessionToken: string | undefined;
  /** The payload hash the client signed (`x-amz-content-sha256`, or UNSIGNED-PAYLOAD for presigned). */
  payloadHash: string;
}

/** What a verified SigV4 request leaves for verifying aws-chunked chunk signatures. */
export interface SigV4Context {
  signingKey: Buffer;
  scope: string;
  amzDate: string;
  seedSignature: string;
}

const malformed = (message: string) => new S3RequestError(message, { s3Code: 'AuthorizationHeaderMalformed' });
const queryMalformed = (message: string) => new S3RequestError(message, { s3Code: 'AuthorizationQueryParametersError' });

/**
 * Parses SigV4 from the Authorization header or the presigned query; null if the
 * request is not SigV4. Malformed fields reject with the S3 error clients expect.
 */
export function parseSigV4(request: S3HttpRequest, query: QueryParam[]): SigV4Request | null {
  const auth = request.headers.authorization;
  if (auth !== undefined && auth.startsWith('AWS4-HMAC-SHA256')) {
    const fields = new Map<string, string>();
    for (const part of auth.slice('AWS4-HMAC-SHA256'.length).split(',')) {
      const eq = part.indexOf('=');
      if (eq > 0) fields.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
    }
    const credential = fields.get('Credential');
    const signedHeaders = fields.get('SignedHeaders');
    const signature = fields.get('Signature');
    if (credential === undefined || signedHeaders === undefined || signature === undefined) throw malformed('the authorization header is malformed');
    const amzDate = request.headers['x-amz-date'] ?? fromHttpDate(request.headers.date);
    if (amzDate === undefined) throw new S3RequestError('request is missing a valid x-amz-date or date header', { s3Code: 'AccessDenied' });
    const scope = parseCredential(credential, malformed);
    const bodyless = request.headers['content-length'] === undefined || request.headers['content-length'] === '0';
    const payloadHash = request.headers['x-amz-content-sha256'] ?? (bodyless && request.headers['transfer-encoding'] === undefined ? EMPTY_SHA256 : undefined);
    if (payloadHash === undefined) throw new S3RequestError('missing required header for this request: x-amz-content-sha256', { s3Code: 'InvalidRequest' });
    return {
      kind: 'header',
      ...scope,
      amzDate,
      signedHeaders: signedHeaders.split(';'),
      signature,
      expiresSeconds: null,
      sessionToken: request.headers['x-amz-security-token'],
      payloadHash,
    };
  }
  const get = (name: string) => query.find((p) => p.name === name)?.value;
  const algorithm = get('X-Amz-Algorithm');
  if (algorithm === undefined) return null;
  if (algorithm !== 'AWS4-HMAC-SHA256') throw queryMalformed('X-Amz-Algorithm only supports "AWS4-HMAC-SHA256"');
  const credential = get('X-Amz-Credential');
  const amzDate = get('X-Amz-Date');
  const expires = get('X-Amz-Expires');
  const signedHeaders = get('X-Amz-SignedHeaders');
  const signature = get('X-Amz-Signature');
  if (credential === undefined || amzDate === undefined || expires === undefined || signedHeaders === undefined || signature === undefined) {
    throw queryMalformed('query-string authentication requires the X-Amz-Credential, X-Amz-Date, X-Amz-Expires, X-Amz-SignedHeaders and X-Amz-Signature parameters');
  }
  if (!/^-?\d{1,15}$/.test(expires)) throw queryMalformed('X-Amz-Expires must be a number of seconds');
  // a lifetime out of range is a URL that is not valid now: 403 AccessDenied, as S3 answers
  if (Number(expires) < 1 || Number(expires) > MAX_PRESIGN_SECONDS) throw new S3RequestError('request has expired: X-Amz-Expires must be between 1 and 604800 seconds', { s3Code: 'AccessDenied' });
  return {
    kind: 'presigned',
    ...parseCredential(credential, queryMalformed),
    amzDate,
    signedHeaders: signedHeaders.split(';'),
    signature,
    expiresSeconds: Number(expires),
    sessionToken: get('X-Amz-Security-Token') ?? request.headers['x-amz-security-token'],
    payloadHash: request.headers['x-amz-content-sha256'] ?? 'UNSIGNED-PAYLOAD',
  };
}

function parseCredential(credential: string, fail: (m: string) => S3RequestError): { accessKeyId: string; scopeDate: string; region: string; service: string } {
  const parts = credential.split('/');
  if (parts.length !== 5 || parts[4] !== 'aws4_request' || !/^\d{8}$/.test(parts[1]!) || parts[0] === '' || !/^[a-z0-9-]{1,64}$/.test(parts[2]!)) {
    throw fail('the credential is malformed: expected ACCESS_KEY/YYYYMMDD/REGION/s3/aws4_request');
  }
  if (parts[3] !== 's3') throw fail(`the credential is for the service \`${parts[3]!.slice(0, 20)}\`, not s3`);
  return { accessKeyId: parts[0]!, scopeDate: parts[1]!, region: parts[2]!, service: parts[3] };
}

/** `YYYYMMDDTHHMMSSZ` from an HTTP date header, or undefined. */
function fromHttpDate(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const t = Date.parse(value);
  return Number.isNaN(t) ? undefined : toAmzDate(t);
}

/** Epoch ms as `YYYYMMDDTHHMMSSZ`. */
export function toAmzDate(ms: number): string {
  return new Date(ms).toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
}

/** Epoch ms of `YYYYMMDDTHHMMSSZ`, or NaN. */
export function parseAmzDate(text: string): number {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(text);
  if (!m) return NaN;
  return Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]));
}

/** The SigV4 signing key: HMAC chain over date, region, service, `aws4_request`. */
export function signingKey(secret: string, date: string, region: string, service: string): Buffer {
  const kDate = hmac(Buffer.from(`AWS4${secret}`, 'utf8'), date);
  return hmac(hmac(hmac(kDate, region), service), 'aws4_request');
}

/** HMAC-SHA256. */
export function hmac(key: Buffer, data: string): Buffer {
  return createHmac('sha256', key).update(data, 'utf8').digest();
}

/** Lowercase hex SHA-256. */
export function sha256Hex(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** The canonical request of SigV4 for S3 (path encoded once, not normalized). */
export function canonicalRequest(request: S3HttpRequest, query: QueryParam[], parsed: Pick<SigV4Request, 'kind' | 'signedHeaders' | 'payloadHash'>): string {
  const path = percentDecode(request.rawPath);
  if (path === null) throw new S3RequestError('the request path is not valid', { s3Code: 'InvalidURI' });
  const canonicalUri = awsUriEncode(path === '' ? '/' : path, true);
  const params = query
    .filter((p) => !(parsed.kind === 'presigned' && p.name === 'X-Amz-Signature'))
    .map((p) => [awsUriEncode(p.name, false), awsUriEncode(p.value, false)] as const)
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
  const headerLines = parsed.signedHeaders.map((name) => `${name}:${(request.headers[name] ?? '').trim().replace(/\s+/g, ' ')}\n`).join('');
  return `${request.method}\n${canonicalUri}\n${params}\n${headerLines}\n${parsed.signedHeaders.join(';')}\n${parsed.payloadHash}`;
}

/**
 * Verifies a SigV4 request with the credential's secret: request time (15 minutes of
 * skew; presigned expiry), the scope date, `host` among the signed headers, and the
 * signature, compared in constant time.
 */
export function verifySigV4(request: S3HttpRequest, query: QueryParam[], parsed: SigV4Request, secret: string, now: number): SigV4Context {
  const at = parseAmzDate(parsed.amzDate);
  if (Number.isNaN(at)) throw new S3RequestError('x-amz-date is not a valid date', { s3Code: parsed.kind === 'presigned' ? 'AuthorizationQueryParametersError' : 'AccessDenied' });
  if (parsed.amzDate.slice(0, 8) !== parsed.scopeDate) throw (parsed.kind === 'presigned' ? queryMalformed : malformed)('the credential date does not match the request date');
  if (!parsed.signedHeaders.includes('host')) throw (parsed.kind === 'presigned' ? queryMalformed : malformed)('the host header must be signed');
  const scope = `${parsed.scopeDate}/${parsed.region}/${parsed.service}/aws4_request`;
  const key = signingKey(secret, parsed.scopeDate, parsed.region, parsed.service);
  const stringToSign = `AWS4-HMAC-SHA256\n${parsed.amzDate}\n${scope}\n${sha256Hex(canonicalRequest(request, query, parsed))}`;
  const expected = createHmac('sha256', key).update(stringToSign, 'utf8').digest('hex');
  if (!hexEqual(expected, parsed.signature)) throw new S3SignatureMismatchError('the request signature we calculated does not match the signature you provided: check your key and signing method');
  if (parsed.kind === 'presigned') {
    if (at - now > MAX_SKEW_MS) throw new S3RequestError('request is not valid yet', { s3Code: 'AccessDenied' });
    if (now > at + parsed.expiresSeconds! * 1000) throw new S3RequestExpiredError('request has expired');
  } else if (Math.abs(now - at) > MAX_SKEW_MS) {
    throw new S3RequestTimeSkewedError('the difference between the request time and the current time is too large');
  }
  return { signingKey: key, scope, amzDate: parsed.amzDate, seedSignature: parsed.signature };
}

/** Constant-time comparison of two lowercase hex signatures. */
export function hexEqual(expected: string, given: string): boolean {
  const a = Buffer.from(expected, 'utf8');
  const b = Buffer.from(given.toLowerCase(), 'utf8');
  // lengths are public (a SHA-256 hex is always 64), only the content must not leak
  return a.length === b.length && timingSafeEqual(a, b);
}

/** The query of a request, decoded; a malformed escape is InvalidArgument. */
export function queryOf(request: S3HttpRequest): QueryParam[] {
  const parsed = parseQuery(request.rawQuery);
  if (parsed === null) throw new S3RequestError('the query string is not valid', { s3Code: 'InvalidArgument' });
  return parsed;
}
