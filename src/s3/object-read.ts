import { S3RequestError } from '../domain/errors.js';
import { parseRange } from '../service/byte-range.js';
import { RangeNotSatisfiable, resolveRange } from '../service/metered-plaintext.js';
import type { ByteRange } from '../store/blob-store.js';
import { CHECKSUM_NAMES } from './checksums.js';
import { authorizeVersion, etagMatches, openAuthorized, type AuthorizedVersion } from './object-source.js';
import type { S3HttpResponse } from './s3-http.js';
import { details, param, type S3Op } from './s3-op.js';
import { httpDate, quoteEtag } from './s3-format.js';
import { userMetadataHeaders } from './user-metadata.js';
import { contentHeadersOfObject } from './content-headers.js';
import { xmlDocument, type XmlValue } from './xml.js';
import { checksumElements } from './object-write.js';

/** Response overrides a (presigned) GET may ask for. */
const OVERRIDES: Record<string, string> = {
  'response-content-type': 'content-type',
  'response-content-disposition': 'content-disposition',
  'response-content-encoding': 'content-encoding',
  'response-content-language': 'content-language',
  'response-cache-control': 'cache-control',
  'response-expires': 'expires',
};

/** The range fitted to `size` (the one rule of REST, share links and S3), or null when it is not satisfiable. */
function satisfiable(r: { start?: number; end?: number; suffix?: number }, size: number): ByteRange | null {
  try {
    return resolveRange(r, size);
  } catch (err) {
    if (err instanceof RangeNotSatisfiable) return null;
    throw err;
  }
}

/** Evaluates If-Match, If-Unmodified-Since, If-None-Match, If-Modified-Since (RFC 9110 order): null = proceed. */
function conditional(op: S3Op, found: AuthorizedVersion): 304 | 412 | null {
  const h = op.http.headers;
  const modifiedSeconds = Math.floor(found.version.createdAt / 1000);
  const ifMatch = h['if-match'];
  if (ifMatch !== undefined) {
    if (!etagMatches(ifMatch, found.etag)) return 412;
  } else if (h['if-unmodified-since'] !== undefined) {
    const t = Date.parse(h['if-unmodified-since']);
    if (!Number.isNaN(t) && modifiedSeconds > Math.floor(t / 1000)) return 412;
  }
  const ifNoneMatch = h['if-none-match'];
  if (ifNoneMatch !== undefined) {
    if (etagMatches(ifNoneMatch, found.etag)) return 304;
  } else if (h['if-modified-since'] !== undefined) {
    const t = Date.parse(h['if-modified-since']);
    if (!Number.isNaN(t) && modifiedSeconds <= Math.floor(t / 1000)) return 304;
  }
  return null;
}

/** Headers describing an object version (ETag, Last-Modified, type, version id, parts count, `x-amz-meta-*`). */
function objectHeaders(found: AuthorizedVersion): Record<string, string> {
  const parts = found.meta?.partSizes?.length;
  return {
    etag: quoteEtag(found.etag),
    'last-modified': httpDate(found.version.createdAt),
    'content-type': found.version.mediaType,
    'accept-ranges': 'bytes',
    'x-amz-version-id': String(found.version.number),
    ...(parts !== undefined ? { 'x-amz-mp-parts-count': String(parts) } : {}),
    // versions pushed through the REST API have no S3 facts, hence no user metadata
    ...userMetadataHeaders(found.meta?.userMetadata),
    ...contentHeadersOfObject(found.meta?.contentHeaders),
  };
}

/** The range of part `n` (1-based) of a version, or InvalidPartNumber. */
function partRange(found: AuthorizedVersion, n: number): ByteRange {
  const sizes = found.meta?.partSizes ?? [found.version.size];
  if (!Number.isInteger(n) || n < 1 || n > sizes.length) throw new S3RequestError('the requested partnumber is not satisfiable', { s3Code: 'InvalidPartNumber' });
  let start = 0;
  for (let i = 0; i < n - 1; i++) start += sizes[i]!;
  return { start, end: start + sizes[n - 1]! - 1 };
}

