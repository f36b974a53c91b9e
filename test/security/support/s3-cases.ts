/**
 * Every S3 operation of the endpoint's table (src/s3/s3-operations.ts), turned into
 * requests that name resources of the hidden world: a hidden bucket, a hidden object
 * in a hidden bucket, a restricted object in mallory's own bucket, and the multipart
 * uploads in progress on them. An operation needing a subresource this file does not
 * know is reported as uncovered.
 */
import { createHash } from 'node:crypto';
import type { S3Operation } from '../../../src/s3/index.js';
import type { RawS3Request } from './s3-sign.js';
import type { HiddenIds } from './world.js';

/** One request of an operation. */
export interface S3Case {
  op: string;
  label: string;
  request: RawS3Request;
  /** Declared exception (see S3_EXCEPTIONS). */
  exception: string | null;
}

const OBJECTS = [
  { label: 'hidden object in a hidden bucket', bucket: 'hid', key: 'model' },
  { label: 'hidden object in a visible bucket', bucket: 'pub', key: 'secret' },
];

/** The ETag of the part the hidden world uploaded (`part one`). */
const PART_ETAG = `"${createHash('md5').update('part one').digest('hex')}"`;

/**
 * Declared exceptions: a write to a free key creates it, a hidden key cannot be
 * written, so the two cannot answer alike; the hidden key answers AccessDenied, as a
 * key the caller sees but may not write.
 */
const S3_EXCEPTIONS: Record<string, string> = {
  'PutObject#hidden object in a visible bucket': 'create-by-name',
  'CreateMultipartUpload#hidden object in a visible bucket': 'create-by-name',
  'CopyObject#hidden object in a visible bucket (destination)': 'create-by-name',
};

/** Query values of subresources; null = unknown (uncovered). */
function subresource(sub: string, path: string, ids: HiddenIds): [string, string] | null {
  switch (sub) {
    case 'location':
    case 'versioning':
    case 'uploads':
    case 'versions':
    case 'delete':
    case 'tagging':
    case 'attributes':
      return [sub, ''];
    case 'list-type=2':
      return ['list-type', '2'];
    case 'partNumber':
      return ['partNumber', '1'];
    case 'uploadId':
      // the upload in progress on this object in the hidden world (another object's id otherwise)
      return ['uploadId', ids.uploads[path] ?? Object.values(ids.uploads)[0]!];
    default:
      return null;
  }
}

function bodyOf(op: S3Operation, key: string): string | undefined {
  if (op.name === 'DeleteObjects') return `<Delete><Object><Key>${key}</Key></Object></Delete>`;
  if (op.name === 'CompleteMultipartUpload') return `<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>${PART_ETAG}</ETag></Part></CompleteMultipartUpload>`;
  if (op.method === 'PUT' && op.on === 'object' && op.copy !== true) return 'abc';
  return undefined;
}

/** The cases of one operation (none for the service: it names nothing). */
export function s3CasesOf(op: S3Operation, ids: HiddenIds): { cases: S3Case[]; uncovered: string[] } {
  if (op.on === 'service') return { cases: [], uncovered: [] };
  const uncovered: string[] = [];
  const cases: S3Case[] = [];
  const targets = op.on === 'bucket' ? [{ label: 'hidden bucket', bucket: 'hid', key: 'model' }] : OBJECTS;
  for (const t of targets) {
    const path = op.on === 'bucket' ? `/${t.bucket}` : `/${t.bucket}/${t.key}`;
    const query: Record<string, string> = {};
    for (const sub of op.subresources) {
      const q = subresource(sub, `/${t.bucket}/${t.key}`, ids);
      if (q === null) uncovered.push(`${op.name}: subresource \`${sub}\``);
      else query[q[0]] = q[1];
    }
    const body = bodyOf(op, t.key);
    // GetObjectAttributes needs the attributes it is asked for (else 400 for any key)
    const headers = op.name === 'GetObjectAttributes' ? { headers: { 'x-amz-object-attributes': 'ETag,ObjectSize' } } : {};
    const base: RawS3Request = { method: op.method, path, query, ...headers, ...(body !== undefined ? { body } : {}) };
    const add = (label: string, request: RawS3Request) => cases.push({ op: op.name, label, request, exception: S3_EXCEPTIONS[`${op.name}#${label}`] ?? null });
    if (op.copy === true) {
      // a hidden source copied to a free key of her own bucket, and her own object copied onto a hidden key
      add(`${t.label} (source)`, { ...base, path: '/pub/copy-target', headers: { 'x-amz-copy-source': `/${t.bucket}/${t.key}` } });
      add(`${t.label} (destination)`, { ...base, headers: { 'x-amz-copy-source': '/pub/open' } });
      continue;
    }
    add(t.label, base);
    if (op.name === 'GetObject' || op.name === 'HeadObject') {
      // version ids: a number, an unknown `ver_` id, and one that is not a version id at all (seen: 400 vs 404)
      for (const versionId of ['1', 'ver_00000000000000000000000000', 'not-a-version']) add(`${t.label} (versionId ${versionId})`, { ...base, query: { ...query, versionId } });
    }
  }
  return { cases, uncovered };
}
