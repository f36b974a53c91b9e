import { NotFoundError, S3RequestError } from '../domain/errors.js';
import type { Project } from '../domain/types.js';
import type { ResourceRef } from '../policy/policy-engine.js';
import type { Permit } from '../service/gate.js';
import { names, notFoundMessage } from '../service/resources.js';
import type { S3ListedObject } from '../store/s3-store.js';
import { prefixUpperBound } from '../store/sql/s3-sql-store.js';
import { checksumApiName } from './checksums.js';
import { markerVersionId } from './object-source.js';
import { bucketProject } from './object-write.js';
import type { S3HttpResponse } from './s3-http.js';
import { details, param, type S3Op } from './s3-op.js';
import { fallbackEtag, isoDate, quoteEtag } from './s3-format.js';
import { s3KeyOf } from './s3-names.js';
import { awsUriEncode } from './uri-encode.js';
import { xmlDocument, type XmlNode } from './xml.js';

/** Rows read per store query. */
const BATCH = 1000;
/** Rows examined per request at most (hidden rows included); past it the answer is truncated early. */
const SCAN_LIMIT = 20_000;

/** Where a listing resumes: strictly after `a`, or at/after `f`. Opaque to clients. */
interface Cursor {
  a: string | null;
  f: string | null;
}

function encodeToken(c: Cursor): string {
  return Buffer.from(JSON.stringify(c), 'utf8').toString('base64url');
}

function decodeToken(token: string): Cursor {
  try {
    const parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as Partial<Cursor>;
    const ok = (v: unknown) => v === null || (typeof v === 'string' && v.length <= 1024);
    if (typeof parsed === 'object' && parsed !== null && ok(parsed.a ?? null) && ok(parsed.f ?? null)) return { a: parsed.a ?? null, f: parsed.f ?? null };
  } catch {
    // fall through
  }
  throw new S3RequestError('the continuation token provided is incorrect', { s3Code: 'InvalidArgument' });
}

function maxKeysOf(op: S3Op, name = 'max-keys'): number {
  const text = param(op, name);
  if (text === undefined) return 1000;
  if (!/^\d{1,9}$/.test(text)) throw new S3RequestError(`${name} must be a non-negative integer`, { s3Code: 'InvalidArgument' });
  return Math.min(Number(text), 1000);
}

/** An entry of a listing page: an object, or a common prefix rolled up at the delimiter. */
type Entry = { kind: 'object'; row: S3ListedObject } | { kind: 'prefix'; prefix: string };

/**
 * Starts a listing of a bucket: the attempt is recorded against the project when the
 * caller may see it; otherwise (access through artifact grants only) after the rows are
 * known, against the first visible one, and a bucket with nothing visible is NoSuchBucket.
 */
async function listingPermit(op: S3Op, project: Project, firstVisible: () => ResourceRef | null, extra: Record<string, unknown>): Promise<Permit> {
  const name = names.project(project.name);
  if (op.gate.decide(op.caller, 'read-metadata', { kind: 'project', project }).allowed) {
    return op.gate.enter(op.caller, 'read-metadata', { kind: 'project', project }, name, { notFound: notFoundMessage.project(project.name) }, details(op, extra));
  }
  const ref = firstVisible();
  op.notFound = 'NoSuchBucket';
  if (ref === null) return op.gate.refuse(op.caller, op.caller.meta, 'read-metadata', name, new NotFoundError(notFoundMessage.project(project.name)));
  return op.gate.enter(op.caller, 'read-metadata', ref, name, { notFound: notFoundMessage.project(project.name) }, details(op, extra));
}

/**
 * Pages through the latest visible versions of a bucket from `cursor`, rolling keys up
 * into common prefixes at `delimiter` (a rolled-up prefix is skipped in one query),
 * until `maxKeys` entries. Every row is filtered by its own read-metadata decision.
 */
async function collect(op: S3Op, project: Project, prefix: string, delimiter: string, maxKeys: number, start: Cursor): Promise<{ entries: Entry[]; next: Cursor | null }> {
  const entries: Entry[] = [];
  let cursor: Cursor = { ...start };
  let scanned = 0;
  let lastPrefix: string | null = null;
  for (;;) {
    const rows = await op.ctx.store.listLatest(project.id, { prefix, after: cursor.a, from: cursor.f, limit: BATCH });
    let jumped = false;
    for (const row of rows) {
      scanned++;
      const name = s3KeyOf(row.artifact.name);
      const here: Cursor = { a: name, f: null };
      if (!op.gate.decide(op.caller, 'read-metadata', { kind: 'version', project, artifact: row.artifact, version: row.version }).allowed) {
        cursor = here;
        continue;
      }
      const at = delimiter === '' ? -1 : name.indexOf(delimiter, prefix.length);
      const entry: Entry = at >= 0 ? { kind: 'prefix', prefix: name.slice(0, at + delimiter.length) } : { kind: 'object', row };
      if (entry.kind === 'prefix' && entry.prefix === lastPrefix) {
        cursor = here;
        continue;
      }
      if (entries.length >= maxKeys) return { entries, next: resumeAfter(entries) };
      entries.push(entry);
      if (entry.kind === 'prefix') {
        lastPrefix = entry.prefix;
        const upper = prefixUpperBound(entry.prefix);
        if (upper === null) return { entries, next: null };
        // skip every other key under this prefix in one step
        cursor = { a: null, f: upper };
        jumped = true;
        break;
      }
      cursor = here;
    }
    if (!jumped && rows.length < BATCH) return { entries, next: null };
    if (scanned >= SCAN_LIMIT) return { entries, next: cursor };
  }
}

