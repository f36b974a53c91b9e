import type { Readable } from 'node:stream';
import { AlreadyExistsError, ConflictError, NotFoundError, S3RequestError, isCofferError } from '../domain/errors.js';
import { ID_PREFIX, newId } from '../domain/ids.js';
import { ARTIFACT_KINDS, ENVIRONMENTS, TIERS } from '../domain/types.js';
import type { Artifact, ArtifactKind, ArtifactVersion, Environment, Project, Tier } from '../domain/types.js';
import { resolveSubject } from '../identity/resolve-subject.js';
import { createArtifact } from '../service/catalog.js';
import { commitVersion as commitNextVersion } from '../service/transfer.js';
import type { Permit } from '../service/gate.js';
import { names, notFoundMessage } from '../service/resources.js';
import type { S3ObjectMeta } from '../store/s3-store.js';
import { DigestStream, checksumApiName } from './checksums.js';
import { copySourceTarget, resolveSource } from './object-source.js';
import { requestBody } from './request-body.js';
import type { S3HttpResponse } from './s3-http.js';
import { assertObjectKey } from './s3-names.js';
import { details, type S3Op } from './s3-op.js';
import { isoDate, quoteEtag } from './s3-format.js';
import { userMetadataOf } from './user-metadata.js';
import { objectTarget, refuseTaken } from './object-target.js';
import { contentHeadersOf } from './content-headers.js';
import { checkWriteCondition, conditionLost, writeConditionOf, type WriteCondition } from './write-condition.js';
import { destroySafely, guard } from '../streams/index.js';
import { xmlDocument } from './xml.js';


/** The project of a bucket, or a recorded NoSuchBucket refusal. */
export async function bucketProject(op: S3Op, action: string, resourceName: string): Promise<Project> {
  const project = await op.ctx.deps.store.getProjectByName(op.bucket);
  if (project === null) {
    op.notFound = 'NoSuchBucket';
    return op.gate.refuse(op.caller, op.caller.meta, action, resourceName, new NotFoundError(notFoundMessage.project(op.bucket)));
  }
  return project;
}

function choice<T extends string>(value: string | undefined, allowed: readonly T[], fallback: T, header: string): T {
  if (value === undefined) return fallback;
  if (!(allowed as readonly string[]).includes(value)) throw new S3RequestError(`${header} must be one of ${allowed.join(', ')}`, { s3Code: 'InvalidArgument' });
  return value as T;
}

/**
 * The artifact an object key names, created on first write (`create-artifact` on the
 * project, through the catalog use case) with kind, tier and environment from the
 * `x-amz-meta-coffer-*` headers or the defaults (`other`, the configured tier, `dev`).
 */
export async function ensureArtifact(op: S3Op, project: Project, key: string): Promise<Artifact> {
  const existing = await op.ctx.deps.store.getArtifactByName(project.id, key);
  if (existing !== null) return existing;
  const h = op.http.headers;
  const tier: Tier = choice(h['x-amz-meta-coffer-tier'], TIERS, op.ctx.defaultTier, 'x-amz-meta-coffer-tier');
  const kind: ArtifactKind = choice(h['x-amz-meta-coffer-kind'], ARTIFACT_KINDS, 'other', 'x-amz-meta-coffer-kind');
  const environment: Environment = choice(h['x-amz-meta-coffer-environment'], ENVIRONMENTS, 'dev', 'x-amz-meta-coffer-environment');
  try {
    await createArtifact(op.ctx.deps, op.gate, op.caller, { project: project.name, name: key, kind, tier, environment, labels: { source: 's3' } });
  } catch (err) {
    // a concurrent first PUT created it: use theirs
    if (!(err instanceof AlreadyExistsError)) {
      if (err instanceof NotFoundError) op.notFound = 'NoSuchBucket';
      throw err;
    }
  }
  const created = await op.ctx.deps.store.getArtifactByName(project.id, key);
  if (created === null) throw new ConflictError(`artifact \`${project.name}/${key}\` vanished while it was created`);
  // the creator's new grant on the artifact counts from now on (restricted artifacts are reachable only through it)
  op.caller = { ...op.caller, subject: await resolveSubject(op.ctx.deps.store, op.caller.subject.principal, op.ctx.deps.clock()) };
  return created;
}

