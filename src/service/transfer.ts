import type { Readable } from 'node:stream';
import { ConflictError, NotFoundError, PayloadTooLargeError, ValidationError, isCofferError } from '../domain/errors.js';
import { meterPlaintext, resolveRange } from './metered-plaintext.js';
import { downloadSignal, openDownloadSlot } from './download-slot.js';
export { RangeNotSatisfiable } from './metered-plaintext.js';
import { ID_PREFIX, newId } from '../domain/ids.js';
import type { ArtifactVersion } from '../domain/types.js';
import type { SealedObject } from '../vault/vault.js';
import type { ByteRange } from '../store/blob-store.js';
import type { Caller } from './caller.js';
import type { ServiceDeps } from './deps.js';
import type { Gate } from './gate.js';
import { findArtifact, findVersion, names, notFoundMessage } from './resources.js';
import { versionView } from './views.js';
import type { VersionView } from './views.js';

export interface PushInput {
  project: string;
  artifact: string;
  body: Readable;
  /** Declared plaintext size (Content-Length); checked against what arrives. */
  size?: number | undefined;
  /** Declared SHA-256 (hex); checked against what arrives. */
  sha256?: string | undefined;
  mediaType: string;
  signal?: AbortSignal | undefined;
}

const MAX_NUMBER_RETRIES = 8;

/**
 * Uploads a new immutable version: authorize `upload` on the artifact, record the
 * attempt, stream through the vault (encrypt + hash), then commit the metadata.
 * Nothing becomes visible unless every step succeeds.
 */
export async function pushVersion(deps: ServiceDeps, gate: Gate, caller: Caller, input: PushInput): Promise<VersionView> {
  // INVARIANT: input checks that do not depend on the artifact come before its lookup, so a
  // hidden artifact and a missing one get the same answer (never 413 for one, 404 for the other)
  if (input.sha256 !== undefined && !/^[0-9a-f]{64}$/.test(input.sha256)) throw new ValidationError('sha256 must be 64 lowercase hex characters');
  if (input.size !== undefined && input.size > deps.settings.maxUploadBytes) throw new PayloadTooLargeError(`artifact version is larger than the limit of ${deps.settings.maxUploadBytes} bytes`);
  const found = await findArtifact(deps, input.project, input.artifact);
  const resourceName = names.artifact(input.project, input.artifact);
  const notFound = notFoundMessage.artifact(input.project, input.artifact);
  if (found === null) return gate.refuse(caller, caller.meta, 'upload', resourceName, new NotFoundError(notFound));
  const { project, artifact } = found;
  const permit = await gate.enter(caller, 'upload', { kind: 'artifact', project, artifact }, resourceName, { notFound }, { declaredSize: input.size });
  const versionId = newId(ID_PREFIX.version);
  let sealed;
  try {
    sealed = await deps.vault.seal(versionId, input.body, { signal: input.signal, expectedSize: input.size, expectedSha256: input.sha256 });
  } catch (err) {
    await permit.finish('failure', { reason: isCofferError(err) ? err.code : 'error' });
    throw err;
  }
  try {
    const version = await commitVersion(deps, { artifactId: artifact.id, versionId, sealed, mediaType: input.mediaType, createdBy: caller.subject.principal.id });
    await permit.finish('success', { bytes: sealed.size, details: { version: version.number, sha256: sealed.sha256 } });
    return versionView(version, project.name, artifact.name);
  } catch (err) {
    await deps.vault.remove(sealed.blobKey).catch(() => undefined);
    await permit.finish('failure', { reason: isCofferError(err) ? err.code : 'error' });
    throw err;
  }
}

/**
 * Records a sealed object as the next version of its artifact. Numbers are taken as
 * latest + 1; a concurrent writer taking the same number (ConflictError) makes this
 * retry with the next one, unless `exactNumber` is given: then that number or a
 * ConflictError (the check before it no longer holds). Shared by REST pushes and S3 writes.
 */
