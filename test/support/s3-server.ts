import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { CreateBucketCommand, DeleteObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { openS3BlobStore, type S3BlobStore, type S3BlobStoreSettings } from '../../src/store/s3/index.js';

/**
 * The real S3 server the S3 tests run against: Ceph RGW started by `scripts/ceph-rgw.sh`
 * (`.ci/run` exports its address and user as COFFER_TEST_S3_*). s3rver is a fake and
 * does not count.
 */
export interface S3TestServer {
  endpoint: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  bucket: string;
}

const inCi = process.env.CI !== undefined && process.env.CI !== '' && process.env.CI !== 'false';

/** The server from COFFER_TEST_S3_*, or null when they are unset. */
export function s3TestServer(): S3TestServer | null {
  const endpoint = process.env.COFFER_TEST_S3_ENDPOINT;
  const accessKeyId = process.env.COFFER_TEST_S3_ACCESS_KEY;
  const secretAccessKey = process.env.COFFER_TEST_S3_SECRET;
  if (!endpoint || !accessKeyId || !secretAccessKey) return null;
  return { endpoint, accessKeyId, secretAccessKey, region: process.env.COFFER_TEST_S3_REGION || 'us-east-1', bucket: process.env.COFFER_TEST_S3_BUCKET || 'coffer-test' };
}

/**
 * The `skip` option of a describe() that needs the S3 server: a one-line reason on a
 * user's clone, never in CI (where {@link requireS3TestServer} then fails the suite).
 */
export function s3Skip(): string | false {
  if (s3TestServer() !== null || inCi) return false;
  return 'skipped: no S3 server (run `eval "$(scripts/ceph-rgw.sh start /tmp/coffer-ceph && scripts/ceph-rgw.sh wait /tmp/coffer-ceph)"` to set COFFER_TEST_S3_*)';
}

/** The server, or an assertion failure: in CI the S3 tests never silently vanish. */
export function requireS3TestServer(): S3TestServer {
  const server = s3TestServer();
  // INVARIANT: in CI the S3 tests never silently vanish
  assert.ok(server, 'CI is set but COFFER_TEST_S3_ENDPOINT/ACCESS_KEY/SECRET are not: the S3 tests must run in CI (.ci/run starts Ceph RGW)');
  return server;
}

/** A raw SDK client on the test server (to look behind the adapter's back). */
export function rawS3Client(server: S3TestServer): S3Client {
  return new S3Client({
    endpoint: server.endpoint,
    region: server.region,
    forcePathStyle: true,
    credentials: { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

/** Creates the test bucket if it is missing. */
export async function ensureBucket(server: S3TestServer, bucket = server.bucket): Promise<void> {
  const client = rawS3Client(server);
  try {
    await client.send(new CreateBucketCommand({ Bucket: bucket }));
  } catch (err) {
    const name = (err as { name?: string }).name;
    if (name !== 'BucketAlreadyOwnedByYou' && name !== 'BucketAlreadyExists') throw err;
  } finally {
    client.destroy();
  }
}

/** A fresh key prefix, so test files and runs never see each other's objects. */
export function uniquePrefix(label: string): string {
  return `t-${label}-${randomBytes(5).toString('hex')}/`;
}

/** The settings of a blob store on the test server under `prefix`. */
export function s3Settings(server: S3TestServer, prefix: string, overrides: Partial<S3BlobStoreSettings> = {}): S3BlobStoreSettings {
  return {
    endpoint: server.endpoint,
    region: server.region,
    bucket: server.bucket,
    prefix,
    forcePathStyle: true,
    credentials: { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey },
    conditionalCreate: 'auto',
    partSize: 5 * 1024 * 1024,
    concurrency: 4,
    ...overrides,
  };
}

/** Opens an adapter on the test server under a fresh prefix. */
export async function openTestS3Store(server: S3TestServer, label: string, overrides: Partial<S3BlobStoreSettings> = {}): Promise<{ store: S3BlobStore; prefix: string }> {
  await ensureBucket(server);
  const prefix = uniquePrefix(label);
  return { store: await openS3BlobStore(s3Settings(server, prefix, overrides)), prefix };
}

/** Deletes every object and incomplete upload under `prefix`. */
export async function emptyPrefix(server: S3TestServer, store: S3BlobStore, prefix: string): Promise<void> {
  await store.sweepIncomplete();
  const client = rawS3Client(server);
  try {
    let token: string | undefined;
    do {
      const page = await client.send(new ListObjectsV2Command({ Bucket: server.bucket, Prefix: prefix, ...(token ? { ContinuationToken: token } : {}) }));
      for (const item of page.Contents ?? []) await client.send(new DeleteObjectCommand({ Bucket: server.bucket, Key: item.Key }));
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token !== undefined);
  } finally {
    client.destroy();
  }
}

/**
 * Runs `radosgw-admin` on the Ceph cluster of scripts/ceph-rgw.sh (COFFER_TEST_CEPH_DIR),
 * or returns null when the S3 server is not that cluster.
 */
export function radosgwAdmin(args: string[]): string | null {
  const dir = process.env.COFFER_TEST_CEPH_DIR;
  if (!dir) return null;
  return execFileSync('radosgw-admin', ['-c', join(dir, 'ceph.conf'), '-n', 'client.admin', '-k', join(dir, 'admin.keyring'), ...args], { encoding: 'utf8', timeout: 60_000 });
}