/** Plaintext to seal as a new version, with the S3 facts to record once it is sealed. */
export interface NewVersionInput {
  plaintext: Readable;
  size?: number | undefined;
  sha256?: string | undefined;
  mediaType: string;
  /** The failure of an upstream stage (decoding, digest), preferred over the vault's report. */
  failure: () => Error | null;
  /** ETag, checksums, parts and user metadata, known once the plaintext has been read. */
  meta: () => Omit<S3ObjectMeta, 'versionId'>;
  /**
   * Decides, once sealed and right before the commit, the exact version number to take
   * (a conditional write: write-condition.ts), or null for the next free one. A commit
   * with an exact number that loses to a concurrent write fails with `conflict(err)`.
   */
  exactNumber?: () => Promise<number | null>;
  conflict?: (err: unknown) => unknown;
}

/**
 * Seals `input.plaintext` as the next version of `artifact` under an `upload` permit:
 * the S3 facts are stored before the version row, so a visible version always has
 * its ETag. Nothing is visible unless every step succeeds; the permit is finished.
 */
export async function commitVersion(op: S3Op, artifact: Artifact, permit: Permit, input: NewVersionInput): Promise<{ version: ArtifactVersion; meta: S3ObjectMeta }> {
  const { deps } = op.ctx;
  const versionId = newId(ID_PREFIX.version);
  let sealed;
  try {
    sealed = await deps.vault.seal(versionId, input.plaintext, { signal: op.http.signal, expectedSize: input.size, expectedSha256: input.sha256 });
  } catch (err) {
    const failure = input.failure() ?? err;
    await permit.finish('failure', { reason: isCofferError(failure) ? failure.code : 'error', details: details(op, isS3(failure) ? { s3Code: failure.s3Code } : {}) });
    throw failure;
  }
  const meta: S3ObjectMeta = { versionId, ...input.meta() };
  try {
    await op.ctx.store.putObjectMeta(meta);
    const exactNumber = input.exactNumber === undefined ? null : await input.exactNumber();
    let version: ArtifactVersion;
    try {
      version = await commitNextVersion(deps, { artifactId: artifact.id, versionId, sealed, mediaType: input.mediaType, createdBy: op.caller.subject.principal.id, exactNumber });
    } catch (err) {
      throw exactNumber !== null && input.conflict !== undefined ? input.conflict(err) : err;
    }
    await permit.finish('success', { bytes: sealed.size, details: details(op, { version: version.number, etag: meta.etag, sha256: sealed.sha256 }) });
    return { version, meta };
  } catch (err) {
    await deps.vault.remove(sealed.blobKey).catch(() => undefined);
    await op.ctx.store.deleteObjectMeta(versionId).catch(() => undefined);
    await permit.finish('failure', { reason: isS3(err) ? err.s3Code : isCofferError(err) ? err.code : 'error' });
    throw err;
  }
}

/**
 * The commit options of a conditional write: the condition is checked once before the
 * body is read (a write bound to fail stores nothing) and again, atomically with the
 * commit, once it is sealed (write-condition.ts). A failed first check is recorded.
 */
export async function conditionalCommit(op: S3Op, artifact: Artifact, permit: Permit, condition: WriteCondition | null): Promise<Pick<NewVersionInput, 'exactNumber' | 'conflict'>> {
  if (condition === null) return {};
  try {
    await checkWriteCondition(op, artifact, condition);
  } catch (err) {
    await permit.finish('failure', { reason: isS3(err) ? err.s3Code : isCofferError(err) ? err.code : 'error', details: details(op, { condition }) });
    throw err;
  }
  return { exactNumber: () => checkWriteCondition(op, artifact, condition), conflict: conditionLost };
}

function isS3(err: unknown): err is S3RequestError {
  return err instanceof S3RequestError;
}

/** Headers echoing the checksum of a write (`x-amz-checksum-crc32: ...`). */
export function checksumHeaders(meta: Pick<S3ObjectMeta, 'checksums' | 'checksumType'>, name: keyof S3ObjectMeta['checksums'] | null): Record<string, string> {
  if (name === null) return {};
  const value = meta.checksums[name];
  return value === undefined ? {} : { [`x-amz-checksum-${name}`]: value, 'x-amz-checksum-type': meta.checksumType };
}