/**
 * GetObject / HeadObject: `download` (GET) or `read-metadata` (HEAD) on the version,
 * then the conditions, then Range or partNumber, then the body through the vault.
 */
export async function getObject(op: S3Op, head: boolean): Promise<S3HttpResponse> {
  const found = await authorizeVersion(op, op.bucket, op.key!, param(op, 'versionId'), head ? 'read-metadata' : 'download');
  const { version, permit } = found;
  try {
    const verdict = conditional(op, found);
    if (verdict === 304) {
      await permit.finish('success', { bytes: 0, details: details(op, { notModified: true }) });
      return { status: 304, headers: { etag: quoteEtag(found.etag), 'last-modified': httpDate(version.createdAt), 'x-amz-version-id': String(version.number) } };
    }
    if (verdict === 412) throw new S3RequestError('at least one of the pre-conditions you specified did not hold', { s3Code: 'PreconditionFailed' });
    const partNumber = param(op, 'partNumber');
    let range: ByteRange | null = null;
    let partial = false;
    if (partNumber !== undefined) {
      if (!/^\d{1,5}$/.test(partNumber)) throw new S3RequestError('part number must be an integer between 1 and 10000', { s3Code: 'InvalidArgument' });
      range = partRange(found, Number(partNumber));
      partial = found.meta?.partSizes !== null && found.meta?.partSizes !== undefined;
    } else {
      // INVARIANT: the range is resolved only after authorization, so a 416 never reveals the size of a hidden version
      const asked = parseRange(op.http.headers.range);
      if (asked !== undefined) {
        range = satisfiable(asked, version.size);
        if (range === null) {
          const err = new S3RequestError('the requested range is not satisfiable', { s3Code: 'InvalidRange' });
          (err as unknown as { s3Headers: Record<string, string> }).s3Headers = { 'content-range': `bytes */${version.size}` };
          throw err;
        }
        partial = true;
      }
    }
    if (range !== null && range.start === 0 && range.end === version.size - 1 && partNumber !== undefined && !partial) range = null;
    const length = range === null ? version.size : range.end - range.start + 1;
    const headers: Record<string, string> = { ...objectHeaders(found), 'content-length': String(length) };
    if (partial && range !== null) headers['content-range'] = `bytes ${range.start}-${range.end}/${version.size}`;
    if (op.http.headers['x-amz-checksum-mode']?.toUpperCase() === 'ENABLED' && range === null && partNumber === undefined && found.meta !== null) {
      // only checksums of exactly the bytes served: never a wrong one
      for (const name of CHECKSUM_NAMES) {
        const value = found.meta.checksums[name];
        if (value !== undefined) headers[`x-amz-checksum-${name}`] = value;
      }
      headers['x-amz-checksum-type'] = found.meta.checksumType;
    }
    if (!head) {
      for (const [q, h] of Object.entries(OVERRIDES)) {
        const v = param(op, q);
        if (v !== undefined) headers[h] = v.replace(/[\r\n]/g, ' ').slice(0, 1024);
      }
    }
    if (head) {
      await permit.finish('success', { bytes: 0, details: details(op) });
      return { status: partial ? 206 : 200, headers };
    }
    const body = await openAuthorized(op, found, range);
    return { status: partial ? 206 : 200, headers, body };
  } catch (err) {
    await permit.finish('failure', { reason: err instanceof S3RequestError ? err.s3Code : ((err as { code?: string }).code ?? 'error'), details: details(op) });
    throw err;
  }
}

