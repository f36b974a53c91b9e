/**
 * The S3 blob store adapter (AWS S3, Ceph RGW and other S3-compatible servers). A separate
 * entry point from store/index.ts: it loads the AWS SDK, which only S3 nodes need.
 */
export { S3BlobStore, type S3BlobStoreOptions, type IncompleteUpload } from './s3-blob-store.js';
export { openS3BlobStore, createS3Client, probeConditionalCreate, type S3BlobStoreSettings } from './open-s3-blob-store.js';
export type { ConditionalCreate } from './s3-upload.js';
