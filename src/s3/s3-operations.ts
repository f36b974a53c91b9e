import { createBucket, deleteBucket, getBucketLocation, getBucketVersioning, headBucket, listBuckets } from './buckets.js';
import { deleteObject, deleteObjects } from './object-delete.js';
import { getObject, getObjectAttributes, getObjectTagging } from './object-read.js';
import { copyObject, putObject } from './object-write.js';
import { listObjectVersions, listObjects } from './listing.js';
import { abortMultipartUpload, completeMultipartUpload, createMultipartUpload, listMultipartUploads, listParts, uploadPart, uploadPartCopy } from './multipart.js';
import type { S3HttpResponse } from './s3-http.js';
import type { S3Op } from './s3-op.js';

/**
 * One S3 operation the endpoint implements: the method, what it addresses (the
 * service, a bucket or an object), the query subresources it needs, whether it copies
 * (`x-amz-copy-source`), and its use case. The table is data so that the security
 * suites enumerate every operation (a new one is covered without editing them).
 */
export interface S3Operation {
  name: string;
  method: 'GET' | 'HEAD' | 'PUT' | 'POST' | 'DELETE';
  on: 'service' | 'bucket' | 'object';
  /** Query parameters that must all be present (`uploads`, `uploadId`, `list-type=2`...). */
  subresources: readonly string[];
  /** True: needs `x-amz-copy-source`; false: must not have it; absent: either. */
  copy?: boolean;
  handler: (op: S3Op) => Promise<S3HttpResponse>;
}

/**
 * Every operation, most specific first: the first whose method, target, subresources
 * and copy header match serves the request.
 */
export const S3_OPERATIONS: readonly S3Operation[] = [
  { name: 'ListBuckets', method: 'GET', on: 'service', subresources: [], handler: listBuckets },
  { name: 'GetBucketLocation', method: 'GET', on: 'bucket', subresources: ['location'], handler: getBucketLocation },
  { name: 'GetBucketVersioning', method: 'GET', on: 'bucket', subresources: ['versioning'], handler: getBucketVersioning },
  { name: 'ListMultipartUploads', method: 'GET', on: 'bucket', subresources: ['uploads'], handler: listMultipartUploads },
  { name: 'ListObjectVersions', method: 'GET', on: 'bucket', subresources: ['versions'], handler: listObjectVersions },
  { name: 'ListObjectsV2', method: 'GET', on: 'bucket', subresources: ['list-type=2'], handler: (op) => listObjects(op, true) },
  { name: 'ListObjects', method: 'GET', on: 'bucket', subresources: [], handler: (op) => listObjects(op, false) },
  { name: 'HeadBucket', method: 'HEAD', on: 'bucket', subresources: [], handler: headBucket },
  { name: 'CreateBucket', method: 'PUT', on: 'bucket', subresources: [], handler: createBucket },
  { name: 'DeleteBucket', method: 'DELETE', on: 'bucket', subresources: [], handler: deleteBucket },
  { name: 'DeleteObjects', method: 'POST', on: 'bucket', subresources: ['delete'], handler: deleteObjects },
  { name: 'ListParts', method: 'GET', on: 'object', subresources: ['uploadId'], handler: listParts },
  { name: 'GetObjectAttributes', method: 'GET', on: 'object', subresources: ['attributes'], handler: getObjectAttributes },
  { name: 'GetObjectTagging', method: 'GET', on: 'object', subresources: ['tagging'], handler: getObjectTagging },
  { name: 'GetObject', method: 'GET', on: 'object', subresources: [], handler: (op) => getObject(op, false) },
  { name: 'HeadObject', method: 'HEAD', on: 'object', subresources: [], handler: (op) => getObject(op, true) },
  { name: 'UploadPartCopy', method: 'PUT', on: 'object', subresources: ['partNumber', 'uploadId'], copy: true, handler: uploadPartCopy },
  { name: 'UploadPart', method: 'PUT', on: 'object', subresources: ['partNumber', 'uploadId'], copy: false, handler: uploadPart },
  { name: 'CopyObject', method: 'PUT', on: 'object', subresources: [], copy: true, handler: copyObject },
  { name: 'PutObject', method: 'PUT', on: 'object', subresources: [], copy: false, handler: putObject },
  { name: 'AbortMultipartUpload', method: 'DELETE', on: 'object', subresources: ['uploadId'], handler: abortMultipartUpload },
  { name: 'DeleteObject', method: 'DELETE', on: 'object', subresources: [], handler: deleteObject },
  { name: 'CreateMultipartUpload', method: 'POST', on: 'object', subresources: ['uploads'], handler: createMultipartUpload },
  { name: 'CompleteMultipartUpload', method: 'POST', on: 'object', subresources: ['uploadId'], handler: completeMultipartUpload },
];

/** Subresources Coffer does not implement: answered NotImplemented rather than mistaken for another operation. */
const UNSUPPORTED = [
  'acl', 'policy', 'policyStatus', 'cors', 'lifecycle', 'encryption', 'object-lock', 'website', 'logging', 'notification', 'replication',
  'accelerate', 'requestPayment', 'ownershipControls', 'publicAccessBlock', 'intelligent-tiering', 'inventory', 'analytics', 'metrics',
  'retention', 'legal-hold', 'restore', 'select', 'torrent', 'session', 'metadataTable', 'renameObject',
];

/** Subresources only some operations of a method implement (tagging is read-only; versioning cannot be changed). */
const READ_ONLY = ['tagging', 'versioning'];

/**
 * The operation a request is, by method, target and subresources (other query
 * parameters are ignored); null when Coffer does not implement it.
 */
export function operationOf(method: string, on: S3Operation['on'], query: readonly string[], copy: boolean): S3Operation | null {
  const has = (sub: string) => query.includes(sub) || (!sub.includes('=') && query.some((q) => q === sub || q.startsWith(`${sub}=`)));
  if (on !== 'service' && UNSUPPORTED.some(has)) return null;
  // a write to a read-only subresource is not the plain write it would otherwise match
  if (method !== 'GET' && method !== 'HEAD' && READ_ONLY.some(has)) return null;
  if (on === 'bucket' && method === 'GET' && has('tagging')) return null;
  return S3_OPERATIONS.find((o) => o.method === method && o.on === on && o.subresources.every(has) && (o.copy === undefined || o.copy === copy)) ?? null;
}
