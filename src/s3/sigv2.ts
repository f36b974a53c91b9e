import { createHmac, timingSafeEqual } from 'node:crypto';
import { S3RequestError, S3RequestExpiredError, S3RequestTimeSkewedError, S3SignatureMismatchError } from '../domain/errors.js';
import type { S3HttpRequest } from './s3-http.js';
import { MAX_SKEW_MS } from './sigv4.js';
import type { QueryParam } from './uri-encode.js';

/** Longest lifetime accepted for a SigV2 presigned URL (SigV4's limit: 7 days). */
const MAX_PRESIGN_MS = 7 * 24 * 3600 * 1000;

/** Subresources that take part in SigV2's canonical resource (as botocore and AWS list them). */
const SUBRESOURCES = new Set([
  'accelerate', 'acl', 'analytics', 'cors', 'defaultObjectAcl', 'delete', 'inventory', 'lifecycle', 'location', 'logging', 'metrics',
  'notification', 'object-lock', 'partNumber', 'policy', 'replication', 'requestPayment', 'response-cache-control',
  'response-content-disposition', 'response-content-encoding', 'response-content-language', 'response-content-type',
  'response-expires', 'restore', 'select', 'select-type', 'storageClass', 'tagging', 'torrent', 'uploadId', 'uploads',
  'versionId', 'versioning', 'versions', 'website',
]);

/** The parsed SigV2 fields of a request. */
export interface SigV2Request {
  kind: 'header' | 'presigned';
  accessKeyId: string;
  signature: string;
  /** Presigned: epoch seconds of expiry. */
  expires: number | null;
  sessionToken: string | undefined;
}

/** Parses SigV2 (`Authorization: AWS key:sig`, or `AWSAccessKeyId`/`Expires`/`Signature` query); null if not SigV2. */
export function parseSigV2(request: S3HttpRequest, query: QueryParam[]): SigV2Request | null {
  const auth = request.headers.authorization;
  if (auth !== undefined && auth.startsWith('AWS ')) {
    const m = /^AWS ([^:\s]+):(\S+)$/.exec(auth);
    if (!m) throw new S3RequestError('the authorization header is malformed', { s3Code: 'InvalidArgument' });
    return { kind: 'header', accessKeyId: m[1]!, signature: m[2]!, expires: null, sessionToken: request.headers['x-amz-security-token'] };
  }
  const get = (name: string) => query.find((p) => p.name === name)?.value;
  const accessKeyId = get('AWSAccessKeyId');
  if (accessKeyId === undefined) return null;
  const signature = get('Signature');
  const expires = get('Expires');
  if (signature === undefined || expires === undefined || !/^\d{1,12}$/.test(expires)) {
    throw new S3RequestError('query-string authentication requires the Signature, Expires and AWSAccessKeyId parameters', { s3Code: 'AccessDenied' });
  }
  return { kind: 'presigned', accessKeyId, signature, expires: Number(expires), sessionToken: get('x-amz-security-token') ?? request.headers['x-amz-security-token'] };
}

/** SigV2's string to sign (header or presigned form). */
export function stringToSignV2(request: S3HttpRequest, query: QueryParam[], parsed: SigV2Request, options: { bucketSlash?: boolean } = {}): string {
  const amz = new Map<string, string[]>();
  const add = (name: string, value: string) => amz.set(name, [...(amz.get(name) ?? []), value.trim()]);
  for (const [name, value] of Object.entries(request.headers)) if (name.startsWith('x-amz-')) add(name, value);
  let contentMd5 = request.headers['content-md5'] ?? '';
  let contentType = request.headers['content-type'] ?? '';
  if (parsed.kind === 'presigned') {
    // presigned URLs carry the x-amz-* "headers" (the session token) as query parameters
    for (const p of query) {
      const lower = p.name.toLowerCase();
      if (lower.startsWith('x-amz-') && !amz.has(lower)) add(lower, p.value);
      if (lower === 'content-md5') contentMd5 = p.value;
      if (lower === 'content-type') contentType = p.value;
    }
  }
  const date = parsed.kind === 'presigned' ? String(parsed.expires) : amz.has('x-amz-date') ? '' : (request.headers.date ?? '');
  const amzLines = [...amz.keys()]
    .sort()
    .map((name) => `${name}:${amz.get(name)!.join(',')}\n`)
    .join('');
  const subresources = query
    .filter((p) => SUBRESOURCES.has(p.name))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .map((p) => (p.value === '' && !hasValueInRaw(request.rawQuery, p.name) ? p.name : `${p.name}=${p.value}`));
  const path = options.bucketSlash ? `${request.rawPath}/` : request.rawPath === '' ? '/' : request.rawPath;
  const resource = path + (subresources.length > 0 ? `?${subresources.join('&')}` : '');
  return `${request.method}\n${contentMd5}\n${contentType}\n${date}\n${amzLines}${resource}`;
}

/** True for a path-style bucket request without its trailing slash (`/bucket`). */
function isBareBucketPath(rawPath: string): boolean {
  return /^\/[^/]+$/.test(rawPath);
}

/** True if `name` appears with `=` in the raw query (`uploads=` vs `uploads`). */
function hasValueInRaw(rawQuery: string, name: string): boolean {
  return rawQuery.split('&').some((part) => part.startsWith(`${name}=`));
}

/** Verifies a SigV2 request: time (skew or presigned expiry) and HMAC-SHA1 signature in constant time. */
export function verifySigV2(request: S3HttpRequest, query: QueryParam[], parsed: SigV2Request, secret: string, now: number): void {
  const sign = (bucketSlash: boolean) => createHmac('sha1', Buffer.from(secret, 'utf8')).update(stringToSignV2(request, query, parsed, { bucketSlash }), 'utf8').digest();
  const given = Buffer.from(parsed.signature, 'base64');
  const matches = (expected: Buffer) => given.length === expected.length && timingSafeEqual(given, expected);
  // botocore (signature_version='s3') signs `/bucket/` for a request sent as `GET /bucket`:
  // both canonical forms name the same bucket, so either signature is accepted
  const bare = isBareBucketPath(request.rawPath);
  const ok = [matches(sign(false)), bare && matches(sign(true))].some(Boolean);
  if (!ok) {
    throw new S3SignatureMismatchError('the request signature we calculated does not match the signature you provided: check your key and signing method');
  }
  if (parsed.kind === 'presigned') {
    const expiresMs = parsed.expires! * 1000;
    if (now > expiresMs) throw new S3RequestExpiredError('request has expired');
    if (expiresMs - now > MAX_PRESIGN_MS) throw new S3RequestError('presigned urls may last at most 7 days', { s3Code: 'AccessDenied' });
    return;
  }
  const dateText = request.headers['x-amz-date'] ?? request.headers.date;
  const at = dateText === undefined ? NaN : Date.parse(dateText);
  if (Number.isNaN(at)) throw new S3RequestError('request is missing a valid date header', { s3Code: 'AccessDenied' });
  if (Math.abs(now - at) > MAX_SKEW_MS) throw new S3RequestTimeSkewedError('the difference between the request time and the current time is too large');
}
