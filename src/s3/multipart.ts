import { createHash } from 'node:crypto';
import { PassThrough, Readable } from 'node:stream';
import { ConflictError, S3RequestError, isCofferError } from '../domain/errors.js';
import { newId } from '../domain/ids.js';
import type { Artifact } from '../domain/types.js';
import { names, notFoundMessage } from '../service/resources.js';
import type { S3ChecksumName, S3Checksums, S3ObjectMeta, S3Upload, S3UploadPart } from '../store/s3-store.js';
import { CHECKSUM_NAMES, DigestStream, checksumApiName, checksumValueError, newDigest, parseChecksumName } from './checksums.js';
import { once, resolveSource } from './object-source.js';
import { bucketProject, checksumElements, checksumHeaders, commitVersion, conditionalCommit, ensureArtifact, pipeToDigest } from './object-write.js';
import { objectTarget, refuseTaken, type ObjectTarget } from './object-target.js';
import { readCheckedBody, requestBody } from './request-body.js';
import { errorResponse, toS3Error } from './s3-errors.js';
import type { S3HttpResponse } from './s3-http.js';
import { awsUriEncode } from './uri-encode.js';
import { artifactNameOf, assertObjectKey, s3KeyOf } from './s3-names.js';
import { details, param, type S3Op } from './s3-op.js';
import { isoDate, quoteEtag, unquoteEtag } from './s3-format.js';
import { userMetadataOf } from './user-metadata.js';
import { contentHeadersOf } from './content-headers.js';
import { writeConditionOf } from './write-condition.js';
import { child, children, parseXml, xmlDocument, type XmlNode } from './xml.js';
import { destroySafely, guard } from '../streams/index.js';

const XML = { 'content-type': 'application/xml' };
/** Most parts of an upload (AWS's limit). */
const MAX_PARTS = 10_000;
/** How long Complete may take before the 200 headers go out and whitespace keeps the connection alive. */
const KEEPALIVE_AFTER_MS = 1000;
const KEEPALIVE_EVERY_MS = 2000;
/**
 * How long a claim on the completion of an upload lasts. The claim lives in the store,
 * so it holds across the nodes sharing a database; as a lease, a node that dies
 * mid-way blocks the upload at most this long. A running completion renews it.
 */
export const COMPLETION_LEASE_MS = 15 * 60_000;
/** How often a running completion renews its claim: a third of the lease, so one missed renewal still leaves time. */
export const COMPLETION_RENEW_EVERY_MS = 5 * 60_000;

const noSuchUpload = () => new S3RequestError('the specified upload does not exist: the upload id may be invalid, or the upload may have been aborted or completed', { s3Code: 'NoSuchUpload' });

/**
 * The upload a request names, in this bucket and key, or a recorded NoSuchUpload. An
 * upload on a key the caller may not see does not exist for it (`target.artifact` null).
 */
async function uploadOf(op: S3Op, target: ObjectTarget, action: string): Promise<{ upload: S3Upload; artifact: Artifact }> {
  const { project, artifact } = target;
  const uploadId = param(op, 'uploadId') ?? '';
  const resourceName = names.artifact(project.name, op.key!);
  const upload = uploadId === '' || artifact === null ? null : await op.ctx.store.getUpload(uploadId);
  if (upload === null || upload.projectId !== project.id || upload.key !== op.key || artifact === null) {
    return op.gate.refuse(op.caller, op.caller.meta, action, resourceName, noSuchUpload());
  }
  return { upload, artifact };
}

function partNumberOf(op: S3Op): number {
  const text = param(op, 'partNumber') ?? '';
  const n = /^\d{1,5}$/.test(text) ? Number(text) : NaN;
  if (!(n >= 1 && n <= MAX_PARTS)) throw new S3RequestError('part number must be an integer between 1 and 10000, inclusive', { s3Code: 'InvalidArgument' });
  return n;
}

