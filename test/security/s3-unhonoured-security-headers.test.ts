/**
 * Attack (issue 11.16): S3 headers that promise a protection Coffer does not give were
 * silently ignored. A PutObject with SSE-C (customer key) was stored, and a GET without
 * the key returned the plaintext: the client believed the object needed its key. The same
 * class: SSE-KMS, object lock and legal hold, ACLs and grants, website redirects,
 * conditional writes, tags, the expected bucket owner, and all of them carried in a
 * presigned URL's query instead of headers. Each is now refused with an S3 error before
 * anything happens (and recorded), or honoured; `x-amz-server-side-encryption: AES256`
 * is accepted and echoed. Real server, real AWS SDK client.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  PutObjectCommand,
  UploadPartCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { SECURITY_HEADERS } from '../../src/s3/security-headers.js';
import { sdkClient, s3Error } from '../integration/s3-client-helpers.js';
import { startS3Harness, type S3Harness } from '../integration/s3-harness.js';
import { repoRoot } from '../support/index.js';
import { sendSigned, signS3, type SigningCredentials } from '../support/s3-signer.js';

void describe('S3 security headers coffer does not honour are refused', () => {
  let h: S3Harness;
  let s3: S3Client;
  let creds: SigningCredentials;
  let other: S3Client;
  let adminId: string;
  const key = Buffer.alloc(32, 7);
  const keyMd5 = createHash('md5').update(key).digest('base64');

  before(async () => {
    h = await startS3Harness();
    creds = await h.credentials(h.adminToken);
    s3 = sdkClient(h.s3Url, creds);
    await s3.send(new CreateBucketCommand({ Bucket: 'vault' }));
    await s3.send(new PutObjectCommand({ Bucket: 'vault', Key: 'plain.bin', Body: 'plaintext bytes' }));
    adminId = (await (await fetch(`${h.url}/v1/whoami`, { headers: { authorization: `Bearer ${h.adminToken}` } })).json() as { id: string }).id;
    other = sdkClient(h.s3Url, await h.credentials(await h.user('mallory')));
  });
  after(async () => {
    s3?.destroy();
    other?.destroy();
    await h?.close();
  });

  const refused = async (promise: Promise<unknown>, code: string, status: number) => assert.deepEqual(await s3Error(promise), { code, status });
  const absent = async (k: string) => assert.equal((await s3Error(s3.send(new HeadObjectCommand({ Bucket: 'vault', Key: k })))).status, 404, `${k} must not exist`);

  void it('SSE-C on PutObject is refused (NotImplemented) and nothing is stored, so no GET can return it without the key', async () => {
    await refused(s3.send(new PutObjectCommand({ Bucket: 'vault', Key: 'ssec.bin', Body: 'secret', SSECustomerAlgorithm: 'AES256', SSECustomerKey: key.toString('base64'), SSECustomerKeyMD5: keyMd5 })), 'NotImplemented', 501);
    await absent('ssec.bin');
    const audit = (await h.audit()).map((r) => r.body).filter((b) => b.action === 's3:PutObject' && b.resource === 's3:/vault/ssec.bin');
    assert.deepEqual(audit.map((b) => [b.outcome, b.reason]), [['denied', 'COFFER_S3_REQUEST_REFUSED']], 'the refusal is recorded');
  });

  void it('SSE-C on reads, on multipart and on a copy source is refused', async () => {
    const ssec = { SSECustomerAlgorithm: 'AES256', SSECustomerKey: key.toString('base64'), SSECustomerKeyMD5: keyMd5 };
    await refused(s3.send(new GetObjectCommand({ Bucket: 'vault', Key: 'plain.bin', ...ssec })), 'InvalidRequest', 400);
    assert.equal((await s3Error(s3.send(new HeadObjectCommand({ Bucket: 'vault', Key: 'plain.bin', ...ssec })))).status, 400);
    await refused(s3.send(new CreateMultipartUploadCommand({ Bucket: 'vault', Key: 'mpu.bin', ...ssec })), 'NotImplemented', 501);
    await refused(
      s3.send(new CopyObjectCommand({ Bucket: 'vault', Key: 'copy.bin', CopySource: 'vault/plain.bin', CopySourceSSECustomerAlgorithm: 'AES256', CopySourceSSECustomerKey: key.toString('base64'), CopySourceSSECustomerKeyMD5: keyMd5 })),
      'InvalidRequest',
      400,
    );
    const mpu = await s3.send(new CreateMultipartUploadCommand({ Bucket: 'vault', Key: 'mpu.bin' }));
    await refused(s3.send(new UploadPartCommand({ Bucket: 'vault', Key: 'mpu.bin', UploadId: mpu.UploadId, PartNumber: 1, Body: 'x', ...ssec })), 'NotImplemented', 501);
    await absent('copy.bin');
  });

  void it('SSE-S3 (AES256) is accepted and echoed on writes and reads; SSE-KMS is refused', async () => {
    const put = await s3.send(new PutObjectCommand({ Bucket: 'vault', Key: 'sse.bin', Body: 'bytes', ServerSideEncryption: 'AES256' }));
    assert.equal(put.ServerSideEncryption, 'AES256');
    const got = await s3.send(new GetObjectCommand({ Bucket: 'vault', Key: 'sse.bin' }));
    assert.equal(got.ServerSideEncryption, 'AES256');
    assert.equal(await got.Body!.transformToString(), 'bytes');
    assert.equal((await s3.send(new HeadObjectCommand({ Bucket: 'vault', Key: 'plain.bin' }))).ServerSideEncryption, 'AES256', 'every object is encrypted at rest');
    await refused(s3.send(new PutObjectCommand({ Bucket: 'vault', Key: 'kms.bin', Body: 'x', ServerSideEncryption: 'aws:kms', SSEKMSKeyId: 'arn:aws:kms:us-east-1:111122223333:key/x' })), 'NotImplemented', 501);
    await refused(s3.send(new PutObjectCommand({ Bucket: 'vault', Key: 'kms.bin', Body: 'x', SSEKMSKeyId: 'arn:aws:kms:us-east-1:111122223333:key/x' })), 'NotImplemented', 501);
    await absent('kms.bin');
  });

  void it('object lock, legal hold, ACLs, grants, website redirects, tags are refused, a failed conditional write writes nothing; private ACLs accepted', async () => {
    await refused(s3.send(new PutObjectCommand({ Bucket: 'vault', Key: 'lock.bin', Body: 'x', ObjectLockMode: 'COMPLIANCE', ObjectLockRetainUntilDate: new Date(Date.now() + 86400_000) })), 'InvalidRequest', 400);
    await refused(s3.send(new PutObjectCommand({ Bucket: 'vault', Key: 'lock.bin', Body: 'x', ObjectLockLegalHoldStatus: 'ON' })), 'InvalidRequest', 400);
    await refused(s3.send(new PutObjectCommand({ Bucket: 'vault', Key: 'acl.bin', Body: 'x', ACL: 'public-read' })), 'AccessControlListNotSupported', 400);
    await refused(s3.send(new PutObjectCommand({ Bucket: 'vault', Key: 'acl.bin', Body: 'x', GrantRead: 'uri="http://acs.amazonaws.com/groups/global/AllUsers"' })), 'AccessControlListNotSupported', 400);
    await refused(s3.send(new CreateBucketCommand({ Bucket: 'public', ACL: 'public-read-write' })), 'AccessControlListNotSupported', 400);
    await refused(s3.send(new CreateBucketCommand({ Bucket: 'locked', ObjectLockEnabledForBucket: true })), 'NotImplemented', 501);
    await refused(s3.send(new PutObjectCommand({ Bucket: 'vault', Key: 'web.bin', Body: 'x', WebsiteRedirectLocation: 'https://evil.example/' })), 'NotImplemented', 501);
    await refused(s3.send(new PutObjectCommand({ Bucket: 'vault', Key: 'tag.bin', Body: 'x', Tagging: 'classification=secret' })), 'NotImplemented', 501);
    // conditional writes are honoured (test/integration/s3-conditional.test.ts): never an unconditional overwrite
    await refused(s3.send(new PutObjectCommand({ Bucket: 'vault', Key: 'plain.bin', Body: 'overwrite', IfNoneMatch: '*' })), 'PreconditionFailed', 412);
    for (const k of ['lock.bin', 'acl.bin', 'web.bin', 'tag.bin']) await absent(k);
    assert.equal((await s3Error(s3.send(new HeadBucketCommand({ Bucket: 'public' })))).status, 404);
    assert.equal(await (await s3.send(new GetObjectCommand({ Bucket: 'vault', Key: 'plain.bin' }))).Body!.transformToString(), 'plaintext bytes', 'no conditional overwrite happened');
    const priv = await s3.send(new PutObjectCommand({ Bucket: 'vault', Key: 'private.bin', Body: 'x', ACL: 'private' }));
    assert.equal(priv.VersionId, '1');
  });

  void it('x-amz-expected-bucket-owner is honoured; a missing, hidden or foreign bucket answers the same AccessDenied', async () => {
    const head = async (client: S3Client, bucket: string, owner: string) => (await s3Error(client.send(new HeadBucketCommand({ Bucket: bucket, ExpectedBucketOwner: owner })))).status;
    assert.equal((await s3.send(new HeadBucketCommand({ Bucket: 'vault', ExpectedBucketOwner: adminId }))).$metadata.httpStatusCode, 200);
    assert.equal(await head(s3, 'vault', 'prn_someoneelse'), 403);
    assert.equal(await head(s3, 'nosuchbucket', adminId), 403);
    assert.equal(await head(other, 'vault', adminId), 403, 'hidden: the same answer as missing');
    assert.equal((await s3Error(s3.send(new HeadBucketCommand({ Bucket: 'nosuchbucket' })))).status, 404, 'without the header, as before');
    await refused(s3.send(new PutObjectCommand({ Bucket: 'vault', Key: 'owned.bin', Body: 'x', ExpectedBucketOwner: 'prn_someoneelse' })), 'AccessDenied', 403);
    await absent('owned.bin');
    await refused(s3.send(new CopyObjectCommand({ Bucket: 'vault', Key: 'owned.bin', CopySource: 'vault/plain.bin', ExpectedSourceBucketOwner: 'prn_someoneelse' })), 'AccessDenied', 403);
    const ok = await s3.send(new CopyObjectCommand({ Bucket: 'vault', Key: 'owned.bin', CopySource: 'vault/plain.bin', ExpectedSourceBucketOwner: adminId, ExpectedBucketOwner: adminId }));
    assert.equal(ok.ServerSideEncryption, 'AES256');
  });

  void it('headers carried in a presigned URL query are checked the same way', async () => {
    const host = new URL(h.s3Url).host;
    const plain = await sendSigned(h.s3Url, signS3(creds, { method: 'GET', path: '/vault/plain.bin', presign: true, host }));
    assert.equal(plain.status, 200);
    assert.equal(plain.text, 'plaintext bytes');
    const hoisted = signS3(creds, { method: 'GET', path: '/vault/plain.bin', presign: true, host, query: [['x-amz-server-side-encryption-customer-algorithm', 'AES256']] });
    const r = await sendSigned(h.s3Url, hoisted);
    assert.equal(r.status, 400);
    assert.match(r.text, /<Code>InvalidRequest<\/Code>/);
    const put = await sendSigned(h.s3Url, signS3(creds, { method: 'PUT', path: '/vault/query-acl.bin', presign: true, host, query: [['x-amz-acl', 'public-read']], body: randomBytes(10) }));
    assert.equal(put.status, 400);
    assert.match(put.text, /AccessControlListNotSupported/);
    await absent('query-acl.bin');
  });

  void it('a multipart upload with AES256 completes, echoed at every step', async () => {
    const mpu = await s3.send(new CreateMultipartUploadCommand({ Bucket: 'vault', Key: 'mpu-ok.bin', ServerSideEncryption: 'AES256' }));
    assert.equal(mpu.ServerSideEncryption, 'AES256');
    const part = await s3.send(new UploadPartCommand({ Bucket: 'vault', Key: 'mpu-ok.bin', UploadId: mpu.UploadId, PartNumber: 1, Body: 'only part' }));
    const done = await s3.send(new CompleteMultipartUploadCommand({ Bucket: 'vault', Key: 'mpu-ok.bin', UploadId: mpu.UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag }] } }));
    assert.equal(done.ServerSideEncryption, 'AES256');
    await s3.send(new DeleteObjectCommand({ Bucket: 'vault', Key: 'mpu-ok.bin' }));
  });

  void it('docs/s3.md documents every header of the table', () => {
    const doc = readFileSync(join(repoRoot(), 'docs', 's3.md'), 'utf8');
    const missing = SECURITY_HEADERS.filter((r) => !doc.includes(`\`${r.name}\``)).map((r) => r.name);
    assert.deepEqual(missing, []);
  });
});
