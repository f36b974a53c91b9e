/**
 * The S3-compatible endpoint's protocol and use cases: SigV4 (header, presigned,
 * aws-chunked chunk and trailer signatures) and SigV2 verification, checksums,
 * XML, and the S3 operations mapped onto Coffer's catalog through the Gate
 * (authorize -> audit -> act). Bucket = project, key = artifact name, PUT = new version.
 * Framework-free: src/server/s3-app.ts adapts it to HTTP.
 */
export { S3Service } from './s3-service.js';
export { S3_OPERATIONS, operationOf, type S3Operation } from './s3-operations.js';
export type { S3Context } from './s3-context.js';
export type { S3HttpRequest, S3HttpResponse } from './s3-http.js';
export { MAX_CREDENTIAL_TTL_SECONDS, MIN_CREDENTIAL_TTL_SECONDS, SESSION_TOKEN_PREFIX, type IssuedS3Credentials, type S3CredentialView } from './credentials.js';