/** CreateMultipartUpload: `upload` on the artifact (created now if it is new); its `x-amz-meta-*` go to the version at Complete. */
export async function createMultipartUpload(op: S3Op): Promise<S3HttpResponse> {
  const key = op.key!;
  assertObjectKey(key);
  const h = op.http.headers;
  const userMetadata = userMetadataOf(h);
  const contentHeaders = contentHeadersOf(h);
  const algorithmText = h['x-amz-checksum-algorithm'];
  const algorithm = algorithmText === undefined ? null : parseChecksumName(algorithmText);
  if (algorithmText !== undefined && algorithm === null) throw new S3RequestError('checksum algorithm is not supported', { s3Code: 'InvalidRequest' });
  const typeText = h['x-amz-checksum-type']?.toUpperCase();
  if (typeText !== undefined && typeText !== 'FULL_OBJECT' && typeText !== 'COMPOSITE') throw new S3RequestError('checksum type must be FULL_OBJECT or COMPOSITE', { s3Code: 'InvalidRequest' });
  // CRC64NVME exists only as a full-object checksum; the others default to composite
  const checksumType = algorithm === null ? (typeText === 'FULL_OBJECT' ? 'FULL_OBJECT' : null) : ((typeText) ?? (algorithm === 'crc64nvme' ? 'FULL_OBJECT' : 'COMPOSITE'));
  if (checksumType === 'COMPOSITE' && algorithm === 'crc64nvme') throw new S3RequestError('CRC64NVME supports only the FULL_OBJECT checksum type', { s3Code: 'InvalidRequest' });
  const target = await objectTarget(op, 'upload');
  if (target.taken) return refuseTaken(op, 'upload');
  const project = target.project;
  const artifact = target.artifact ?? (await ensureArtifact(op, project, key));
  const uploadId = newId('mpu');
  const permit = await op.gate.enter(op.caller, 'upload', { kind: 'artifact', project, artifact }, names.artifact(project.name, key), null, details(op, { uploadId }));
  try {
    await op.ctx.store.createUpload({
      uploadId,
      projectId: project.id,
      key,
      principalId: op.caller.subject.principal.id,
      contentType: (h['content-type'] ?? 'binary/octet-stream').slice(0, 200),
      checksumAlgorithm: algorithm,
      checksumType,
      userMetadata,
      contentHeaders,
      createdAt: op.ctx.deps.clock(),
    });
  } catch (err) {
    await permit.finish('failure', { reason: isCofferError(err) ? err.code : 'error' });
    throw err;
  }
  await permit.finish('success', { details: details(op, { uploadId }) });
  return {
    status: 200,
    headers: { ...XML, ...(algorithm ? { 'x-amz-checksum-algorithm': checksumApiName(algorithm) } : {}), ...(checksumType ? { 'x-amz-checksum-type': checksumType } : {}) },
    body: xmlDocument('InitiateMultipartUploadResult', { Bucket: project.name, Key: key, UploadId: uploadId }),
  };
}

/** Seals one part as its own object and records it, replacing (and removing) an earlier part of the same number. */
async function storePart(op: S3Op, upload: S3Upload, partNumber: number, input: { plaintext: DigestStream; size: number; sha256?: string | undefined; failure: () => Error | null }): Promise<S3UploadPart> {
  const objectId = newId('s3p');
  let sealed;
  try {
    sealed = await op.ctx.deps.vault.seal(objectId, input.plaintext, { signal: op.http.signal, expectedSize: input.size, expectedSha256: input.sha256 });
  } catch (err) {
    throw input.failure() ?? err;
  }
  const part: S3UploadPart = {
    uploadId: upload.uploadId,
    partNumber,
    objectId,
    blobKey: sealed.blobKey,
    wrappedKey: sealed.wrappedKey,
    keyTerm: sealed.keyTerm,
    size: sealed.size,
    md5: input.plaintext.digest.md5,
    checksums: input.plaintext.digest.checksums,
    createdAt: op.ctx.deps.clock(),
  };
  let previous: S3UploadPart | null;
  try {
    if ((await op.ctx.store.getUpload(upload.uploadId)) === null) throw noSuchUpload();
    previous = await op.ctx.store.putPart(part);
  } catch (err) {
    await op.ctx.deps.vault.remove(sealed.blobKey).catch(() => undefined);
    // the upload was aborted or completed meanwhile (its row is gone)
    if (!(err instanceof S3RequestError) && (await op.ctx.store.getUpload(upload.uploadId).catch(() => null)) === null) throw noSuchUpload();
    throw err;
  }
  if (previous !== null) await op.ctx.deps.vault.remove(previous.blobKey).catch(() => undefined);
  return part;
}