export async function commitVersion(
  deps: ServiceDeps,
  input: { artifactId: string; versionId: string; sealed: SealedObject; mediaType: string; createdBy: string; exactNumber?: number | null | undefined },
): Promise<ArtifactVersion> {
  const { sealed } = input;
  for (let attempt = 0; ; attempt++) {
    const version: ArtifactVersion = {
      id: input.versionId,
      artifactId: input.artifactId,
      number: input.exactNumber ?? (await deps.store.latestVersionNumber(input.artifactId)) + 1,
      sha256: sealed.sha256,
      size: sealed.size,
      mediaType: input.mediaType,
      createdBy: input.createdBy,
      createdAt: deps.clock(),
      blobKey: sealed.blobKey,
      wrappedKey: sealed.wrappedKey,
      keyTerm: sealed.keyTerm,
    };
    try {
      await deps.store.createVersion(version);
      deps.versionCommitted?.(version);
      return version;
    } catch (err) {
      // a number decided beforehand (a conditional write) is never moved on: its conflict is the caller's answer
      if (!(err instanceof ConflictError) || attempt >= MAX_NUMBER_RETRIES || input.exactNumber != null) throw err;
    }
  }
}

/** Metadata of one version (read-metadata on the version). */
export async function showVersion(deps: ServiceDeps, gate: Gate, caller: Caller, projectName: string, artifactName: string, selector: string): Promise<VersionView> {
  const found = await findVersion(deps, projectName, artifactName, selector);
  const resourceName = names.version(projectName, artifactName, selector);
  const notFound = notFoundMessage.version(projectName, artifactName, selector);
  if (found === null) return gate.refuse(caller, caller.meta, 'read-metadata', resourceName, new NotFoundError(notFound));
  const permit = await gate.enter(caller, 'read-metadata', { kind: 'version', ...found }, resourceName, { notFound });
  await permit.finish('success');
  return versionView(found.version, projectName, artifactName);
}

export interface PullResult {
  version: VersionView;
  /** Plaintext stream (whole object or the range). */
  body: Readable;
  /** The inclusive plaintext range served, or null for the whole object. */
  range: ByteRange | null;
}

/**
 * Downloads a version (or a byte range of it): authorize `download` on the version,
 * record the attempt, open through the vault. The completion record (bytes sent,
 * success or failure) is written when the stream ends or fails.
 */
export async function pullVersion(
  deps: ServiceDeps,
  gate: Gate,
  caller: Caller,
  input: { project: string; artifact: string; version: string; range?: { start?: number; end?: number; suffix?: number } | undefined; signal?: AbortSignal },
): Promise<PullResult> {
  const found = await findVersion(deps, input.project, input.artifact, input.version);
  const resourceName = names.version(input.project, input.artifact, input.version);
  const notFound = notFoundMessage.version(input.project, input.artifact, input.version);
  if (found === null) return gate.refuse(caller, caller.meta, 'download', resourceName, new NotFoundError(notFound));
  const { version } = found;
  // INVARIANT: the slot is open before the attempt record, which may itself trigger a lock
  const slot = await openDownloadSlot(deps, caller.subject.principal.id);
  let permit;
  try {
    permit = await gate.enter(caller, 'download', { kind: 'version', ...found }, resourceName, { notFound });
  } catch (err) {
    slot.close();
    throw err;
  }
  let body: Readable;
  let range: ByteRange | null = null;
  try {
    slot.throwIfCut();
    // INVARIANT: the range is resolved only after authorization, so a 416 never reveals the size of a hidden version
    range = input.range === undefined ? null : resolveRange(input.range, version.size);
    body = await deps.vault.open(
      { objectId: version.id, blobKey: version.blobKey, size: version.size, wrappedKey: version.wrappedKey, keyTerm: version.keyTerm },
      { ...(range ? { range } : {}), signal: downloadSignal(slot, input.signal) },
    );
  } catch (caught) {
    const err = slot.failureOf(caught);
    slot.close();
    await permit.finish('failure', { reason: isCofferError(err) ? err.code : 'error' });
    throw err;
  }
  const rangeDetail = range ? { details: { range: `${range.start}-${range.end}` } } : {};
  const metered = await meterPlaintext(
    body,
    (r) => void permit.finish(r.outcome, { bytes: r.bytes, ...(r.outcome === 'failure' ? { reason: r.reason } : {}), ...rangeDetail }),
    { slot },
  );
  return { version: versionView(version, input.project, input.artifact), body: metered, range };
}