function resumeAfter(entries: Entry[]): Cursor | null {
  const last = entries[entries.length - 1];
  if (last === undefined) return null;
  return last.kind === 'object' ? { a: s3KeyOf(last.row.artifact.name), f: null } : { a: null, f: prefixUpperBound(last.prefix) };
}

function firstVisibleRef(project: Project, entries: Entry[]): ResourceRef | null {
  const first = entries.find((e): e is Extract<Entry, { kind: 'object' }> => e.kind === 'object');
  return first ? { kind: 'version', project, artifact: first.row.artifact, version: first.row.version } : null;
}

/** ListObjectsV2 (`list-type=2`) and ListObjects v1: prefix, delimiter, paging, `encoding-type=url`. */
export async function listObjects(op: S3Op, v2: boolean): Promise<S3HttpResponse> {
  const project = await bucketProject(op, 'read-metadata', names.project(op.bucket));
  const prefix = param(op, 'prefix') ?? '';
  const delimiter = param(op, 'delimiter') ?? '';
  const maxKeys = maxKeysOf(op);
  const encodingType = param(op, 'encoding-type');
  if (encodingType !== undefined && encodingType !== 'url') throw new S3RequestError('invalid encoding type', { s3Code: 'InvalidArgument' });
  const enc = (s: string) => (encodingType === 'url' ? awsUriEncode(s, true) : s);
  let start: Cursor = { a: null, f: null };
  const token = v2 ? param(op, 'continuation-token') : undefined;
  const startAfter = v2 ? param(op, 'start-after') : param(op, 'marker');
  if (token !== undefined && token !== '') start = decodeToken(token);
  else if (startAfter !== undefined && startAfter !== '') {
    // a v1 marker that is a rolled-up prefix resumes after everything under it
    start = !v2 && delimiter !== '' && startAfter.endsWith(delimiter) ? { a: null, f: prefixUpperBound(startAfter) } : { a: startAfter, f: null };
  }
  const projectVisible = op.gate.decide(op.caller, 'read-metadata', { kind: 'project', project }).allowed;
  let permit: Permit | null = projectVisible ? await listingPermit(op, project, () => null, { prefix, delimiter }) : null;
  const { entries, next } = maxKeys === 0 ? { entries: [], next: null } : await collect(op, project, prefix, delimiter, maxKeys, start);
  permit ??= await listingPermit(op, project, () => firstVisibleRef(project, entries), { prefix, delimiter });
  const objects = entries.filter((e): e is Extract<Entry, { kind: 'object' }> => e.kind === 'object');
  const prefixes = entries.filter((e): e is Extract<Entry, { kind: 'prefix' }> => e.kind === 'prefix');
  const fetchOwner = !v2 || param(op, 'fetch-owner') === 'true';
  const contents: XmlNode[] = objects.map(({ row }) => ({
    Key: enc(s3KeyOf(row.artifact.name)),
    LastModified: isoDate(row.version.createdAt),
    ETag: quoteEtag(row.meta?.etag ?? fallbackEtag(row.version.sha256)),
    ...(row.meta?.checksums.crc32 !== undefined ? { ChecksumAlgorithm: checksumApiName('crc32'), ChecksumType: row.meta.checksumType } : {}),
    Size: row.version.size,
    StorageClass: 'STANDARD',
    ...(fetchOwner ? { Owner: { ID: row.version.createdBy, DisplayName: row.version.createdBy } } : {}),
  }));
  const lastEntry = entries[entries.length - 1];
  const body: XmlNode = {
    Name: project.name,
    // S3 encodes Prefix in v2 only (botocore decodes it in v2 only): v1 echoes it as sent
    Prefix: v2 ? enc(prefix) : prefix,
    ...(v2 ? {} : { Marker: enc(startAfter ?? '') }),
    ...(v2 ? { KeyCount: entries.length } : {}),
    MaxKeys: maxKeys,
    ...(delimiter !== '' ? { Delimiter: enc(delimiter) } : {}),
    IsTruncated: next !== null,
    ...(encodingType ? { EncodingType: encodingType } : {}),
    ...(v2 && token !== undefined ? { ContinuationToken: token } : {}),
    ...(v2 && next !== null ? { NextContinuationToken: encodeToken(next) } : {}),
    ...(v2 && startAfter !== undefined ? { StartAfter: enc(startAfter) } : {}),
    ...(!v2 && next !== null && lastEntry !== undefined ? { NextMarker: enc(lastEntry.kind === 'object' ? s3KeyOf(lastEntry.row.artifact.name) : lastEntry.prefix) } : {}),
    Contents: contents,
    CommonPrefixes: prefixes.map((p) => ({ Prefix: enc(p.prefix) })),
  };
  await permit.finish('success', { details: details(op, { returned: entries.length, truncated: next !== null }) });
  return { status: 200, headers: { 'content-type': 'application/xml' }, body: xmlDocument('ListBucketResult', body) };
}

