import { AlreadyExistsError, S3RequestError } from '../domain/errors.js';
import type { Project } from '../domain/types.js';
import { createProject } from '../service/catalog.js';
import { names, notFoundMessage } from '../service/resources.js';
import { bucketProject } from './object-write.js';
import type { S3HttpResponse } from './s3-http.js';
import { assertBucketName } from './s3-names.js';
import { details, type S3Op } from './s3-op.js';
import { isoDate } from './s3-format.js';
import { S3_NS, escapeXml, readSmallBody, xmlDocument } from './xml.js';

const SYSTEM = { kind: 'system' } as const;
const XML = { 'content-type': 'application/xml' };

/** ListBuckets: the projects the caller may see. */
export async function listBuckets(op: S3Op): Promise<S3HttpResponse> {
  const permit = await op.gate.enter(op.caller, 'read-metadata', SYSTEM, 'projects', null, details(op));
  const visible: Project[] = [];
  let cursor: string | null = null;
  do {
    const page = await op.ctx.deps.store.listProjects({ limit: 1000, cursor });
    visible.push(...page.items.filter((project) => op.gate.decide(op.caller, 'read-metadata', { kind: 'project', project }).allowed));
    cursor = page.next;
  } while (cursor !== null);
  await permit.finish('success', { details: details(op, { returned: visible.length }) });
  const me = op.caller.subject.principal;
  return {
    status: 200,
    headers: XML,
    body: xmlDocument('ListAllMyBucketsResult', {
      Owner: { ID: me.id, DisplayName: me.name },
      Buckets: { Bucket: visible.map((p) => ({ Name: p.name, CreationDate: isoDate(p.createdAt), BucketRegion: op.ctx.region })) },
    }),
  };
}

/**
 * CreateBucket: a project (`create-project`; its creator becomes its owner). A body
 * (location) is read and ignored. On a name that is taken:
 * - a caller who may see the project gets BucketAlreadyOwnedByYou (409), as S3 answers
 *   outside us-east-1 (rclone takes it as success; boto3 raises its own exception class);
 * - a caller who may create projects but not see this one gets BucketAlreadyExists: bucket
 *   names are one namespace and S3 says the same of another account's bucket;
 * - a caller who may not create projects gets AccessDenied whether or not the name is
 *   taken, so the operation is no existence oracle for callers who could not create anyway.
 */
export async function createBucket(op: S3Op): Promise<S3HttpResponse> {
  op.http.proceed?.();
  // the (ignored) location body is read only when the request declares one: a bodiless PUT
  // has nothing to wait for
  const declared = op.http.headers['content-length'];
  if ((declared !== undefined && declared !== '0') || op.http.headers['transfer-encoding'] !== undefined) await readSmallBody(op.http.body, 64 * 1024);
  const existing = await op.ctx.deps.store.getProjectByName(op.bucket);
  if (existing !== null && op.gate.decide(op.caller, 'read-metadata', { kind: 'project', project: existing }).allowed) {
    return op.gate.refuse(op.caller, op.caller.meta, 'create-project', names.project(op.bucket), new S3RequestError('your previous request to create the named bucket succeeded and you already own it', { s3Code: 'BucketAlreadyOwnedByYou' }));
  }
  // INVARIANT: the name's existence is told only to a caller who may create projects
  if (existing !== null && op.gate.decide(op.caller, 'create-project', SYSTEM).allowed) {
    return op.gate.refuse(op.caller, op.caller.meta, 'create-project', names.project(op.bucket), new S3RequestError('the requested bucket name is not available: the bucket namespace is shared by all users', { s3Code: 'BucketAlreadyExists' }));
  }
  // a taken name for a caller who may not create projects: the gate denies as for a free one
  if (existing === null) assertBucketName(op.bucket);
  try {
    await createProject(op.ctx.deps, op.gate, op.caller, { name: op.bucket, description: 'created through the S3 endpoint' });
  } catch (err) {
    // created by someone else between the check and the insert
    if (err instanceof AlreadyExistsError) throw new S3RequestError('the requested bucket name is not available: the bucket namespace is shared by all users', { s3Code: 'BucketAlreadyExists' });
    throw err;
  }
  return { status: 200, headers: { location: `/${op.bucket}` } };
}

/** HeadBucket: read-metadata on the project; answers the region. */
export async function headBucket(op: S3Op): Promise<S3HttpResponse> {
  const project = await bucketProject(op, 'read-metadata', names.project(op.bucket));
  op.notFound = 'NoSuchBucket';
  const permit = await op.gate.enter(op.caller, 'read-metadata', { kind: 'project', project }, names.project(project.name), { notFound: notFoundMessage.project(project.name) }, details(op));
  await permit.finish('success', { details: details(op) });
  return { status: 200, headers: { 'x-amz-bucket-region': op.ctx.region } };
}

/** GetBucketLocation: read-metadata on the project. */
export async function getBucketLocation(op: S3Op): Promise<S3HttpResponse> {
  const project = await bucketProject(op, 'read-metadata', names.project(op.bucket));
  op.notFound = 'NoSuchBucket';
  const permit = await op.gate.enter(op.caller, 'read-metadata', { kind: 'project', project }, names.project(project.name), { notFound: notFoundMessage.project(project.name) }, details(op));
  await permit.finish('success', { details: details(op) });
  // us-east-1 is reported as an empty constraint, as AWS does
  const constraint = op.ctx.region === 'us-east-1' ? '' : escapeXml(op.ctx.region);
  return { status: 200, headers: XML, body: `<?xml version="1.0" encoding="UTF-8"?>\n<LocationConstraint xmlns="${S3_NS}">${constraint}</LocationConstraint>` };
}

/** GetBucketVersioning: Coffer keeps every version, so versioning is always Enabled. */
export async function getBucketVersioning(op: S3Op): Promise<S3HttpResponse> {
  const project = await bucketProject(op, 'read-metadata', names.project(op.bucket));
  op.notFound = 'NoSuchBucket';
  const permit = await op.gate.enter(op.caller, 'read-metadata', { kind: 'project', project }, names.project(project.name), { notFound: notFoundMessage.project(project.name) }, details(op));
  await permit.finish('success', { details: details(op) });
  return { status: 200, headers: XML, body: xmlDocument('VersioningConfiguration', { Status: 'Enabled' }) };
}

/**
 * DeleteBucket: `delete` on the project; only a project without any artifact (not even
 * hidden or deleted ones: versions are immutable) or upload can go (BucketNotEmpty).
 */
export async function deleteBucket(op: S3Op): Promise<S3HttpResponse> {
  const project = await bucketProject(op, 'delete', names.project(op.bucket));
  op.notFound = 'NoSuchBucket';
  const permit = await op.gate.enter(op.caller, 'delete', { kind: 'project', project }, names.project(project.name), { notFound: notFoundMessage.project(project.name) }, details(op));
  let deleted: boolean;
  try {
    deleted = await op.ctx.store.deleteProjectIfEmpty(project.id);
  } catch (err) {
    await permit.finish('failure', { reason: (err as { code?: string }).code ?? 'error' });
    throw err;
  }
  if (!deleted) {
    await permit.finish('failure', { reason: 'BucketNotEmpty', details: details(op) });
    throw new S3RequestError('the bucket you tried to delete is not empty: coffer keeps every version', { s3Code: 'BucketNotEmpty' });
  }
  await permit.finish('success', { details: details(op) });
  return { status: 204, headers: {} };
}