/** UploadPart: the part body streams into its own sealed object (`upload` on the artifact). */
export async function uploadPart(op: S3Op): Promise<S3HttpResponse> {
  const target = await objectTarget(op, 'upload');
  const project = target.project;
  const partNumber = partNumberOf(op);
  const { upload, artifact } = await uploadOf(op, target, 'upload');
  const body = requestBody(op, upload.checksumAlgorithm ? [upload.checksumAlgorithm] : []);
  const permit = once(await op.gate.enter(op.caller, 'upload', { kind: 'artifact', project, artifact }, names.artifact(project.name, op.key!), null, details(op, { uploadId: upload.uploadId, partNumber, declaredSize: body.size })));
  try {
    const part = await storePart(op, upload, partNumber, body);
    await permit.finish('success', { bytes: part.size, details: details(op, { uploadId: upload.uploadId, partNumber, etag: part.md5 }) });
    return { status: 200, headers: { etag: quoteEtag(part.md5), ...checksumHeaders({ checksums: part.checksums, checksumType: 'COMPOSITE' }, body.echo ?? upload.checksumAlgorithm) } };
  } catch (err) {
    await permit.finish('failure', { reason: err instanceof S3RequestError ? err.s3Code : isCofferError(err) ? err.code : 'error', details: details(op, { uploadId: upload.uploadId, partNumber }) });
    throw err;
  }
}

/** UploadPartCopy: a range of a source version (download) becomes a part (upload). */
export async function uploadPartCopy(op: S3Op): Promise<S3HttpResponse> {
  const target = await objectTarget(op, 'upload');
  const project = target.project;
  const partNumber = partNumberOf(op);
  const { upload, artifact } = await uploadOf(op, target, 'upload');
  const source = await resolveSource(op, op.http.headers['x-amz-copy-source']!, op.http.headers['x-amz-copy-source-range'] ?? null);
  let permit;
  try {
    permit = once(await op.gate.enter(op.caller, 'upload', { kind: 'artifact', project, artifact }, names.artifact(project.name, op.key!), null, details(op, { uploadId: upload.uploadId, partNumber, copySource: source.resourceName })));
  } catch (err) {
    // refused after the source was opened: release it (its download is then recorded as a failure)
    destroySafely(source.body);
    throw err;
  }
  const digest = pipeToDigest(source.body, new DigestStream({}, upload.checksumAlgorithm ? [upload.checksumAlgorithm] : []));
  try {
    const part = await storePart(op, upload, partNumber, { plaintext: digest, size: source.length, failure: () => digest.failure });
    await permit.finish('success', { bytes: part.size, details: details(op, { uploadId: upload.uploadId, partNumber }) });
    return { status: 200, headers: XML, body: xmlDocument('CopyPartResult', { LastModified: isoDate(part.createdAt), ETag: quoteEtag(part.md5), ...checksumElements(part) }) };
  } catch (err) {
    destroySafely(source.body);
    await permit.finish('failure', { reason: isCofferError(err) ? err.code : 'error' });
    throw err;
  }
}

/** The parts Complete names, checked against the stored ones (order, ETags, checksums, sizes). */
function selectParts(op: S3Op, doc: ReturnType<typeof parseXml>, stored: S3UploadPart[]): S3UploadPart[] {
  const bad = (message: string, code = 'InvalidPart') => new S3RequestError(message, { s3Code: code });
  if (doc.name !== 'CompleteMultipartUpload') throw bad('the XML you provided was not well-formed or did not validate against our published schema', 'MalformedXML');
  const requested = children(doc, 'Part');
  if (requested.length === 0) throw bad('you must specify at least one part', 'MalformedXML');
  if (requested.length > MAX_PARTS) throw bad(`at most ${MAX_PARTS} parts`, 'MalformedXML');
  const byNumber = new Map(stored.map((p) => [p.partNumber, p]));
  const out: S3UploadPart[] = [];
  let previous = 0;
  for (const el of requested) {
    const numberText = child(el, 'PartNumber')?.text.trim() ?? '';
    const n = /^\d{1,5}$/.test(numberText) ? Number(numberText) : NaN;
    if (!(n >= 1 && n <= MAX_PARTS)) throw bad('part number must be an integer between 1 and 10000', 'MalformedXML');
    if (n <= previous) throw bad('the list of parts was not in ascending order: parts must be ordered by part number', 'InvalidPartOrder');
    previous = n;
    const part = byNumber.get(n);
    const etag = child(el, 'ETag')?.text;
    if (part === undefined || (etag !== undefined && unquoteEtag(etag) !== part.md5)) {
      throw bad('one or more of the specified parts could not be found: the part may not have been uploaded, or the specified entity tag may not match the part entity tag');
    }
    for (const name of CHECKSUM_NAMES) {
      const given = child(el, `Checksum${checksumApiName(name)}`)?.text.trim();
      if (given !== undefined && given !== '' && given !== part.checksums[name]) throw bad(`the ${checksumApiName(name)} of part ${n} does not match the uploaded part`);
    }
    out.push(part);
  }
  for (const part of out.slice(0, -1)) {
    if (part.size < op.ctx.minPartSize) throw bad(`your proposed upload is smaller than the minimum allowed size: part ${part.partNumber} is ${part.size} bytes, parts but the last must be at least ${op.ctx.minPartSize}`, 'EntityTooSmall');
  }
  return out;
}