/** PutObject: a new immutable version of the artifact named by the key (created on first PUT), with its `x-amz-meta-*`. */
export async function putObject(op: S3Op): Promise<S3HttpResponse> {
  const key = op.key!;
  assertObjectKey(key);
  const userMetadata = userMetadataOf(op.http.headers);
  const contentHeaders = contentHeadersOf(op.http.headers);
  const condition = writeConditionOf(op);
  const target = await objectTarget(op, 'upload');
  if (target.taken) return refuseTaken(op, 'upload');
  const body = requestBody(op);
  const artifact = target.artifact ?? (await ensureArtifact(op, target.project, key));
  const project = target.project;
  const permit = await op.gate.enter(op.caller, 'upload', { kind: 'artifact', project, artifact }, names.artifact(project.name, key), null, details(op, { declaredSize: body.size, ...(condition !== null ? { condition } : {}) }));
  const conditional = await conditionalCommit(op, artifact, permit, condition);
  const { version, meta } = await commitVersion(op, artifact, permit, {
    ...conditional,
    plaintext: body.plaintext,
    size: body.size,
    sha256: body.sha256,
    mediaType: (op.http.headers['content-type'] ?? 'binary/octet-stream').slice(0, 200),
    failure: () => body.failure(),
    meta: () => ({ etag: body.plaintext.digest.md5, checksums: body.plaintext.digest.checksums, checksumType: 'FULL_OBJECT', partSizes: null, userMetadata, contentHeaders }),
  });
  return {
    status: 200,
    headers: { etag: quoteEtag(meta.etag), 'x-amz-version-id': String(version.number), ...checksumHeaders(meta, body.echo) },
  };
}

/**
 * CopyObject: the plaintext of a source version (download) becomes a new version of the
 * target (upload). `x-amz-metadata-directive: COPY` (the default) keeps the source's
 * content type and user metadata; `REPLACE` takes the request's.
 */
export async function copyObject(op: S3Op): Promise<S3HttpResponse> {
  const key = op.key!;
  assertObjectKey(key);
  const directive = op.http.headers['x-amz-metadata-directive'] ?? 'COPY';
  if (directive !== 'COPY' && directive !== 'REPLACE') throw new S3RequestError('unknown metadata directive: x-amz-metadata-directive must be COPY or REPLACE', { s3Code: 'InvalidArgument' });
  const replaced = directive === 'REPLACE' ? userMetadataOf(op.http.headers) : null;
  const replacedContent = directive === 'REPLACE' ? contentHeadersOf(op.http.headers) : null;
  const copySource = copySourceTarget(op.http.headers['x-amz-copy-source']!);
  if (replaced === null && copySource !== null && copySource.bucket === op.bucket && copySource.key === op.s3Key && copySource.versionId === undefined) {
    throw new S3RequestError('this copy request is illegal because it is trying to copy an object to itself without changing the object\'s metadata: send x-amz-metadata-directive: REPLACE', { s3Code: 'InvalidRequest' });
  }
  const target = await objectTarget(op, 'upload');
  if (target.taken) return refuseTaken(op, 'upload');
  const source = await resolveSource(op, op.http.headers['x-amz-copy-source']!, null);
  const project = target.project;
  let copied;
  try {
    const artifact = target.artifact ?? (await ensureArtifact(op, project, key));
    const permit = await op.gate.enter(op.caller, 'upload', { kind: 'artifact', project, artifact }, names.artifact(project.name, key), null, details(op, { copySource: source.resourceName }));
    const digest = pipeToDigest(source.body, new DigestStream({}));
    copied = await commitVersion(op, artifact, permit, {
      plaintext: digest,
      size: source.length,
      mediaType: replaced !== null ? (op.http.headers['content-type'] ?? source.mediaType).slice(0, 200) : source.mediaType,
      failure: () => digest.failure,
      meta: () => ({ etag: digest.digest.md5, checksums: digest.digest.checksums, checksumType: 'FULL_OBJECT', partSizes: null, userMetadata: replaced ?? source.userMetadata, contentHeaders: replacedContent ?? source.contentHeaders }),
    });
  } catch (err) {
    // refused after the source was opened: release it (its download is then recorded as a failure)
    destroySafely(source.body);
    throw err;
  }
  const { version, meta } = copied;
  return {
    status: 200,
    headers: { 'content-type': 'application/xml', 'x-amz-version-id': String(version.number), 'x-amz-copy-source-version-id': String(source.versionNumber) },
    body: xmlDocument('CopyObjectResult', { LastModified: isoDate(version.createdAt), ETag: quoteEtag(meta.etag), ChecksumCRC32: meta.checksums.crc32 }),
  };
}

/**
 * Pipes a copy source into `digest` (guarded: the source may fail before the vault
 * reads, and its failure then becomes the digest's) and returns the digest.
 */
export function pipeToDigest(source: Readable, digest: DigestStream): DigestStream {
  guard(digest);
  guard(source).on('error', (err) => destroySafely(digest, err));
  source.pipe(digest);
  return digest;
}

/** The checksum elements of a result document (`ChecksumCRC32` ...). */
export function checksumElements(meta: Pick<S3ObjectMeta, 'checksums'>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(meta.checksums)) if (value !== undefined) out[`Checksum${checksumApiName(name as never)}`] = value;
  return out;
}