/**
 * ListObjectVersions: every version of each visible key (newest first) and the delete
 * marker hiding them, if any. Pages hold whole keys (`NextKeyMarker`); version-id-marker
 * is accepted but a key's versions are never split across pages.
 */
export async function listObjectVersions(op: S3Op): Promise<S3HttpResponse> {
  const project = await bucketProject(op, 'read-metadata', names.project(op.bucket));
  const prefix = param(op, 'prefix') ?? '';
  const delimiter = param(op, 'delimiter') ?? '';
  const maxKeys = maxKeysOf(op);
  const encodingType = param(op, 'encoding-type');
  const enc = (s: string) => (encodingType === 'url' ? awsUriEncode(s, true) : s);
  const keyMarker = param(op, 'key-marker') ?? '';
  const versions: XmlNode[] = [];
  const markers: XmlNode[] = [];
  const prefixes: string[] = [];
  let count = 0;
  let truncated = false;
  let nextKey: string | null = null;
  let firstRef: ResourceRef | null = null;
  let cursor: Cursor = keyMarker === '' ? { a: null, f: null } : delimiter !== '' && keyMarker.endsWith(delimiter) ? { a: null, f: prefixUpperBound(keyMarker) } : { a: keyMarker, f: null };
  let scanned = 0;
  outer: for (;;) {
    const rows = await op.ctx.store.listArtifacts(project.id, { prefix, after: cursor.a, from: cursor.f, limit: BATCH });
    for (const { artifact, marker } of rows) {
      scanned++;
      const key = s3KeyOf(artifact.name);
      cursor = { a: key, f: null };
      const purged = await op.ctx.store.purgedVersionNumbers(artifact.id);
      const all = (await op.ctx.deps.store.listVersions(artifact.id, { limit: 1000 })).items.filter((v) => !purged.has(v.number));
      if (all.length === 0) continue;
      const visible = all.filter((version) => op.gate.decide(op.caller, 'read-metadata', { kind: 'version', project, artifact, version }).allowed).reverse();
      if (visible.length === 0) continue;
      if (count >= maxKeys) {
        truncated = true;
        break outer;
      }
      firstRef ??= { kind: 'version', project, artifact, version: visible[0]! };
      const at = delimiter === '' ? -1 : key.indexOf(delimiter, prefix.length);
      if (at >= 0) {
        const p = key.slice(0, at + delimiter.length);
        prefixes.push(p);
        count++;
        nextKey = p;
        const upper = prefixUpperBound(p);
        if (upper === null) break outer;
        cursor = { a: null, f: upper };
        continue outer;
      }
      const latest = all[all.length - 1]!.number;
      const hidden = marker !== null && marker.hidesThrough >= latest;
      if (marker !== null) {
        markers.push({ Key: enc(key), VersionId: markerVersionId(marker.hidesThrough), IsLatest: hidden, LastModified: isoDate(marker.createdAt), Owner: { ID: marker.createdBy } });
        count++;
      }
      for (const version of visible) {
        const meta = await op.ctx.store.getObjectMeta(version.id);
        versions.push({
          Key: enc(key),
          VersionId: String(version.number),
          IsLatest: !hidden && version.number === latest,
          LastModified: isoDate(version.createdAt),
          ETag: quoteEtag(meta?.etag ?? fallbackEtag(version.sha256)),
          Size: version.size,
          StorageClass: 'STANDARD',
          Owner: { ID: version.createdBy },
        });
        count++;
      }
      nextKey = key;
    }
    if (rows.length < BATCH || scanned >= SCAN_LIMIT) {
      truncated = rows.length >= BATCH;
      break;
    }
  }
  const permit = await listingPermit(op, project, () => firstRef, { prefix, delimiter });
  await permit.finish('success', { details: details(op, { returned: count, truncated }) });
  const body: XmlNode = {
    Name: project.name,
    Prefix: enc(prefix),
    KeyMarker: enc(keyMarker),
    VersionIdMarker: param(op, 'version-id-marker') ?? '',
    ...(truncated && nextKey !== null ? { NextKeyMarker: enc(nextKey), NextVersionIdMarker: '' } : {}),
    MaxKeys: maxKeys,
    ...(delimiter !== '' ? { Delimiter: enc(delimiter) } : {}),
    IsTruncated: truncated,
    ...(encodingType ? { EncodingType: encodingType } : {}),
    Version: versions,
    DeleteMarker: markers,
    CommonPrefixes: prefixes.map((p) => ({ Prefix: enc(p) })),
  };
  return { status: 200, headers: { 'content-type': 'application/xml' }, body: xmlDocument('ListVersionsResult', body) };
}