/** The plaintext of the parts in order, opened one after the other through the vault (memory stays flat). */
function concatParts(op: S3Op, parts: S3UploadPart[]): Readable {
  const vault = op.ctx.deps.vault;
  async function* chunks(): AsyncGenerator<Buffer> {
    for (const p of parts) {
      const stream = await vault.open({ objectId: p.objectId, blobKey: p.blobKey, size: p.size, wrappedKey: p.wrappedKey, keyTerm: p.keyTerm }, { signal: op.http.signal });
      for await (const chunk of stream) yield chunk as Buffer;
    }
  }
  return Readable.from(chunks(), { objectMode: false });
}

/** `checksum(concat(part checksums))-N` for an algorithm every part carries, else undefined. */
function composite(name: S3ChecksumName, parts: S3UploadPart[]): string | undefined {
  if (!parts.every((p) => p.checksums[name] !== undefined)) return undefined;
  const d = newDigest(name);
  for (const p of parts) d.update(Buffer.from(p.checksums[name]!, 'base64'));
  return `${d.digest().toString('base64')}-${parts.length}`;
}

/**
 * CompleteMultipartUpload: checks the part list, then re-seals the parts, in order,
 * as one new version (one data key, the ordinary encrypted object format, so REST and
 * every reader see a normal version) and removes the parts. Memory stays flat (the
 * parts stream through); when this takes longer than a second the 200 headers go out
 * and whitespace keeps the connection alive, as S3 does, with the result (or an
 * error document) at the end.
 */
