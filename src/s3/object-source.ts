import type { Readable } from 'node:stream';
import { NotFoundError, S3RequestError, isCofferError } from '../domain/errors.js';
import type { Artifact, ArtifactVersion, Project } from '../domain/types.js';
import type { Permit } from '../service/gate.js';
import { names, notFoundMessage } from '../service/resources.js';
import { meterPlaintext } from '../service/metered-plaintext.js';
import { downloadSignal, openDownloadSlot, type DownloadSlot } from '../service/download-slot.js';
import type { ByteRange } from '../store/blob-store.js';
import type { S3ContentHeaders, S3ObjectMeta, S3UserMetadata } from '../store/s3-store.js';
import { withHeaders } from './s3-errors.js';
import { fallbackEtag } from './s3-format.js';
import { artifactNameOf, assertObjectKey } from './s3-names.js';
import { details, type S3Op } from './s3-op.js';
import { percentDecode } from './uri-encode.js';

/** A version found and authorized for an action, with its S3 facts. */
export interface AuthorizedVersion {
  project: Project;
  artifact: Artifact;
  version: ArtifactVersion;
  meta: S3ObjectMeta | null;
  /** ETag without quotes (MD5, multipart form, or derived from the SHA-256 for versions pushed through REST). */
  etag: string;
  resourceName: string;
  permit: Permit;
  /** The download's slot (null for read-metadata): a lock cuts it (service/download-slot.ts). */
  slot: DownloadSlot | null;
}

/** The version id clients see for a delete marker that hides versions up to `n`. */
export function markerVersionId(n: number): string {
  return `delete-marker-${n}`;
}

/**
 * Finds the version a key (and optional versionId: a number or a `ver_` id) names and
 * authorizes `action` on it through the gate. Missing and hidden answer the same
 * NotFound (NoSuchKey, also for a missing bucket: object operations never tell
 * whether a bucket exists); a key
 * hidden by a delete marker is NoSuchKey with `x-amz-delete-marker: true` for callers
 * who may see it.
 */
export async function authorizeVersion(op: S3Op, bucket: string, key: string, versionId: string | undefined, action: 'download' | 'read-metadata'): Promise<AuthorizedVersion> {
  assertObjectKey(key);
  const { deps, store } = op.ctx;
  const selector = versionId === undefined || versionId === 'null' ? 'latest' : versionId;
  // INVARIANT: the version id is checked before any lookup, so a hidden object and a missing one answer alike
  if (selector !== 'latest' && !/^[1-9]\d{0,9}$/.test(selector) && !selector.startsWith('ver_') && !selector.startsWith('delete-marker-')) {
    throw new S3RequestError('invalid version id specified', { s3Code: 'InvalidArgument' });
  }
  const resourceName = names.version(bucket, key, selector);
  const notFound = notFoundMessage.version(bucket, key, selector);
  const refuse = (): Promise<never> => op.gate.refuse(op.caller, op.caller.meta, action, resourceName, new NotFoundError(notFound));
  const project = await deps.store.getProjectByName(bucket);
  if (project === null) return refuse();
  // an object the caller may not see is NoSuchKey, in a bucket it may see or not (the bucket's existence does not leak either)
  op.notFound = 'NoSuchKey';
  const artifact = await deps.store.getArtifactByName(project.id, key);
  if (artifact === null) return refuse();
  let version: ArtifactVersion | null = null;
  if (selector === 'latest') {
    // the current version in the S3 view: the newest one not purged by a versioned DeleteObject
    const latest = await store.latestUnpurgedNumber(artifact.id);
    version = latest < 1 ? null : await deps.store.getVersionByNumber(artifact.id, latest);
  } else {
    if (/^[1-9]\d{0,9}$/.test(selector)) version = await deps.store.getVersionByNumber(artifact.id, Number(selector));
    else if (selector.startsWith('ver_')) {
      const v = await deps.store.getVersion(selector);
      version = v !== null && v.artifactId === artifact.id ? v : null;
    }
  }
  // a version purged through S3 is gone from the S3 view (it stays readable through REST)
  if (version !== null && selector !== 'latest' && (await store.purgedVersionNumbers(artifact.id)).has(version.number)) version = null;
  if (version === null) return refuse();
  const ref = { kind: 'version', project, artifact, version } as const;
  if (selector === 'latest') {
    const marker = await store.getDeleteMarker(artifact.id);
    if (marker !== null && marker.hidesThrough >= version.number) {
      const visible = op.gate.decide(op.caller, 'read-metadata', ref).allowed;
      const err = new NotFoundError(notFound);
      return op.gate.refuse(op.caller, op.caller.meta, action, resourceName, visible ? withHeaders(err, { 'x-amz-delete-marker': 'true', 'x-amz-version-id': markerVersionId(marker.hidesThrough) }) : err);
    }
  }
  // INVARIANT: a download's slot is open before its attempt record, which may itself trigger a lock
  const slot = action === 'download' ? await openDownloadSlot(op.ctx.deps, op.caller.subject.principal.id) : null;
  let permit: Permit;
  try {
    // the slot ends with the permit (a download refused after its attempt: 304, 412, bad range...) or with its stream
    permit = once(await op.gate.enter(op.caller, action, ref, names.version(bucket, key, version.number), { notFound }, details(op)), () => slot?.close());
  } catch (err) {
    slot?.close();
    throw err;
  }
  let meta: S3ObjectMeta | null;
  try {
    meta = await store.getObjectMeta(version.id);
  } catch (err) {
    await permit.finish('failure', { reason: isCofferError(err) ? err.code : 'error', details: details(op) });
    throw err;
  }
  return { project, artifact, version, meta, etag: meta?.etag ?? fallbackEtag(version.sha256), resourceName: names.version(bucket, key, version.number), permit, slot };
}

