import { Transform } from 'node:stream';
import type { Readable } from 'node:stream';
import { ConflictError, NotFoundError, PayloadTooLargeError, RangeNotSatisfiableError, ValidationError, isCofferError } from '../domain/errors.js';
import { ID_PREFIX, newId } from '../domain/ids.js';
import type { ArtifactVersion } from '../domain/types.js';
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
  const found = await findArtifact(deps, input.project, input.artifact);
  const resourceName = names.artifact(input.project, input.artifact);
  const notFound = notFoundMessage.artifact(input.project, input.artifact);
  if (found === null) return gate.refuse(caller, caller.meta, 'upload', resourceName, new NotFoundError(notFound));
  if (input.sha256 !== undefined && !/^[0-9a-f]{64}$/.test(input.sha256)) throw new ValidationError('sha256 must be 64 lowercase hex characters');
  if (input.size !== undefined && input.size > deps.settings.maxUploadBytes) throw new PayloadTooLargeError(`artifact version is larger than the limit of ${deps.settings.maxUploadBytes} bytes`);
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
    for (let attempt = 0; ; attempt++) {
      const number = (await deps.store.latestVersionNumber(artifact.id)) + 1;
      const version: ArtifactVersion = {
        id: versionId,
        artifactId: artifact.id,
        number,
        sha256: sealed.sha256,
        size: sealed.size,
        mediaType: input.mediaType,
        createdBy: caller.subject.principal.id,
        createdAt: deps.clock(),
        blobKey: sealed.blobKey,
        wrappedKey: sealed.wrappedKey,
        keyTerm: sealed.keyTerm,
      };
      try {
        await deps.store.createVersion(version);
        await permit.finish('success', { bytes: sealed.size, details: { version: number, sha256: sealed.sha256 } });
        return versionView(version, project.name, artifact.name);
      } catch (err) {
        // a concurrent push took this number: take the next one
        if (!(err instanceof ConflictError) || attempt >= MAX_NUMBER_RETRIES) throw err;
      }
    }
  } catch (err) {
    await deps.vault.remove(sealed.blobKey).catch(() => undefined);
    await permit.finish('failure', { reason: isCofferError(err) ? err.code : 'error' });
    throw err;
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
  const permit = await gate.enter(caller, 'download', { kind: 'version', ...found }, resourceName, { notFound });
  let body: Readable;
  let range: ByteRange | null = null;
  try {
    // INVARIANT: the range is resolved only after authorization, so a 416 never reveals the size of a hidden version
    range = input.range === undefined ? null : resolveRange(input.range, version.size);
    body = await deps.vault.open(
      { objectId: version.id, blobKey: version.blobKey, size: version.size, wrappedKey: version.wrappedKey, keyTerm: version.keyTerm },
      { ...(range ? { range } : {}), ...(input.signal ? { signal: input.signal } : {}) },
    );
  } catch (err) {
    await permit.finish('failure', { reason: isCofferError(err) ? err.code : 'error' });
    throw err;
  }
  let finished = false;
  const finish = (outcome: 'success' | 'failure', bytes: number, reason?: string) => {
    if (finished) return;
    finished = true;
    void permit.finish(outcome, { bytes, ...(reason ? { reason } : {}), ...(range ? { details: { range: `${range.start}-${range.end}` } } : {}) });
  };
  // counts what really leaves, without putting the stream into flowing mode
  let sent = 0;
  const meter = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      sent += chunk.length;
      callback(null, chunk);
    },
  });
  body.once('error', (err) => meter.destroy(err));
  body.pipe(meter);
  // a lock of the caller (monitor) cuts this download where it stands
  deps.inflight?.register(caller.subject.principal.id, meter);
  meter.once('end', () => finish('success', sent));
  meter.once('error', (err) => finish('failure', sent, isCofferError(err) ? err.code : 'error'));
  meter.once('close', () => finish('failure', sent, 'client-disconnected'));
  try {
    // the first segment is authenticated before any status line is sent, so a tampered
    // or missing object fails as one clean error and serves nothing
    await firstReadable(meter);
  } catch (err) {
    meter.destroy();
    throw err;
  }
  return { version: versionView(version, input.project, input.artifact), body: meter, range };
}

/** Resolves once `stream` has data buffered or has ended; rejects with its error. Consumes nothing. */
function firstReadable(stream: Readable): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = (err?: Error) => {
      stream.off('readable', onReadable);
      stream.off('error', onError);
      if (err) reject(err);
      else resolve();
    };
    const onReadable = () => done();
    const onError = (err: Error) => done(err);
    stream.once('readable', onReadable);
    stream.once('error', onError);
  });
}

/** Resolves an HTTP-style range (start-end, start-, -suffix) against a size. */
function resolveRange(r: { start?: number; end?: number; suffix?: number }, size: number): ByteRange {
  let start: number;
  let end: number;
  if (r.suffix !== undefined) {
    start = Math.max(0, size - r.suffix);
    end = size - 1;
  } else {
    start = r.start ?? 0;
    end = Math.min(r.end ?? size - 1, size - 1);
  }
  if (size === 0 || start > end || start >= size) {
    throw new RangeNotSatisfiable(size);
  }
  return { start, end };
}

/** A RangeNotSatisfiableError that carries the object size for Content-Range. */
export class RangeNotSatisfiable extends RangeNotSatisfiableError {
  constructor(readonly objectSize: number) {
    super();
  }
}