export async function completeMultipartUpload(op: S3Op): Promise<S3HttpResponse> {
  const condition = writeConditionOf(op);
  const target = await objectTarget(op, 'upload');
  const project = target.project;
  // a retry of a Complete that already succeeded (its answer was lost) answers as the first did
  const repeated = await repeatedCompletion(op, target);
  if (repeated !== null) return repeated;
  const { upload, artifact } = await uploadOf(op, target, 'upload');
  const h = op.http.headers;
  const fullObject = upload.checksumType === 'FULL_OBJECT';
  let expected: { name: S3ChecksumName; value: string } | undefined;
  for (const name of CHECKSUM_NAMES) {
    const value = h[`x-amz-checksum-${name}`];
    if (value === undefined) continue;
    // INVARIANT: a malformed checksum is refused whatever the upload's checksum type, never ignored
    const invalid = checksumValueError(name, value, 'header');
    if (invalid !== null) throw invalid;
    if (fullObject) expected = { name, value };
  }
  const doc = parseXml(await readCheckedBody(op, 4 * 1024 * 1024, { checksumHeaders: false }));
  const parts = selectParts(op, doc, await op.ctx.store.listParts(upload.uploadId));
  // one completion at a time across every node on the database (a second one would commit a second version)
  const claimId = newId('cmp');
  if (!(await op.ctx.store.claimUploadCompletion(upload.uploadId, claimId, op.ctx.deps.clock(), COMPLETION_LEASE_MS))) throw await claimRefused(op.ctx, upload.uploadId);
  const release = () => op.ctx.store.releaseUploadCompletion(upload.uploadId, claimId).catch(() => undefined);
  let permit;
  let conditional;
  try {
    permit = await op.gate.enter(op.caller, 'upload', { kind: 'artifact', project, artifact }, names.artifact(project.name, op.key!), null, details(op, { uploadId: upload.uploadId, parts: parts.length, ...(condition !== null ? { condition } : {}) }));
    conditional = await conditionalCommit(op, artifact, permit, condition);
  } catch (err) {
    await release();
    throw err;
  }
  const etag = `${createHash('md5')
    .update(Buffer.concat(parts.map((p) => Buffer.from(p.md5, 'hex'))))
    .digest('hex')}-${parts.length}`;
  const composites: S3Checksums = {};
  if (!fullObject) {
    for (const name of CHECKSUM_NAMES) {
      const value = composite(name, parts);
      if (value !== undefined) composites[name] = value;
    }
  }
  // The slow path sends the 200 headers before the version exists, naming the version
  // number it will take (`announce`). Committing starts at most once, synchronously
  // flagged, so the number is either announced before the commit reads it or not at all.
  let announce: Promise<number> | null = null;
  let committing = false;
  const work = (async () => {
    let committed = false;
    // the re-seal may outlast the lease (hours for terabytes): renew it while it runs, and
    // stop before committing if the claim was lost (lapsed and taken by another node, or aborted)
    let lost: Error | null = null;
    let source: Readable | null = null;
    const stopRenewing = renewCompletionClaim(op.ctx, upload.uploadId, claimId, (err) => {
      lost = err;
      if (source !== null) destroySafely(source, err);
    });
    try {
      source = concatParts(op, parts);
      const digest = pipeToDigest(source, new DigestStream(expected ? { checksum: expected } : {}, upload.checksumAlgorithm ? [upload.checksumAlgorithm] : [], { md5: false }));
      const { version, meta } = await commitVersion(op, artifact, permit, {
        plaintext: digest,
        size: parts.reduce((n, p) => n + p.size, 0),
        mediaType: upload.contentType,
        failure: () => lost ?? digest.failure,
        meta: () => ({
          etag,
          checksums: fullObject ? digest.digest.checksums : composites,
          checksumType: fullObject ? 'FULL_OBJECT' : 'COMPOSITE',
          partSizes: parts.map((p) => p.size),
          userMetadata: upload.userMetadata,
          contentHeaders: upload.contentHeaders ?? {},
        }),
        exactNumber: async () => {
          committing = true;
          const announced = announce === null ? null : await announce;
          const checked = conditional.exactNumber === undefined ? null : await conditional.exactNumber();
          // a number announced and since taken by another write fails the commit (conflict below)
          return announced ?? checked;
        },
        conflict: conditional.conflict ?? ((err) => (err instanceof ConflictError ? new S3RequestError('a conflicting operation wrote this key while the upload was being completed: please try again', { s3Code: 'OperationAborted' }) : err)),
      });
      committed = true;
      await op.ctx.store.putCompletedUpload({ uploadId: upload.uploadId, projectId: project.id, key: op.key!, versionId: version.id, completedAt: op.ctx.deps.clock() });
      const removed = await op.ctx.store.deleteUpload(upload.uploadId);
      for (const p of removed) await op.ctx.deps.vault.remove(p.blobKey).catch(() => undefined);
      return completionAnswer(project.name, op.s3Key!, version.number, meta, upload.checksumAlgorithm);
    } catch (err) {
      // nothing committed: the client may retry at once (after the last renewal, which
      // would claim again). Once the version is committed a retry would commit it twice:
      // the claim stays until the lease lapses
      await stopRenewing();
      if (!committed) await release();
      throw err;
    } finally {
      await stopRenewing();
    }
  })();
  let timer: NodeJS.Timeout | undefined;
  const early = await Promise.race([
    work.then((r) => ({ done: true as const, r })),
    new Promise<{ done: false }>((resolve) => (timer = setTimeout(() => resolve({ done: false }), KEEPALIVE_AFTER_MS))),
  ]).finally(() => clearTimeout(timer));
  if (early.done) return { status: 200, headers: { ...XML, ...early.r.headers }, body: early.r.result };
  let number: number | null = null;
  if (!committing) {
    announce = op.ctx.deps.store.latestVersionNumber(artifact.id).then((n) => n + 1);
    number = await announce.catch(() => null);
  }
  if (number === null) {
    // committing already (or the number could not be read: the commit fails the same way): a short wait
    const r = await work;
    return { status: 200, headers: { ...XML, ...r.headers }, body: r.result };
  }
  // what is known before the end: the version number, and the checksum unless it is computed from the whole object
  const known = fullObject ? (expected !== undefined ? { [expected.name]: expected.value } : {}) : composites;
  const earlyHeaders = { 'x-amz-version-id': String(number), ...checksumHeaders({ checksums: known, checksumType: fullObject ? 'FULL_OBJECT' : 'COMPOSITE' }, upload.checksumAlgorithm ?? expected?.name ?? null) };
  // guarded: the transport may let go of it (client gone) while the keep-alive still writes
  const out = guard(new PassThrough());
  out.write('<?xml version="1.0" encoding="UTF-8"?>\n');
  const keepalive = setInterval(() => out.write(' '), KEEPALIVE_EVERY_MS);
  work.then(
    (r) => {
      clearInterval(keepalive);
      out.end(r.result.slice(r.result.indexOf('\n') + 1));
    },
    (err: unknown) => {
      clearInterval(keepalive);
      const info = toS3Error(err, 'NoSuchUpload');
      const doc = errorResponse(info, `/${project.name}/${op.s3Key!}`, op.http.meta.requestId, 'POST').body as string;
      out.end(doc.slice(doc.indexOf('\n') + 1));
    },
  );
  return { status: 200, headers: { ...XML, ...earlyHeaders }, body: out };
}

