import { NotFoundError, S3RequestError, VersionImmutableError, isCofferError } from '../domain/errors.js';
import type { Project } from '../domain/types.js';
import { prodVersionHiddenBy } from '../service/prod-guard.js';
import { names, notFoundMessage } from '../service/resources.js';
import { markerVersionId } from './object-source.js';
import { bucketProject } from './object-write.js';
import { objectTarget } from './object-target.js';
import { readCheckedBody } from './request-body.js';
import { toS3Error } from './s3-errors.js';
import type { S3HttpResponse } from './s3-http.js';
import { assertObjectKey } from './s3-names.js';
import { details, param, type S3Op } from './s3-op.js';
import { child, children, parseXml, xmlDocument, type XmlNode } from './xml.js';

/** What deleting one key did. */
interface DeleteOutcome {
  /** The delete marker's version id, when one was placed or removed. */
  markerId: string | null;
}

/**
 * Deletes one key in the S3 view: Coffer versions are immutable, so the key gets a
 * delete marker that hides its versions up to the latest (`delete` on the artifact);
 * they stay in Coffer (REST, ListObjectVersions) and a later PUT shows the key again.
 * Deleting the marker's own version id removes the marker (undelete). A missing or
 * invisible key succeeds without effect, as S3 answers for missing keys.
 */
async function deleteOne(op: S3Op, project: Project, key: string, versionId: string | undefined): Promise<DeleteOutcome> {
  assertObjectKey(key);
  const { deps, store } = op.ctx;
  const resourceName = names.artifact(project.name, key);
  const notFound = notFoundMessage.artifact(project.name, key);
  try {
    const artifact = await deps.store.getArtifactByName(project.id, key);
    if (artifact === null) return await op.gate.refuse(op.caller, op.caller.meta, 'delete', resourceName, new NotFoundError(notFound));
    const latest = await deps.store.latestVersionNumber(artifact.id);
    if (latest < 1) return await op.gate.refuse(op.caller, op.caller.meta, 'delete', resourceName, new NotFoundError(notFound));
    const removesMarker = versionId !== undefined && versionId !== 'null';
    // a marker over a version that reached prod hides prod: a prod change (service/prod-guard.ts)
    const hides = removesMarker ? null : await prodVersionHiddenBy(deps, project, artifact, latest);
    const permit = await op.gate.enter(op.caller, 'delete', { kind: 'artifact', project, artifact }, resourceName, { notFound }, details(op, { key, versionId }), hides === null ? undefined : { hides });
    try {
      if (removesMarker) {
        const marker = await store.getDeleteMarker(artifact.id);
        if (marker === null || versionId !== markerVersionId(marker.hidesThrough)) {
          throw new VersionImmutableError('coffer versions are immutable: delete the key (it gets a delete marker) instead of a version');
        }
        await store.removeDeleteMarker(artifact.id);
        await permit.finish('success', { details: details(op, { key, removedMarker: versionId }) });
        return { markerId: versionId };
      }
      await store.putDeleteMarker({ artifactId: artifact.id, hidesThrough: latest, createdBy: op.caller.subject.principal.id, createdAt: deps.clock() });
      await permit.finish('success', { details: details(op, { key, hidesThrough: latest }) });
      return { markerId: markerVersionId(latest) };
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
    headers: outcome.markerId === null ? {} : { 'x-amz-delete-marker': 'true', 'x-amz-version-id': outcome.markerId },
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
      const outcome = await deleteOne(op, project, o.key, o.versionId);
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
