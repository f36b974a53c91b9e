/** Helpers shared by the S3 integration tests: SDK clients for Coffer credentials, error capture. */
import { Agent } from 'node:http';
import { S3Client } from '@aws-sdk/client-s3';
import type { S3Credentials } from '../../src/client/s3-client.js';

/** An AWS SDK v3 S3 client for Coffer's S3 endpoint (path style, no retries so refusals surface). */
export function sdkClient(s3Url: string, creds: Pick<S3Credentials, 'accessKeyId' | 'secretAccessKey' | 'sessionToken'>, options: { retries?: number; clockOffsetMs?: number } = {}): S3Client {
  return new S3Client({
    endpoint: s3Url,
    region: 'us-east-1',
    forcePathStyle: true,
    maxAttempts: (options.retries ?? 0) + 1,
    requestHandler: { httpAgent: new Agent({ keepAlive: true, maxSockets: 32 }) },
    ...(options.clockOffsetMs !== undefined ? { systemClockOffset: options.clockOffsetMs } : {}),
    credentials: { accessKeyId: creds.accessKeyId, secretAccessKey: creds.secretAccessKey, sessionToken: creds.sessionToken },
  });
}

/** The S3 error of a rejected SDK call: code and HTTP status. */
export async function s3Error(promise: Promise<unknown>): Promise<{ code: string; status: number | undefined }> {
  try {
    await promise;
  } catch (err) {
    const e = err as { name?: string; Code?: string; $metadata?: { httpStatusCode?: number } };
    return { code: e.Code ?? e.name ?? 'unknown', status: e.$metadata?.httpStatusCode };
  }
  throw new Error('the call succeeded; an S3 error was expected');
}