/** The result document and headers of a completed upload (the first Complete and its retries alike). */
function completionAnswer(bucket: string, key: string, versionNumber: number, meta: S3ObjectMeta, algorithm: S3ChecksumName | null): { result: string; headers: Record<string, string> } {
  const result = xmlDocument('CompleteMultipartUploadResult', {
    Location: `/${bucket}/${awsUriEncode(key, true)}`,
    Bucket: bucket,
    Key: key,
    ETag: quoteEtag(meta.etag),
    ...checksumElements(meta),
    ChecksumType: meta.checksumType,
  });
  return { result, headers: { 'x-amz-version-id': String(versionNumber), ...checksumHeaders(meta, algorithm) } };
}

/**
 * A Complete of an upload id that already completed, in this bucket and key: the same
 * answer as the first (ETag, version id, checksums), as S3 gives a client retrying after
 * a lost response. It needs `upload` on the artifact like the first; another key, bucket
 * or an id never completed is null (then NoSuchUpload). Completions are remembered for
 * as long as abandoned uploads are kept (the sweep forgets them).
 */
async function repeatedCompletion(op: S3Op, target: ObjectTarget): Promise<S3HttpResponse | null> {
  const { project, artifact } = target;
  const uploadId = param(op, 'uploadId') ?? '';
  // a completion on a key the caller may not see does not exist for it (then NoSuchUpload)
  const done = uploadId === '' || artifact === null ? null : await op.ctx.store.getCompletedUpload(uploadId);
  if (done === null || done.projectId !== project.id || done.key !== op.key) return null;
  const version = await op.ctx.deps.store.getVersion(done.versionId);
  const meta = await op.ctx.store.getObjectMeta(done.versionId);
  if (artifact === null || version === null || version.artifactId !== artifact.id || meta === null) return null;
  const permit = await op.gate.enter(op.caller, 'upload', { kind: 'artifact', project, artifact }, names.artifact(project.name, op.key), null, details(op, { uploadId, repeated: true }));
  await permit.finish('success', { details: details(op, { uploadId, repeated: true, version: version.number, etag: meta.etag }) });
  const names_ = Object.keys(meta.checksums) as S3ChecksumName[];
  const r = completionAnswer(project.name, op.s3Key!, version.number, meta, names_.length === 1 ? names_[0]! : null);
  return { status: 200, headers: { ...XML, ...r.headers }, body: r.result };
}

/** The error for a refused claim: NoSuchUpload if the upload is gone (completed or aborted meanwhile), else OperationAborted. */
async function claimRefused(ctx: S3Op['ctx'], uploadId: string): Promise<S3RequestError> {
  if ((await ctx.store.getUpload(uploadId).catch(() => undefined)) === null) return noSuchUpload();
  return new S3RequestError('the upload is being completed by another request', { s3Code: 'OperationAborted' });
}