/** A permit whose outcome is recorded once, whichever path finishes it first; `onFinish` runs then. */
export function once(permit: Permit, onFinish?: () => void): Permit {
  let done = false;
  return {
    decision: permit.decision,
    finish: async (outcome, extra) => {
      if (done) return;
      done = true;
      onFinish?.();
      await permit.finish(outcome, extra);
    },
  };
}

/**
 * Opens the plaintext (or a range) of an authorized version through the vault. The
 * permit is finished when the stream ends or fails, with the bytes that really left.
 * The first segment is authenticated before this resolves, so a tampered object fails
 * as one clean error before any header is sent.
 */
export async function openAuthorized(op: S3Op, found: AuthorizedVersion, range: ByteRange | null): Promise<Readable> {
  const { version, permit, slot } = found;
  let body: Readable;
  try {
    slot?.throwIfCut();
    body = await op.ctx.deps.vault.open(
      { objectId: version.id, blobKey: version.blobKey, size: version.size, wrappedKey: version.wrappedKey, keyTerm: version.keyTerm },
      { ...(range ? { range } : {}), signal: slot === null ? op.http.signal : downloadSignal(slot, op.http.signal) },
    );
  } catch (caught) {
    const err = slot === null ? caught : slot.failureOf(caught);
    await permit.finish('failure', { reason: isCofferError(err) ? err.code : 'error', details: details(op) });
    throw err;
  }
  const rangeDetail = range ? { range: `${range.start}-${range.end}` } : {};
  // a lock cuts the stream from here on (meterPlaintext attaches it to the slot)
  return meterPlaintext(
    body,
    (r) => void permit.finish(r.outcome, { bytes: r.bytes, ...(r.outcome === 'failure' ? { reason: r.reason } : {}), details: details(op, rangeDetail) }),
    { expectBytes: version.size > 0, ...(slot !== null ? { slot } : {}) },
  );
}

