import { randomBytes } from 'node:crypto';
import { isCofferError, S3RequestError } from '../domain/errors.js';
import type { S3HttpResponse } from './s3-http.js';
import { xmlDocument } from './xml.js';

/** HTTP status of every S3 error code the endpoint answers. */
const S3_STATUS: Record<string, number> = {
  AccessDenied: 403,
  AccessControlListNotSupported: 400,
  AuthorizationHeaderMalformed: 400,
  AuthorizationQueryParametersError: 400,
  BadDigest: 400,
  BucketAlreadyExists: 409,
  BucketAlreadyOwnedByYou: 409,
  BucketNotEmpty: 409,
  EntityTooLarge: 400,
  EntityTooSmall: 400,
  ExpiredToken: 400,
  IncompleteBody: 400,
  InternalError: 500,
  InvalidAccessKeyId: 403,
  InvalidArgument: 400,
  InvalidBucketName: 400,
  InvalidChunkSizeError: 400,
  InvalidDigest: 400,
  InvalidPart: 400,
  InvalidPartNumber: 416,
  InvalidPartOrder: 400,
  InvalidRange: 416,
  InvalidRequest: 400,
  InvalidToken: 400,
  InvalidURI: 400,
  KeyTooLongError: 400,
  MalformedTrailerError: 400,
  MalformedXML: 400,
  MetadataTooLarge: 400,
  MethodNotAllowed: 405,
  MissingContentLength: 411,
  NoSuchBucket: 404,
  NoSuchKey: 404,
  NoSuchUpload: 404,
  NoSuchVersion: 404,
  NotImplemented: 501,
  OperationAborted: 409,
  PreconditionFailed: 412,
  RequestTimeout: 400,
  RequestTimeTooSkewed: 403,
  ServiceUnavailable: 503,
  SignatureDoesNotMatch: 403,
  SlowDown: 503,
  XAmzContentSHA256Mismatch: 400,
};

/** The S3 code for each Coffer catalog code (the rest is InternalError). */
const FROM_COFFER: Record<string, string> = {
  COFFER_S3_SIGNATURE_MISMATCH: 'SignatureDoesNotMatch',
  COFFER_S3_REQUEST_TIME_SKEWED: 'RequestTimeTooSkewed',
  COFFER_S3_REQUEST_EXPIRED: 'AccessDenied',
  COFFER_AUTH_REQUIRED: 'AccessDenied',
  COFFER_AUTH_TOKEN_INVALID: 'InvalidAccessKeyId',
  COFFER_AUTH_TOKEN_EXPIRED: 'ExpiredToken',
  COFFER_AUTH_TOKEN_REVOKED: 'InvalidAccessKeyId',
  COFFER_AUTH_PRINCIPAL_DISABLED: 'AccessDenied',
  // S3 has no step-up: the credential's lineage lacks a fresh security-key assertion
  COFFER_AUTH_STEP_UP_REQUIRED: 'AccessDenied',
  COFFER_FORBIDDEN: 'AccessDenied',
  COFFER_POLICY_EVALUATION_FAILED: 'AccessDenied',
  COFFER_PROMOTION_REQUIRED: 'AccessDenied',
  COFFER_INVALID_NAME: 'InvalidArgument',
  COFFER_VALIDATION_FAILED: 'InvalidArgument',
  COFFER_CONTENT_LENGTH_MISMATCH: 'IncompleteBody',
  COFFER_DIGEST_MISMATCH: 'XAmzContentSHA256Mismatch',
  COFFER_UPLOAD_ABORTED: 'IncompleteBody',
  COFFER_UPLOAD_TIMEOUT: 'RequestTimeout',
  COFFER_ACCOUNT_LOCKED: 'AccessDenied',
  COFFER_REQUEST_ABORTED: 'IncompleteBody',
  COFFER_PAYLOAD_TOO_LARGE: 'EntityTooLarge',
  COFFER_RANGE_NOT_SATISFIABLE: 'InvalidRange',
  COFFER_ALREADY_EXISTS: 'OperationAborted',
  COFFER_CONFLICT: 'OperationAborted',
  COFFER_VERSION_IMMUTABLE: 'MethodNotAllowed',
  COFFER_AUDIT_UNAVAILABLE: 'ServiceUnavailable',
  COFFER_RATE_LIMITED: 'SlowDown',
  COFFER_STORAGE_FULL: 'ServiceUnavailable',
  COFFER_NOT_READY: 'ServiceUnavailable',
};

/** An S3 error answer: code, status, public message. */
export interface S3ErrorInfo {
  code: string;
  status: number;
  message: string;
  /** Extra headers (`x-amz-delete-marker`, `content-range`...). */
  headers: Record<string, string>;
}

/**
 * Translates any error into the S3 answer. `notFoundCode` names what a Coffer
 * NotFoundError means for this operation (NoSuchKey, NoSuchBucket, NoSuchUpload).
 * 5xx answers carry a generic message (the detail goes to the log).
 */
export function toS3Error(err: unknown, notFoundCode: string): S3ErrorInfo {
  let code = 'InternalError';
  let message = 'we encountered an internal error: please try again';
  const headers: Record<string, string> = {};
  if (isCofferError(err)) {
    code = err instanceof S3RequestError ? err.s3Code : err.code === 'COFFER_NOT_FOUND' ? notFoundCode : (FROM_COFFER[err.code] ?? 'InternalError');
    message = err.message;
    const extra = (err as { s3Headers?: Record<string, string> }).s3Headers;
    if (extra !== undefined) Object.assign(headers, extra);
    if (err.code === 'COFFER_STORAGE_FULL') message = 'storage is full';
  }
  const status = S3_STATUS[code] ?? 500;
  if (status >= 500 && code !== 'ServiceUnavailable' && code !== 'SlowDown' && code !== 'NotImplemented') {
    message = 'we encountered an internal error: please try again';
  }
  return { code, status, message, headers };
}

/** The XML error document of S3. */
export function errorResponse(info: S3ErrorInfo, resource: string, requestId: string, method: string): S3HttpResponse {
  const body = xmlDocument('Error', { Code: info.code, Message: info.message, Resource: resource, RequestId: requestId }, { namespace: false });
  return {
    status: info.status,
    headers: { 'content-type': 'application/xml', ...info.headers },
    ...(method === 'HEAD' ? {} : { body }),
  };
}

/** Attaches response headers to an error (e.g. `x-amz-delete-marker` on a NoSuchKey). */
export function withHeaders<E extends Error>(err: E, headers: Record<string, string>): E {
  (err as unknown as { s3Headers: Record<string, string> }).s3Headers = headers;
  return err;
}

/** An S3-style host id for `x-amz-id-2` (random, not secret). */
export function hostId(): string {
  return randomBytes(24).toString('base64');
}