/** GetObjectTagging: Coffer keeps no object tags, so the set is empty (read-metadata on the version). */
export async function getObjectTagging(op: S3Op): Promise<S3HttpResponse> {
  const found = await authorizeVersion(op, op.bucket, op.key!, param(op, 'versionId'), 'read-metadata');
  await found.permit.finish('success', { details: details(op) });
  return {
    status: 200,
    headers: { 'content-type': 'application/xml', 'x-amz-version-id': String(found.version.number) },
    body: xmlDocument('Tagging', { TagSet: '' }),
  };
}

/** The attributes GetObjectAttributes may be asked for (`x-amz-object-attributes`). */
const OBJECT_ATTRIBUTES = new Set(['ETag', 'Checksum', 'ObjectParts', 'StorageClass', 'ObjectSize']);

/** A non-negative integer header of at most 5 digits, or `fallback` when absent; InvalidArgument otherwise. */
function smallIntHeader(op: S3Op, name: string, fallback: number): number {
  const text = op.http.headers[name];
  if (text === undefined) return fallback;
  if (!/^\d{1,5}$/.test(text.trim())) throw new S3RequestError(`\`${name}\` must be a non-negative integer`, { s3Code: 'InvalidArgument' });
  return Number(text.trim());
}

/**
 * GetObjectAttributes: `read-metadata` on the version, then the attributes asked for in
 * `x-amz-object-attributes` (ETag without quotes, the stored checksum, the part sizes of a
 * multipart object paged by `x-amz-max-parts` / `x-amz-part-number-marker`, the storage
 * class, the size). Part checksums are not kept once an upload completes, so parts carry
 * their number and size only.
 */
export async function getObjectAttributes(op: S3Op): Promise<S3HttpResponse> {
  const asked = (op.http.headers['x-amz-object-attributes'] ?? '')
    .split(',')
    .map((a) => a.trim())
    .filter((a) => a !== '');
  if (asked.length === 0) throw new S3RequestError('x-amz-object-attributes must name at least one attribute', { s3Code: 'InvalidArgument' });
  const unknown = asked.find((a) => !OBJECT_ATTRIBUTES.has(a));
  if (unknown !== undefined) throw new S3RequestError(`invalid attribute name specified: \`${unknown.slice(0, 40)}\``, { s3Code: 'InvalidArgument' });
  const maxParts = Math.min(smallIntHeader(op, 'x-amz-max-parts', 1000), 1000);
  const marker = smallIntHeader(op, 'x-amz-part-number-marker', 0);
  const found = await authorizeVersion(op, op.bucket, op.key!, param(op, 'versionId'), 'read-metadata');
  const { version, meta } = found;
  const want = new Set(asked);
  const body: Record<string, XmlValue> = {};
  if (want.has('ETag')) body.ETag = found.etag;
  if (want.has('Checksum') && meta !== null && Object.keys(meta.checksums).length > 0) {
    body.Checksum = { ...checksumElements(meta), ChecksumType: meta.checksumType };
  }
  const sizes = meta?.partSizes ?? null;
  if (want.has('ObjectParts') && sizes !== null) {
    const page = sizes.map((Size, i) => ({ PartNumber: i + 1, Size })).filter((p) => p.PartNumber > marker);
    const shown = page.slice(0, maxParts);
    body.ObjectParts = {
      // the element is PartsCount (the SDKs' TotalPartsCount)
      PartsCount: sizes.length,
      PartNumberMarker: marker,
      NextPartNumberMarker: shown.length > 0 ? shown[shown.length - 1]!.PartNumber : marker,
      MaxParts: maxParts,
      IsTruncated: page.length > shown.length,
      Part: shown,
    };
  }
  if (want.has('StorageClass')) body.StorageClass = 'STANDARD';
  if (want.has('ObjectSize')) body.ObjectSize = version.size;
  await found.permit.finish('success', { details: details(op, { attributes: asked }) });
  return {
    status: 200,
    headers: { 'content-type': 'application/xml', 'last-modified': httpDate(version.createdAt), 'x-amz-version-id': String(version.number) },
    body: xmlDocument('GetObjectAttributesResponse', body),
  };
}