/** The bucket, key and version id an `x-amz-copy-source` names (URL-encoded `/bucket/key?versionId=...`), or null if malformed. */
export function copySourceTarget(header: string): { bucket: string; key: string; versionId: string | undefined } | null {
  const [rawPath, rawQuery] = header.split('?', 2) as [string, string | undefined];
  const path = percentDecode(rawPath.replace(/^\//, ''));
  const slash = path === null ? -1 : path.indexOf('/');
  if (path === null || slash <= 0 || slash === path.length - 1) return null;
  let versionId: string | undefined;
  for (const part of (rawQuery ?? '').split('&')) {
    if (part.startsWith('versionId=')) versionId = percentDecode(part.slice('versionId='.length)) ?? undefined;
  }
  return { bucket: path.slice(0, slash), key: path.slice(slash + 1), versionId };
}

/** A copy source (`x-amz-copy-source`), authorized for download and opened. */
export interface CopySource {
  body: Readable;
  /** Plaintext bytes the body will carry. */
  length: number;
  mediaType: string;
  /** The source version's user metadata (`{}` for a version without S3 facts). */
  userMetadata: S3UserMetadata;
  contentHeaders: S3ContentHeaders;
  versionNumber: number;
  etag: string;
  resourceName: string;
}

/**
 * Parses `x-amz-copy-source` (`/bucket/key?versionId=...`, URL-encoded), authorizes
 * `download` on it and opens it (or `range` of it, UploadPartCopy).
 */
export async function resolveSource(op: S3Op, header: string, rangeHeader: string | null): Promise<CopySource> {
  const target = copySourceTarget(header);
  if (target === null) throw new S3RequestError('copy source must be /bucket/key', { s3Code: 'InvalidArgument' });
  const saved = op.notFound;
  const found = await authorizeVersion(op, target.bucket, artifactNameOf(target.key), target.versionId, 'download');
  op.notFound = saved;
  const h = op.http.headers;
  const ifMatch = h['x-amz-copy-source-if-match'];
  const ifNoneMatch = h['x-amz-copy-source-if-none-match'];
  if ((ifMatch !== undefined && !etagMatches(ifMatch, found.etag)) || (ifNoneMatch !== undefined && etagMatches(ifNoneMatch, found.etag))) {
    await found.permit.finish('failure', { reason: 'PreconditionFailed' });
    throw new S3RequestError('at least one of the pre-conditions you specified did not hold', { s3Code: 'PreconditionFailed' });
  }
  let range: ByteRange | null = null;
  if (rangeHeader !== null) {
    const m = /^bytes=(\d{1,15})-(\d{1,15})$/.exec(rangeHeader.trim());
    if (!m || Number(m[2]) < Number(m[1])) {
      await found.permit.finish('failure', { reason: 'InvalidArgument' });
      throw new S3RequestError('the x-amz-copy-source-range value must be of the form bytes=first-last', { s3Code: 'InvalidArgument' });
    }
    // INVARIANT: checked only after authorization (the permit above), so the size of a hidden source does not leak
    if (Number(m[2]) >= found.version.size) {
      await found.permit.finish('failure', { reason: 'InvalidRange' });
      throw new S3RequestError(`the x-amz-copy-source-range is past the end of the source (${found.version.size} bytes)`, { s3Code: 'InvalidRange' });
    }
    range = { start: Number(m[1]), end: Number(m[2]) };
  }
  const body = await openAuthorized(op, found, range);
  return {
    body,
    length: range ? range.end - range.start + 1 : found.version.size,
    mediaType: found.version.mediaType,
    userMetadata: found.meta?.userMetadata ?? {},
    contentHeaders: found.meta?.contentHeaders ?? {},
    versionNumber: found.version.number,
    etag: found.etag,
    resourceName: found.resourceName,
  };
}

/** True if an If-Match / If-None-Match list names `etag` (or is `*`). */
export function etagMatches(list: string, etag: string): boolean {
  return list.split(',').some((item) => {
    const t = item.trim();
    return t === '*' || t.replace(/^W\//, '').replace(/^"(.*)"$/, '$1') === etag;
  });
}