/**
 * Renews the claim `claimId` on the completion of an upload every `timing.renewEveryMs`
 * (to `now + timing.leaseMs`) until the returned function is called (it resolves once a
 * renewal in flight is over, so a release after it is not undone). When the store says
 * the claim is no longer held, `onLost` runs once with the error to fail the completion
 * with, and renewal stops. A renewal that fails (database unreachable) is retried at the
 * next tick: the lease leaves room for two.
 */
export function renewCompletionClaim(
  ctx: S3Op['ctx'],
  uploadId: string,
  claimId: string,
  onLost: (err: S3RequestError) => void,
  timing: { leaseMs: number; renewEveryMs: number } = { leaseMs: COMPLETION_LEASE_MS, renewEveryMs: COMPLETION_RENEW_EVERY_MS },
): () => Promise<void> {
  let stopped = false;
  let inFlight: Promise<void> | null = null;
  const renew = async (): Promise<void> => {
    const held = await ctx.store.claimUploadCompletion(uploadId, claimId, ctx.deps.clock(), timing.leaseMs);
    if (held || stopped) return;
    const err = await claimRefused(ctx, uploadId);
    if (stopped) return;
    stopped = true;
    clearInterval(timer);
    onLost(err);
  };
  const timer = setInterval(() => {
    if (stopped || inFlight !== null) return;
    inFlight = renew()
      .catch(() => undefined)
      .finally(() => (inFlight = null));
  }, timing.renewEveryMs);
  // a completion in progress keeps its request open; the timer alone need not hold the process
  timer.unref();
  return async () => {
    stopped = true;
    clearInterval(timer);
    await inFlight;
  };
}

/** AbortMultipartUpload: removes the upload and its sealed parts (`upload` on the artifact). */
export async function abortMultipartUpload(op: S3Op): Promise<S3HttpResponse> {
  const target = await objectTarget(op, 'upload');
  const project = target.project;
  const { upload, artifact } = await uploadOf(op, target, 'upload');
  const permit = await op.gate.enter(op.caller, 'upload', { kind: 'artifact', project, artifact }, names.artifact(project.name, op.key!), null, details(op, { uploadId: upload.uploadId }));
  const removed = await op.ctx.store.deleteUpload(upload.uploadId);
  for (const p of removed) await op.ctx.deps.vault.remove(p.blobKey).catch(() => undefined);
  await permit.finish('success', { details: details(op, { uploadId: upload.uploadId, parts: removed.length }) });
  return { status: 204, headers: {} };
}

/** ListParts: read-metadata on the artifact. */
export async function listParts(op: S3Op): Promise<S3HttpResponse> {
  const target = await objectTarget(op, 'read-metadata');
  const project = target.project;
  const { upload, artifact } = await uploadOf(op, target, 'read-metadata');
  op.notFound = 'NoSuchUpload';
  const markerText = param(op, 'part-number-marker') ?? '0';
  const maxText = param(op, 'max-parts') ?? '1000';
  if (!/^\d{1,5}$/.test(markerText) || !/^\d{1,9}$/.test(maxText)) throw new S3RequestError('part-number-marker and max-parts must be integers', { s3Code: 'InvalidArgument' });
  const permit = await op.gate.enter(op.caller, 'read-metadata', { kind: 'artifact', project, artifact }, names.artifact(project.name, op.key!), { notFound: notFoundMessage.artifact(project.name, op.key!) }, details(op, { uploadId: upload.uploadId }));
  const maxParts = Math.min(Number(maxText), 1000);
  const rows = maxParts === 0 ? [] : await op.ctx.store.listParts(upload.uploadId, { afterPart: Number(markerText), limit: maxParts + 1 });
  const page = rows.slice(0, maxParts);
  const truncated = rows.length > maxParts;
  await permit.finish('success', { details: details(op, { uploadId: upload.uploadId, returned: page.length }) });
  const initiator = { ID: upload.principalId, DisplayName: upload.principalId };
  return {
    status: 200,
    headers: XML,
    body: xmlDocument('ListPartsResult', {
      Bucket: project.name,
      Key: s3KeyOf(upload.key),
      UploadId: upload.uploadId,
      PartNumberMarker: Number(markerText),
      ...(page.length > 0 ? { NextPartNumberMarker: page[page.length - 1]!.partNumber } : {}),
      MaxParts: maxParts,
      IsTruncated: truncated,
      Part: page.map((p) => ({ PartNumber: p.partNumber, LastModified: isoDate(p.createdAt), ETag: quoteEtag(p.md5), Size: p.size, ...checksumElements({ checksums: upload.checksumAlgorithm ? { [upload.checksumAlgorithm]: p.checksums[upload.checksumAlgorithm] } : {} }) })),
      Initiator: initiator,
      Owner: initiator,
      StorageClass: 'STANDARD',
      ...(upload.checksumAlgorithm ? { ChecksumAlgorithm: checksumApiName(upload.checksumAlgorithm) } : {}),
      ...(upload.checksumType ? { ChecksumType: upload.checksumType } : {}),
    }),
  };
}

