import { NotFoundError, S3RequestError, isCofferError } from '../domain/errors.js';
import type { ArtifactVersion, Project } from '../domain/types.js';
import type { Permit } from '../service/gate.js';
import type { S3DeleteMarker } from '../store/s3-store.js';
import { prodVersionHiddenBy } from '../service/prod-guard.js';
import { names, notFoundMessage } from '../service/resources.js';
import { markerVersionId } from './object-source.js';
import { bucketProject } from './object-write.js';
import { objectTarget } from './object-target.js';
import { readCheckedBody } from './request-body.js';
import { toS3Error } from './s3-errors.js';
import type { S3HttpResponse } from './s3-http.js';
import { artifactNameOf, assertObjectKey } from './s3-names.js';
import { details, param, type S3Op } from './s3-op.js';
import { child, children, parseXml, xmlDocument, type XmlNode } from './xml.js';

/** What deleting one key did. */
interface DeleteOutcome {
  /** The delete marker's version id, when one was placed or removed. */
  markerId: string | null;
  /** The real version hidden by name (DeleteObject with its versionId), when one was. */
  versionId?: string;
}

/** What a DeleteObject asks for, given its versionId and the key's state. */
type DeleteIntent = { kind: 'marker' } | { kind: 'remove-marker'; id: string } | { kind: 'purge'; version: ArtifactVersion };

async function intentOf(op: S3Op, artifactId: string, versionId: string | undefined, marker: S3DeleteMarker | null): Promise<DeleteIntent | null> {
  if (versionId === undefined || versionId === 'null') return { kind: 'marker' };
  if (marker !== null && versionId === markerVersionId(marker.hidesThrough)) return { kind: 'remove-marker', id: versionId };
  if (!/^[1-9]\d{0,9}$/.test(versionId)) return null;
  const version = await op.ctx.deps.store.getVersionByNumber(artifactId, Number(versionId));
  if (version === null || (await op.ctx.store.purgedVersionNumbers(artifactId)).has(version.number)) return null;
  return { kind: 'purge', version };
}

/**
 * Deletes one key, or one version of it, in the S3 view. Coffer versions are immutable and
 * never destroyed through S3 (their bytes, catalog entry and audit trail stay):
 * - no versionId: a delete marker hides the key's versions up to the current one (`delete`
 *   on the artifact); a later PUT shows the key again;
 * - the delete marker's own version id: the marker is removed (undelete), as in S3;
 * - a real version's id (what `rclone purge` and `aws s3api delete-object --version-id`
 *   send): the version is purged from the S3 view (`delete` on that version): S3 reads,
 *   listings and ListObjectVersions skip it from then on and the previous version becomes
 *   current, as in S3; it stays readable through REST by whom policy lets.
 * Prod only through promotion: a marker hiding a prod version, or the purge of one, is a
 * prod change (service/prod-guard.ts). A missing or invisible key, or a version id that
 * names nothing (or a version already purged), succeeds without effect, as S3 answers.
 */
async function deleteOne(op: S3Op, project: Project, key: string, versionId: string | undefined): Promise<DeleteOutcome> {
  // `key` is a canonical artifact name (artifactNameOf)
  assertObjectKey(key);
  const { deps, store } = op.ctx;
  const resourceName = names.artifact(project.name, key);
  const notFound = notFoundMessage.artifact(project.name, key);
  try {
    const artifact = await deps.store.getArtifactByName(project.id, key);
    if (artifact === null) return await op.gate.refuse(op.caller, op.caller.meta, 'delete', resourceName, new NotFoundError(notFound));
    const latest = await store.latestUnpurgedNumber(artifact.id);
    if (latest < 1) return await op.gate.refuse(op.caller, op.caller.meta, 'delete', resourceName, new NotFoundError(notFound));
    const current = await store.getDeleteMarker(artifact.id);
    const intent = await intentOf(op, artifact.id, versionId, current);
    if (intent === null) return await op.gate.refuse(op.caller, op.caller.meta, 'delete', resourceName, new NotFoundError(notFound));
    let permit: Permit;
    if (intent.kind === 'purge') {
      const version = intent.version;
      const inProd = await prodVersionHiddenBy(deps, project, artifact, version.number);
      // INVARIANT: purging a version that reached prod is a prod change, refused unless promotion is bypassed by policy
      const effect = inProd !== null && inProd.version.id === version.id ? { hides: inProd } : undefined;
      permit = await op.gate.enter(op.caller, 'delete', { kind: 'version', project, artifact, version }, names.version(project.name, key, version.number), { notFound }, details(op, { key, versionId }), effect);
    } else {
      // a marker over a version that reached prod hides prod: a prod change (service/prod-guard.ts)
      const hides = intent.kind === 'remove-marker' ? null : await prodVersionHiddenBy(deps, project, artifact, latest);
      permit = await op.gate.enter(op.caller, 'delete', { kind: 'artifact', project, artifact }, resourceName, { notFound }, details(op, { key, versionId }), hides === null ? undefined : { hides });
    }
    try {
      switch (intent.kind) {
        case 'remove-marker':
          await store.removeDeleteMarker(artifact.id);
          await permit.finish('success', { details: details(op, { key, removedMarker: intent.id }) });
          return { markerId: intent.id };
        case 'purge':
          await store.purgeVersion({ versionId: intent.version.id, artifactId: artifact.id, number: intent.version.number, purgedBy: op.caller.subject.principal.id, purgedAt: deps.clock() });
          await permit.finish('success', { details: details(op, { key, purgedVersion: intent.version.number }) });
          return { markerId: null, versionId: String(intent.version.number) };
        case 'marker':
          await store.putDeleteMarker({ artifactId: artifact.id, hidesThrough: latest, createdBy: op.caller.subject.principal.id, createdAt: deps.clock() });
          await permit.finish('success', { details: details(op, { key, hidesThrough: latest }) });
          return { markerId: markerVersionId(latest) };
      }
    } catch (err) {
      await permit.finish('failure', { reason: isCofferError(err) ? err.code : 'error' });
      throw err;
    }
  } catch (err) {
    // deleting what is not there (or not visible) succeeds in S3 and changes nothing
    if (err instanceof NotFoundError) return { markerId: null };
    throw err;
  }
}

