import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { randomBytes } from 'node:crypto';
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { isPreconditionFailed, mapS3Error } from './s3-errors.js';
import { S3BlobStore } from './s3-blob-store.js';
import type { ConditionalCreate } from './s3-upload.js';

/** How to reach the bucket (config keys `blobS3*`). */
export interface S3BlobStoreSettings {
  /** `https://s3.example.com`; null = AWS S3 in `region`. */
  endpoint: string | null;
  region: string;
  bucket: string;
  /** Key prefix inside the bucket: empty or ending in `/`. */
  prefix: string;
  /** Path-style URLs (`endpoint/bucket/key`), as most S3-compatible servers need. */
  forcePathStyle: boolean;
  /** Static credentials; null = the AWS SDK's default chain (environment, profile, web identity, instance role). */
  credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string } | null;
  /** `auto` probes the server at start; `all`, `put` and `none` say what it honours without asking. */
  conditionalCreate: 'auto' | 'all' | 'put' | 'none';
  partSize: number;
  concurrency: number;
}

/**
 * An S3 client for the blob store. Checksums only where S3 requires them: the flexible
 * checksums of newer SDKs (aws-chunked trailers) are refused by several S3-compatible
 * servers, and every byte is authenticated by vault anyway.
 */
export function createS3Client(settings: Pick<S3BlobStoreSettings, 'endpoint' | 'region' | 'forcePathStyle' | 'credentials' | 'concurrency'>): S3Client {
  const sockets = Math.max(16, settings.concurrency * 8);
  return new S3Client({
    region: settings.region,
    ...(settings.endpoint === null ? {} : { endpoint: settings.endpoint }),
    forcePathStyle: settings.forcePathStyle,
    // a copy: the SDK annotates the credentials object it is given, and config is frozen
    ...(settings.credentials === null ? {} : { credentials: { ...settings.credentials } }),
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    maxAttempts: 3,
    requestHandler: new NodeHttpHandler({
      connectionTimeout: 10_000,
      // idle socket time, not the request's: a large part or body may take longer in all
      requestTimeout: 120_000,
      httpAgent: new HttpAgent({ keepAlive: true, maxSockets: sockets }),
      httpsAgent: new HttpsAgent({ keepAlive: true, maxSockets: sockets }),
    }),
  });
}

/**
 * Opens the S3 blob store: builds the client and, with `conditionalCreate: 'auto'`, asks
 * the server which creates it makes conditional. Rejects with StorageError when the
 * bucket cannot be reached with these credentials, so a misconfigured node never starts.
 */
export async function openS3BlobStore(settings: S3BlobStoreSettings): Promise<S3BlobStore> {
  const client = createS3Client(settings);
  try {
    const conditional =
      settings.conditionalCreate === 'auto'
        ? await probeConditionalCreate(client, settings.bucket, settings.prefix)
        : { put: settings.conditionalCreate !== 'none', complete: settings.conditionalCreate === 'all' };
    const store = new S3BlobStore({ client, bucket: settings.bucket, prefix: settings.prefix, partSize: settings.partSize, concurrency: settings.concurrency, conditional });
    await store.ping();
    return store;
  } catch (err) {
    client.destroy();
    throw err;
  }
}

/**
 * Finds out whether the server refuses a second create of one key under
 * `If-None-Match: *`, for PutObject and for CompleteMultipartUpload, by trying both twice
 * on a probe key (`<prefix>.coffer-probe/<random>`, never a valid blob key, deleted after).
 * Ceph RGW Pacific answers { put: true, complete: false }; AWS S3 { put: true, complete: true }.
 */
export async function probeConditionalCreate(client: S3Client, bucket: string, prefix: string): Promise<ConditionalCreate> {
  const key = `${prefix}.coffer-probe/${randomBytes(12).toString('hex')}`;
  const refusedSecond = async (create: () => Promise<unknown>): Promise<boolean> => {
    try {
      await create();
      await create();
      return false;
    } catch (err) {
      if (isPreconditionFailed(err)) return true;
      // a server that rejects the header itself (501, 400) simply does not offer it
      const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
      if (status === 501 || status === 400) return false;
      throw mapS3Error(err, 'probe conditional create');
    } finally {
      await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key })).catch(() => undefined);
    }
  };
  const put = await refusedSecond(() => client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: Buffer.from('probe'), IfNoneMatch: '*' })));
  const complete = await refusedSecond(async () => {
    const { UploadId } = await client.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key }));
    try {
      const part = await client.send(new UploadPartCommand({ Bucket: bucket, Key: key, UploadId, PartNumber: 1, Body: Buffer.from('probe') }));
      await client.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId, IfNoneMatch: '*', MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag }] } }));
    } catch (err) {
      await client.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId })).catch(() => undefined);
      throw err;
    }
  });
  return { put, complete };
}