/** ListMultipartUploads: uploads in the bucket whose artifact the caller may see. */
export async function listMultipartUploads(op: S3Op): Promise<S3HttpResponse> {
  const project = await bucketProject(op, 'read-metadata', names.project(op.bucket));
  op.notFound = 'NoSuchBucket';
  const prefix = param(op, 'prefix') ?? '';
  const keyMarker = param(op, 'key-marker') ?? null;
  const uploadIdMarker = param(op, 'upload-id-marker') ?? null;
  const maxText = param(op, 'max-uploads') ?? '1000';
  if (!/^\d{1,9}$/.test(maxText)) throw new S3RequestError('max-uploads must be an integer', { s3Code: 'InvalidArgument' });
  const maxUploads = Math.min(Number(maxText), 1000);
  const permit = await op.gate.enter(op.caller, 'read-metadata', { kind: 'project', project }, names.project(project.name), { notFound: notFoundMessage.project(project.name) }, details(op));
  // uploads are stored by canonical name: the store narrows by the prefix's leading plain
  // characters (verbatim in every canonical name of a key with that prefix), the rest here
  const plain = /^[A-Za-z0-9_\-+=,;:!$&'()* ~]*/.exec(prefix)![0];
  const rows = maxUploads === 0 ? [] : await op.ctx.store.listUploads(project.id, { prefix: plain, keyMarker: keyMarker === null ? null : artifactNameOf(keyMarker), uploadIdMarker, limit: maxUploads + 1 });
  const visible: S3Upload[] = [];
  for (const u of rows.slice(0, maxUploads)) {
    if (!s3KeyOf(u.key).startsWith(prefix)) continue;
    const artifact = await op.ctx.deps.store.getArtifactByName(project.id, u.key);
    if (artifact !== null && op.gate.decide(op.caller, 'read-metadata', { kind: 'artifact', project, artifact }).allowed) visible.push(u);
  }
  const truncated = rows.length > maxUploads;
  const last = rows.slice(0, maxUploads).at(-1);
  await permit.finish('success', { details: details(op, { returned: visible.length }) });
  const body: XmlNode = {
    Bucket: project.name,
    KeyMarker: keyMarker ?? '',
    UploadIdMarker: uploadIdMarker ?? '',
    ...(truncated && last ? { NextKeyMarker: s3KeyOf(last.key), NextUploadIdMarker: last.uploadId } : {}),
    Prefix: prefix,
    MaxUploads: maxUploads,
    IsTruncated: truncated,
    Upload: visible.map((u) => ({
      Key: s3KeyOf(u.key),
      UploadId: u.uploadId,
      Initiator: { ID: u.principalId, DisplayName: u.principalId },
      Owner: { ID: u.principalId, DisplayName: u.principalId },
      StorageClass: 'STANDARD',
      Initiated: isoDate(u.createdAt),
      ...(u.checksumAlgorithm ? { ChecksumAlgorithm: checksumApiName(u.checksumAlgorithm) } : {}),
    })),
  };
  return { status: 200, headers: XML, body: xmlDocument('ListMultipartUploadsResult', body) };
}

/** For the sweeper: removes an abandoned upload and its sealed parts (no caller: recorded by the caller of this). */
export async function removeUpload(ctx: S3Op['ctx'], uploadId: string): Promise<number> {
  const removed = await ctx.store.deleteUpload(uploadId);
  for (const p of removed) await ctx.deps.vault.remove(p.blobKey).catch(() => undefined);
  return removed.length;
}