/** True if the caller may see the bucket's project, or one of `keys` in it. */
async function bucketVisible(op: S3Op, project: Project, keys: readonly string[]): Promise<boolean> {
  if (op.gate.decide(op.caller, 'read-metadata', { kind: 'project', project }).allowed) return true;
  for (const key of new Set(keys)) {
    const artifact = await op.ctx.deps.store.getArtifactByName(project.id, key);
    if (artifact !== null && op.gate.decide(op.caller, 'read-metadata', { kind: 'artifact', project, artifact }).allowed) return true;
  }
  return false;
}

/** DeleteObject. */
export async function deleteObject(op: S3Op): Promise<S3HttpResponse> {
  const { project } = await objectTarget(op, 'delete');
  const outcome = await deleteOne(op, project, op.key!, param(op, 'versionId'));
  return {
    status: 204,
    headers: outcome.markerId !== null ? { 'x-amz-delete-marker': 'true', 'x-amz-version-id': outcome.markerId } : outcome.versionId !== undefined ? { 'x-amz-version-id': outcome.versionId } : {},
  };
}

/** DeleteObjects (`POST ?delete`): up to 1000 keys, each as DeleteObject; per-key errors in the answer. */
export async function deleteObjects(op: S3Op): Promise<S3HttpResponse> {
  // the request is checked before the bucket is looked up: a hidden bucket and a missing one answer alike
  const doc = parseXml(await readCheckedBody(op, 2 * 1024 * 1024));
  if (doc.name !== 'Delete') throw new S3RequestError('the XML you provided was not well-formed or did not validate against our published schema', { s3Code: 'MalformedXML' });
  const quiet = child(doc, 'Quiet')?.text.trim() === 'true';
  const objects = children(doc, 'Object').map((o) => ({ key: child(o, 'Key')?.text ?? '', versionId: child(o, 'VersionId')?.text }));
  if (objects.length === 0 || objects.length > 1000 || objects.some((o) => o.key === '')) {
    throw new S3RequestError('the XML you provided was not well-formed or did not validate against our published schema', { s3Code: 'MalformedXML' });
  }
  const project = await bucketProject(op, 'delete', names.project(op.bucket));
  if (!(await bucketVisible(op, project, objects.map((o) => o.key)))) {
    op.notFound = 'NoSuchBucket';
    return op.gate.refuse(op.caller, op.caller.meta, 'delete', names.project(op.bucket), new NotFoundError(notFoundMessage.project(op.bucket)));
  }
  const deleted: XmlNode[] = [];
  const errors: XmlNode[] = [];
  for (const o of objects) {
    try {
      const outcome = await deleteOne(op, project, artifactNameOf(o.key), o.versionId);
      if (!quiet) {
        deleted.push({
          Key: o.key,
          ...(o.versionId !== undefined ? { VersionId: o.versionId } : {}),
          ...(outcome.markerId !== null ? { DeleteMarker: true, DeleteMarkerVersionId: outcome.markerId } : {}),
        });
      }
    } catch (err) {
      const info = toS3Error(err, 'NoSuchKey');
      if (info.status >= 500 && info.code !== 'ServiceUnavailable') throw err;
      errors.push({ Key: o.key, ...(o.versionId !== undefined ? { VersionId: o.versionId } : {}), Code: info.code, Message: info.message });
    }
  }
  return { status: 200, headers: { 'content-type': 'application/xml' }, body: xmlDocument('DeleteResult', { Deleted: deleted, Error: errors }) };
}
