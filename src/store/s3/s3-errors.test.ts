import assert from 'node:assert/strict';
import { test } from 'node:test';
import { NoSuchKey, S3ServiceException } from '@aws-sdk/client-s3';
import { AlreadyExistsError, NotFoundError, RangeNotSatisfiableError, StorageError, StorageFullError, ValidationError } from '../../domain/errors.js';
import { mapS3Error, s3Failure } from './s3-errors.js';

function serviceError(name: string, status: number, message = 'server says no'): S3ServiceException {
  return new S3ServiceException({ name, $fault: status >= 500 ? 'server' : 'client', $metadata: { httpStatusCode: status, requestId: 'tx0001' }, message });
}

void test('S3 failures map to the catalog by code and status', () => {
  assert.ok(mapS3Error(new NoSuchKey({ $metadata: { httpStatusCode: 404 }, message: 'gone' }), 'get', 'a/b') instanceof NotFoundError);
  assert.ok(mapS3Error(serviceError('NotFound', 404), 'get', 'a/b') instanceof NotFoundError);
  assert.ok(mapS3Error(serviceError('PreconditionFailed', 412), 'put', 'a/b') instanceof AlreadyExistsError);
  assert.ok(mapS3Error(serviceError('InvalidRange', 416), 'get', 'a/b') instanceof RangeNotSatisfiableError);
  assert.ok(mapS3Error(serviceError('QuotaExceeded', 403), 'put', 'a/b') instanceof StorageFullError);
  assert.ok(mapS3Error(serviceError('InsufficientStorage', 507), 'put') instanceof StorageFullError);
  assert.ok(mapS3Error(serviceError('Whatever', 507), 'put') instanceof StorageFullError);
  // a missing bucket is a broken store, not a missing object
  const bucket = mapS3Error(serviceError('NoSuchBucket', 404), 'get', 'a/b');
  assert.ok(bucket instanceof StorageError && !(bucket instanceof NotFoundError));
  assert.ok(mapS3Error(serviceError('InternalError', 500), 'get', 'a/b') instanceof StorageError);
  assert.ok(mapS3Error(serviceError('SlowDown', 503), 'put', 'a/b') instanceof StorageError);
  // a network failure (no service answer at all)
  const refused = mapS3Error(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }), 'put');
  assert.ok(refused instanceof StorageError);
  assert.match(refused.detail ?? '', /ECONNREFUSED/);
  // catalog errors pass through
  const own = new ValidationError('x');
  assert.equal(mapS3Error(own, 'put'), own);
});

void test('an S3 failure keeps only its code, status and request id: never the message, nor the cause', () => {
  const secret = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
  const err = serviceError('SignatureDoesNotMatch', 403, `The request signature we calculated does not match: AKIDEXAMPLE ${secret}`);
  const mapped = mapS3Error(err, 'put', 'a/b');
  assert.equal(mapped.message, 'storage failure');
  assert.equal(mapped.detail, 'blob store (s3): put: SignatureDoesNotMatch (HTTP 403) request tx0001');
  assert.equal(mapped.cause, undefined);
  assert.ok(!JSON.stringify({ ...mapped, stack: mapped.stack }).includes(secret));
  // codes and request ids are only taken when they look like codes and ids
  assert.deepEqual(s3Failure({ name: `evil ${secret}`, $metadata: { httpStatusCode: 400, requestId: `id ${secret}` } }), { code: 'Unknown', status: 400, requestId: undefined });
});
