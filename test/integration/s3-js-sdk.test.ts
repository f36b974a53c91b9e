/**
 * The S3 endpoint with the AWS SDK for JavaScript v3 (@aws-sdk/client-s3, lib-storage):
 * every operation of the issue, protocol details, refusals, and the audit trail.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetBucketLocationCommand,
  GetObjectCommand,
  GetObjectTaggingCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListBucketsCommand,
  ListMultipartUploadsCommand,
  ListObjectVersionsCommand,
  ListObjectsCommand,
  ListObjectsV2Command,
  ListPartsCommand,
  PutObjectCommand,
  UploadPartCommand,
  UploadPartCopyCommand,
  paginateListObjectsV2,
  type S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { S3CredentialsClient } from '../../src/client/s3-client.js';
import { checksumOf } from '../../src/s3/checksums.js';
import { openRaw, requestHead } from '../support/index.js';
import { s3Error, sdkClient } from './s3-client-helpers.js';
import { startS3Harness, type S3Harness } from './s3-harness.js';

const MIB = 1024 * 1024;
const md5 = (b: Buffer) => createHash('md5').update(b).digest('hex');
const bytesOf = async (body: unknown) => Buffer.from(await (body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray());

void describe('S3 endpoint with @aws-sdk/client-s3', () => {
  let h: S3Harness;
  let s3: S3Client;
  before(async () => {
    h = await startS3Harness();
    s3 = sdkClient(h.s3Url, await h.credentials(h.adminToken));
    // a project made through REST: `ml` is too short for a new S3 bucket name (3-63), but reachable
    await h.admin.createProject({ name: 'ml' });
    assert.equal((await s3Error(s3.send(new CreateBucketCommand({ Bucket: 'm2' })))).code, 'InvalidBucketName');
  });
  after(async () => {
    s3?.destroy();
    await h?.close();
  });

  void test('buckets: CreateBucket, HeadBucket with region, GetBucketLocation, ListBuckets, DeleteBucket of an empty one', async () => {
    const head = await s3.send(new HeadBucketCommand({ Bucket: 'ml' }));
    assert.equal(head.BucketRegion, 'us-east-1');
    assert.equal((await s3.send(new GetBucketLocationCommand({ Bucket: 'ml' }))).LocationConstraint, undefined);
    assert.equal((await s3Error(s3.send(new CreateBucketCommand({ Bucket: 'ml' })))).code, 'BucketAlreadyOwnedByYou');
    await s3.send(new CreateBucketCommand({ Bucket: 'scratch' }));
    assert.deepEqual(((await s3.send(new ListBucketsCommand({}))).Buckets ?? []).map((b) => b.Name).sort(), ['ml', 'scratch']);
    await s3.send(new DeleteBucketCommand({ Bucket: 'scratch' }));
    assert.deepEqual(await s3Error(s3.send(new HeadBucketCommand({ Bucket: 'scratch' }))), { code: 'NotFound', status: 404 });
    assert.equal((await s3Error(s3.send(new ListObjectsV2Command({ Bucket: 'scratch' })))).code, 'NoSuchBucket');
  });

  void test('PutObject, GetObject, HeadObject: ETag is the MD5, bytes round-trip, a new PUT is a new version', async () => {
    const body = randomBytes(300_000);
    const put = await s3.send(new PutObjectCommand({ Bucket: 'ml', Key: 'models/resnet 50+v1=final.bin', Body: body, ContentType: 'application/x-model' }));
    assert.equal(put.ETag, `"${md5(body)}"`);
    assert.equal(put.VersionId, '1');
    assert.ok(put.ChecksumCRC32, 'the CRC32 the SDK sent is echoed');
    const got = await s3.send(new GetObjectCommand({ Bucket: 'ml', Key: 'models/resnet 50+v1=final.bin' }));
    assert.deepEqual(await bytesOf(got.Body), body);
    assert.equal(got.ETag, put.ETag);
    assert.equal(got.ContentType, 'application/x-model');
    const head = await s3.send(new HeadObjectCommand({ Bucket: 'ml', Key: 'models/resnet 50+v1=final.bin' }));
    assert.equal(head.ContentLength, body.length);
    assert.equal(head.ETag, put.ETag);
    const second = await s3.send(new PutObjectCommand({ Bucket: 'ml', Key: 'models/resnet 50+v1=final.bin', Body: 'v2' }));
    assert.equal(second.VersionId, '2');
    assert.equal(await (await s3.send(new GetObjectCommand({ Bucket: 'ml', Key: 'models/resnet 50+v1=final.bin' }))).Body!.transformToString(), 'v2');
    const first = await s3.send(new GetObjectCommand({ Bucket: 'ml', Key: 'models/resnet 50+v1=final.bin', VersionId: '1' }));
    assert.deepEqual(await bytesOf(first.Body), body);
    // streamed bodies of unknown framing go as aws-chunked with a CRC32 trailer
    const streamed = await s3.send(new PutObjectCommand({ Bucket: 'ml', Key: 'models/streamed', Body: Readable.from([body.subarray(0, 100_000), body.subarray(100_000)]), ContentLength: body.length }));
    assert.equal(streamed.ETag, `"${md5(body)}"`);
    assert.deepEqual(await bytesOf((await s3.send(new GetObjectCommand({ Bucket: 'ml', Key: 'models/streamed' }))).Body), body);
    assert.equal((await s3Error(s3.send(new GetObjectCommand({ Bucket: 'ml', Key: 'models/missing' })))).code, 'NoSuchKey');
    // `..` is literal key text in S3: stored under a canonical name that cannot traverse
    await s3.send(new PutObjectCommand({ Bucket: 'ml', Key: 'bad/../key', Body: 'x' }));
    assert.equal((await h.admin.showArtifact('ml', 'bad/%2E%2E/key')).versions.length, 1);
  });

  void test('checksums: CRC32, CRC32C, CRC64NVME, SHA-1, SHA-256 and Content-MD5 verified and echoed; a wrong one is BadDigest and stores nothing', async () => {
    const body = randomBytes(70_000);
    for (const algorithm of ['CRC32', 'CRC32C', 'CRC64NVME', 'SHA1', 'SHA256'] as const) {
      const put = await s3.send(new PutObjectCommand({ Bucket: 'ml', Key: `sums/${algorithm}`, Body: body, ChecksumAlgorithm: algorithm }));
      assert.ok(put[`Checksum${algorithm}`], `${algorithm} echoed`);
      // the SDK validates the checksum it gets back
      const got = await s3.send(new GetObjectCommand({ Bucket: 'ml', Key: `sums/${algorithm}`, ChecksumMode: 'ENABLED' }));
      assert.equal(got[`Checksum${algorithm}`], put[`Checksum${algorithm}`]);
      assert.deepEqual(await bytesOf(got.Body), body);
    }
    const withMd5 = await s3.send(new PutObjectCommand({ Bucket: 'ml', Key: 'sums/md5', Body: body, ContentMD5: createHash('md5').update(body).digest('base64') }));
    assert.equal(withMd5.ETag, `"${md5(body)}"`);
    const wrong = await s3Error(s3.send(new PutObjectCommand({ Bucket: 'ml', Key: 'sums/wrong', Body: body, ChecksumCRC32: 'AAAAAA==' })));
    assert.deepEqual(wrong, { code: 'BadDigest', status: 400 });
    const wrongMd5 = await s3Error(s3.send(new PutObjectCommand({ Bucket: 'ml', Key: 'sums/wrong', Body: body, ContentMD5: createHash('md5').update('other').digest('base64') })));
    assert.equal(wrongMd5.code, 'BadDigest');
    assert.equal((await s3Error(s3.send(new HeadObjectCommand({ Bucket: 'ml', Key: 'sums/wrong' })))).status, 404);
  });

  void test('GetObject: Range, If-Match, If-None-Match, If-Modified-Since, partNumber', async () => {
    const body = Buffer.from('0123456789abcdefghij');
    const put = await s3.send(new PutObjectCommand({ Bucket: 'ml', Key: 'cond/obj', Body: body }));
    const range = await s3.send(new GetObjectCommand({ Bucket: 'ml', Key: 'cond/obj', Range: 'bytes=2-5' }));
    assert.equal(await range.Body!.transformToString(), '2345');
    assert.equal(range.ContentRange, 'bytes 2-5/20');
    assert.equal(await (await s3.send(new GetObjectCommand({ Bucket: 'ml', Key: 'cond/obj', Range: 'bytes=-3' }))).Body!.transformToString(), 'hij');
    assert.equal((await s3Error(s3.send(new GetObjectCommand({ Bucket: 'ml', Key: 'cond/obj', Range: 'bytes=50-60' })))).code, 'InvalidRange');
    assert.equal(await (await s3.send(new GetObjectCommand({ Bucket: 'ml', Key: 'cond/obj', IfMatch: put.ETag }))).Body!.transformToString(), body.toString());
    assert.deepEqual(await s3Error(s3.send(new GetObjectCommand({ Bucket: 'ml', Key: 'cond/obj', IfMatch: '"0000"' }))), { code: 'PreconditionFailed', status: 412 });
    assert.equal((await s3Error(s3.send(new GetObjectCommand({ Bucket: 'ml', Key: 'cond/obj', IfNoneMatch: put.ETag })))).status, 304);
    assert.equal((await s3Error(s3.send(new GetObjectCommand({ Bucket: 'ml', Key: 'cond/obj', IfModifiedSince: new Date(Date.now() + 3600_000) })))).status, 304);
    const since = await s3.send(new GetObjectCommand({ Bucket: 'ml', Key: 'cond/obj', IfModifiedSince: new Date(Date.now() - 3600_000) }));
    assert.equal(await since.Body!.transformToString(), body.toString());
    const part = await s3.send(new GetObjectCommand({ Bucket: 'ml', Key: 'cond/obj', PartNumber: 1 }));
    assert.equal(await part.Body!.transformToString(), body.toString());
    assert.equal((await s3Error(s3.send(new GetObjectCommand({ Bucket: 'ml', Key: 'cond/obj', PartNumber: 2 })))).code, 'InvalidPartNumber');
  });

  void test('multipart: lib-storage Upload, ListParts, ListMultipartUploads, UploadPartCopy, Abort, EntityTooSmall, partNumber reads', async () => {
    const data = randomBytes(12 * MIB + 12345);
    const upload = new Upload({ client: s3, params: { Bucket: 'ml', Key: 'mp/lib-storage.bin', Body: Readable.from([data.subarray(0, 7 * MIB), data.subarray(7 * MIB)]) }, partSize: 5 * MIB, queueSize: 2 });
    const done = await upload.done();
    const partMd5s = [0, 1, 2].map((i) => createHash('md5').update(data.subarray(i * 5 * MIB, Math.min(data.length, (i + 1) * 5 * MIB))).digest());
    assert.equal(done.ETag, `"${createHash('md5').update(Buffer.concat(partMd5s)).digest('hex')}-3"`);
    const got = await s3.send(new GetObjectCommand({ Bucket: 'ml', Key: 'mp/lib-storage.bin' }));
    assert.equal(createHash('sha256').update(await bytesOf(got.Body)).digest('hex'), createHash('sha256').update(data).digest('hex'));
    assert.equal(got.ETag, done.ETag);
    const part2 = await s3.send(new GetObjectCommand({ Bucket: 'ml', Key: 'mp/lib-storage.bin', PartNumber: 2 }));
    assert.equal(part2.PartsCount, 3);
    assert.deepEqual(await bytesOf(part2.Body), data.subarray(5 * MIB, 10 * MIB));

    // by hand: UploadPartCopy from the object above + UploadPart, listed, then completed
    const created = await s3.send(new CreateMultipartUploadCommand({ Bucket: 'ml', Key: 'mp/manual.bin' }));
    const uploadId = created.UploadId!;
    const copied = await s3.send(new UploadPartCopyCommand({ Bucket: 'ml', Key: 'mp/manual.bin', UploadId: uploadId, PartNumber: 1, CopySource: '/ml/mp/lib-storage.bin', CopySourceRange: `bytes=0-${5 * MIB - 1}` }));
    const tail = Buffer.from('tail of the object');
    const p2 = await s3.send(new UploadPartCommand({ Bucket: 'ml', Key: 'mp/manual.bin', UploadId: uploadId, PartNumber: 2, Body: tail }));
    const parts = await s3.send(new ListPartsCommand({ Bucket: 'ml', Key: 'mp/manual.bin', UploadId: uploadId }));
    assert.deepEqual(parts.Parts?.map((p) => [p.PartNumber, p.Size]), [[1, 5 * MIB], [2, tail.length]]);
    const uploads = await s3.send(new ListMultipartUploadsCommand({ Bucket: 'ml' }));
    assert.ok(uploads.Uploads?.some((u) => u.UploadId === uploadId && u.Key === 'mp/manual.bin'));
    assert.equal(
      (await s3Error(s3.send(new CompleteMultipartUploadCommand({ Bucket: 'ml', Key: 'mp/manual.bin', UploadId: uploadId, MultipartUpload: { Parts: [{ PartNumber: 2, ETag: p2.ETag }, { PartNumber: 1, ETag: copied.CopyPartResult!.ETag }] } })))).code,
      'InvalidPartOrder',
    );
    assert.equal((await s3Error(s3.send(new CompleteMultipartUploadCommand({ Bucket: 'ml', Key: 'mp/manual.bin', UploadId: uploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: '"0"' }] } })))).code, 'InvalidPart');
    await s3.send(new CompleteMultipartUploadCommand({ Bucket: 'ml', Key: 'mp/manual.bin', UploadId: uploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: copied.CopyPartResult!.ETag }, { PartNumber: 2, ETag: p2.ETag }] } }));
    const manual = await bytesOf((await s3.send(new GetObjectCommand({ Bucket: 'ml', Key: 'mp/manual.bin' }))).Body);
    assert.deepEqual(manual, Buffer.concat([data.subarray(0, 5 * MIB), tail]));
    assert.equal((await s3Error(s3.send(new ListPartsCommand({ Bucket: 'ml', Key: 'mp/manual.bin', UploadId: uploadId })))).code, 'NoSuchUpload');

    const small = await s3.send(new CreateMultipartUploadCommand({ Bucket: 'ml', Key: 'mp/small.bin' }));
    const s1 = await s3.send(new UploadPartCommand({ Bucket: 'ml', Key: 'mp/small.bin', UploadId: small.UploadId, PartNumber: 1, Body: 'too small' }));
    const s2 = await s3.send(new UploadPartCommand({ Bucket: 'ml', Key: 'mp/small.bin', UploadId: small.UploadId, PartNumber: 2, Body: 'last' }));
    assert.equal((await s3Error(s3.send(new CompleteMultipartUploadCommand({ Bucket: 'ml', Key: 'mp/small.bin', UploadId: small.UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: s1.ETag }, { PartNumber: 2, ETag: s2.ETag }] } })))).code, 'EntityTooSmall');
    await s3.send(new AbortMultipartUploadCommand({ Bucket: 'ml', Key: 'mp/small.bin', UploadId: small.UploadId }));
    assert.equal((await s3Error(s3.send(new UploadPartCommand({ Bucket: 'ml', Key: 'mp/small.bin', UploadId: small.UploadId, PartNumber: 3, Body: 'x' })))).code, 'NoSuchUpload');
    assert.equal((await s3Error(s3.send(new HeadObjectCommand({ Bucket: 'ml', Key: 'mp/small.bin' })))).status, 404);
  });

  void test('multipart checksums: composite CRC32 (lib-storage) and full-object CRC64NVME checked at Complete', async () => {
    const data = randomBytes(6 * MIB + 100);
    const composite = await new Upload({ client: s3, params: { Bucket: 'ml', Key: 'mp/crc32', Body: data, ChecksumAlgorithm: 'CRC32' }, partSize: 5 * MIB }).done();
    assert.match(composite.ChecksumCRC32 ?? '', /^[A-Za-z0-9+/]{6}==-2$/);
    const got = await s3.send(new GetObjectCommand({ Bucket: 'ml', Key: 'mp/crc32', ChecksumMode: 'ENABLED' }));
    assert.equal(got.ChecksumCRC32, composite.ChecksumCRC32);
    assert.equal(got.ChecksumType, 'COMPOSITE');
    assert.deepEqual(await bytesOf(got.Body), data);

    const whole = checksumOf('crc64nvme', data);
    const complete = async (value: string) => {
      const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: 'ml', Key: 'mp/crc64', ChecksumAlgorithm: 'CRC64NVME', ChecksumType: 'FULL_OBJECT' }));
      const parts = [];
      for (const [i, part] of [data.subarray(0, 5 * MIB), data.subarray(5 * MIB)].entries()) {
        const r = await s3.send(new UploadPartCommand({ Bucket: 'ml', Key: 'mp/crc64', UploadId, PartNumber: i + 1, Body: part, ChecksumAlgorithm: 'CRC64NVME' }));
        parts.push({ PartNumber: i + 1, ETag: r.ETag, ChecksumCRC64NVME: r.ChecksumCRC64NVME });
      }
      return s3.send(new CompleteMultipartUploadCommand({ Bucket: 'ml', Key: 'mp/crc64', UploadId, ChecksumType: 'FULL_OBJECT', ChecksumCRC64NVME: value, MultipartUpload: { Parts: parts } }));
    };
    assert.equal((await s3Error(complete('AAAAAAAAAAA='))).code, 'BadDigest');
    assert.equal((await complete(whole)).ChecksumCRC64NVME, whole);
    const full = await s3.send(new GetObjectCommand({ Bucket: 'ml', Key: 'mp/crc64', ChecksumMode: 'ENABLED' }));
    assert.equal(full.ChecksumCRC64NVME, whole);
    assert.deepEqual(await bytesOf(full.Body), data);
  });

  void test('CopyObject, DeleteObject (delete marker), ListObjectVersions, undelete, DeleteObjects, GetObjectTagging', async () => {
    await s3.send(new PutObjectCommand({ Bucket: 'ml', Key: 'del/a', Body: 'a1' }));
    await s3.send(new PutObjectCommand({ Bucket: 'ml', Key: 'del/a', Body: 'a2' }));
    const copy = await s3.send(new CopyObjectCommand({ Bucket: 'ml', Key: 'del/copy of a', CopySource: 'ml/del/a' }));
    assert.equal(copy.CopyObjectResult?.ETag, `"${md5(Buffer.from('a2'))}"`);
    assert.equal(await (await s3.send(new GetObjectCommand({ Bucket: 'ml', Key: 'del/copy of a' }))).Body!.transformToString(), 'a2');
    assert.deepEqual((await s3.send(new GetObjectTaggingCommand({ Bucket: 'ml', Key: 'del/a' }))).TagSet, []);

    const deleted = await s3.send(new DeleteObjectCommand({ Bucket: 'ml', Key: 'del/a' }));
    assert.equal(deleted.DeleteMarker, true);
    assert.equal((await s3Error(s3.send(new GetObjectCommand({ Bucket: 'ml', Key: 'del/a' })))).code, 'NoSuchKey');
    assert.ok(!((await s3.send(new ListObjectsV2Command({ Bucket: 'ml', Prefix: 'del/' }))).Contents ?? []).some((o) => o.Key === 'del/a'));
    // versions are immutable in Coffer: still there, behind the marker
    const versions = await s3.send(new ListObjectVersionsCommand({ Bucket: 'ml', Prefix: 'del/a' }));
    assert.deepEqual(versions.Versions?.filter((v) => v.Key === 'del/a').map((v) => [v.VersionId, v.IsLatest]), [['2', false], ['1', false]]);
    assert.deepEqual(versions.DeleteMarkers?.map((m) => [m.Key, m.VersionId, m.IsLatest]), [['del/a', deleted.VersionId, true]]);
    assert.equal(await (await s3.send(new GetObjectCommand({ Bucket: 'ml', Key: 'del/a', VersionId: '1' }))).Body!.transformToString(), 'a1');
    // deleting a real version by id purges it from the S3 view (kept in Coffer: docs/s3.md)
    assert.equal((await s3.send(new DeleteObjectCommand({ Bucket: 'ml', Key: 'del/a', VersionId: '1' }))).VersionId, '1');
    assert.equal((await s3Error(s3.send(new GetObjectCommand({ Bucket: 'ml', Key: 'del/a', VersionId: '1' })))).code, 'NoSuchKey');
    assert.equal((await h.admin.showArtifact('ml', 'del/a')).versions.length, 2);
    await s3.send(new DeleteObjectCommand({ Bucket: 'ml', Key: 'del/a', VersionId: deleted.VersionId }));
    assert.equal(await (await s3.send(new GetObjectCommand({ Bucket: 'ml', Key: 'del/a' }))).Body!.transformToString(), 'a2');
    await s3.send(new DeleteObjectCommand({ Bucket: 'ml', Key: 'del/a' }));
    await s3.send(new PutObjectCommand({ Bucket: 'ml', Key: 'del/a', Body: 'a3' }));
    assert.equal(await (await s3.send(new GetObjectCommand({ Bucket: 'ml', Key: 'del/a' }))).Body!.transformToString(), 'a3', 'a PUT after a delete shows the key again');

    const many = await s3.send(new DeleteObjectsCommand({ Bucket: 'ml', Delete: { Objects: [{ Key: 'del/a' }, { Key: 'del/copy of a' }, { Key: 'del/never-existed' }] } }));
    assert.deepEqual(many.Deleted?.map((d) => d.Key).sort(), ['del/a', 'del/copy of a', 'del/never-existed']);
    assert.deepEqual(many.Errors ?? [], []);
    assert.deepEqual((await s3.send(new ListObjectsV2Command({ Bucket: 'ml', Prefix: 'del/' }))).KeyCount, 0);
    assert.equal((await s3Error(s3.send(new DeleteBucketCommand({ Bucket: 'ml' })))).code, 'BucketNotEmpty');
  });

  void test('listings: delimiter, prefix, start-after, max-keys with continuation, encoding-type=url, ListObjects v1 markers', async () => {
    const keys = ['list/a.txt', 'list/b/1', 'list/b/2', 'list/c d/1', 'list/c d/2', 'list/e+f', 'list/g/h/i'];
    for (const Key of keys) await s3.send(new PutObjectCommand({ Bucket: 'ml', Key, Body: Key }));
    const top = await s3.send(new ListObjectsV2Command({ Bucket: 'ml', Prefix: 'list/', Delimiter: '/' }));
    assert.deepEqual(top.Contents?.map((c) => c.Key), ['list/a.txt', 'list/e+f']);
    assert.deepEqual(top.CommonPrefixes?.map((c) => c.Prefix), ['list/b/', 'list/c d/', 'list/g/']);
    assert.equal(top.KeyCount, 5);
    const pages: string[][] = [];
    for await (const page of paginateListObjectsV2({ client: s3, pageSize: 2 }, { Bucket: 'ml', Prefix: 'list/', Delimiter: '/' })) {
      pages.push([...(page.Contents ?? []).map((c) => c.Key!), ...(page.CommonPrefixes ?? []).map((p) => p.Prefix!)]);
    }
    assert.deepEqual(pages.flat().sort(), ['list/a.txt', 'list/b/', 'list/c d/', 'list/e+f', 'list/g/']);
    assert.ok(pages.length >= 3 && pages.every((p) => p.length <= 2));
    const after = await s3.send(new ListObjectsV2Command({ Bucket: 'ml', Prefix: 'list/', StartAfter: 'list/c d/1' }));
    assert.deepEqual(after.Contents?.map((c) => c.Key), ['list/c d/2', 'list/e+f', 'list/g/h/i']);
    const encoded = await s3.send(new ListObjectsV2Command({ Bucket: 'ml', Prefix: 'list/c', EncodingType: 'url' }));
    assert.deepEqual(encoded.Contents?.map((c) => decodeURIComponent(c.Key!)), ['list/c d/1', 'list/c d/2']);
    assert.ok(encoded.Contents?.every((c) => !c.Key!.includes(' ')));
    const v1 = await s3.send(new ListObjectsCommand({ Bucket: 'ml', Prefix: 'list/', Delimiter: '/', MaxKeys: 2 }));
    assert.equal(v1.IsTruncated, true);
    const v1next = await s3.send(new ListObjectsCommand({ Bucket: 'ml', Prefix: 'list/', Delimiter: '/', Marker: v1.NextMarker }));
    assert.deepEqual([...(v1.Contents ?? []), ...(v1next.Contents ?? [])].map((c) => c.Key).sort(), ['list/a.txt', 'list/e+f']);
    assert.deepEqual([...(v1.CommonPrefixes ?? []), ...(v1next.CommonPrefixes ?? [])].map((c) => c.Prefix).sort(), ['list/b/', 'list/c d/', 'list/g/']);
  });

  void test('credentials: wrong secret, missing session token, revoked, skewed clock, anonymous are refused with S3 codes', async () => {
    const creds = await h.credentials(h.adminToken);
    assert.equal((await s3Error(sdkClient(h.s3Url, { ...creds, secretAccessKey: `${creds.secretAccessKey}x` }).send(new ListBucketsCommand({})))).code, 'SignatureDoesNotMatch');
    assert.equal((await s3Error(sdkClient(h.s3Url, { ...creds, sessionToken: 'coffer_s3session_forged' }).send(new ListBucketsCommand({})))).code, 'InvalidToken');
    assert.equal((await s3Error(sdkClient(h.s3Url, { ...creds, accessKeyId: 'CKIAAAAAAAAAAAAAAAAA' }).send(new ListBucketsCommand({})))).code, 'InvalidAccessKeyId');
    assert.equal((await s3Error(sdkClient(h.s3Url, creds, { clockOffsetMs: -20 * 60_000 }).send(new ListBucketsCommand({})))).code, 'RequestTimeTooSkewed');
    const anonymous = await fetch(`${h.s3Url}/ml/models/streamed`);
    assert.equal(anonymous.status, 403);
    assert.match(await anonymous.text(), /<Code>AccessDenied<\/Code>.*<RequestId>[0-9A-F]{16}<\/RequestId>/s);
    const client = sdkClient(h.s3Url, creds);
    await client.send(new ListBucketsCommand({}));
    await new S3CredentialsClient({ baseUrl: h.url, token: h.adminToken }).revoke(creds.accessKeyId);
    assert.equal((await s3Error(client.send(new ListBucketsCommand({})))).code, 'InvalidAccessKeyId');
    const listed = await new S3CredentialsClient({ baseUrl: h.url, token: h.adminToken }).list();
    assert.ok(listed.find((c) => c.accessKeyId === creds.accessKeyId)?.revokedAt);
    assert.ok(listed.every((c) => !('secretAccessKey' in c)));
  });

  void test('Expect: 100-continue is answered only after authentication: a refused upload never sends its body', async () => {
    const conn = await openRaw(h.s3Url);
    await conn.write(requestHead('PUT', '/ml/expect/refused', { host: 'x', expect: '100-continue', 'content-length': 1000000, connection: 'close' }));
    await conn.closed;
    const text = conn.received();
    assert.doesNotMatch(text, /100 Continue/);
    assert.match(text, /^HTTP\/1\.1 403/);
    assert.match(text, /<Code>AccessDenied<\/Code>/);
    // an authenticated client that waits for 100-continue gets it (the SDK sends Expect for large bodies)
    const put = await s3.send(new PutObjectCommand({ Bucket: 'ml', Key: 'expect/accepted', Body: randomBytes(3 * MIB) }));
    assert.match(put.ETag ?? '', /^"[0-9a-f]{32}"$/);
  });

  void test('users without a grant: hidden objects are NoSuchKey, visible but forbidden ones AccessDenied; every request is in the audit log', async () => {
    const bobToken = await h.user('bob');
    const bob = sdkClient(h.s3Url, await h.credentials(bobToken));
    assert.equal((await s3Error(bob.send(new GetObjectCommand({ Bucket: 'ml', Key: 'models/streamed' })))).code, 'NoSuchKey');
    assert.equal((await s3Error(bob.send(new GetObjectCommand({ Bucket: 'ml', Key: 'models/does-not-exist' })))).code, 'NoSuchKey');
    assert.equal((await s3Error(bob.send(new ListObjectsV2Command({ Bucket: 'ml' })))).code, 'NoSuchBucket');
    assert.equal((await s3Error(bob.send(new PutObjectCommand({ Bucket: 'ml', Key: 'bob/x', Body: 'x' })))).code, 'NoSuchBucket');
    assert.deepEqual((await bob.send(new ListBucketsCommand({}))).Buckets ?? [], []);
    // a reader sees and downloads, but may not write or delete
    await h.admin.createGrant({ principal: 'bob', role: 'reader', project: 'ml' });
    const bob2 = sdkClient(h.s3Url, await h.credentials(bobToken));
    assert.ok((await bob2.send(new GetObjectCommand({ Bucket: 'ml', Key: 'models/streamed' }))).Body);
    assert.equal((await s3Error(bob2.send(new PutObjectCommand({ Bucket: 'ml', Key: 'models/streamed', Body: 'x' })))).code, 'AccessDenied');
    assert.equal((await s3Error(bob2.send(new DeleteObjectCommand({ Bucket: 'ml', Key: 'models/streamed' })))).code, 'AccessDenied');
    // admins see every object's metadata but download only through grants
    const carolToken = await h.user('carol');
    await h.admin.createGrant({ principal: 'carol', role: 'owner', project: 'ml' });
    const carol = sdkClient(h.s3Url, await h.credentials(carolToken));
    await carol.send(new PutObjectCommand({ Bucket: 'ml', Key: 'secret/weights', Body: 'restricted bytes', Metadata: { 'coffer-tier': 'restricted' } }));
    assert.equal((await s3.send(new HeadObjectCommand({ Bucket: 'ml', Key: 'secret/weights' }))).ContentLength, 16);
    assert.equal((await s3Error(s3.send(new GetObjectCommand({ Bucket: 'ml', Key: 'secret/weights' })))).code, 'AccessDenied');
    assert.equal((await s3Error(bob2.send(new GetObjectCommand({ Bucket: 'ml', Key: 'secret/weights' })))).code, 'NoSuchKey', 'a project reader never reaches restricted artifacts');

    const records = await h.audit();
    const s3Records = records.filter((r) => typeof r.body.context.s3 === 'string' || r.body.resource.startsWith('s3:'));
    const ops = new Set(s3Records.map((r) => r.body.context.s3));
    for (const op of ['PutObject', 'GetObject', 'HeadObject', 'ListObjectsV2', 'ListObjects', 'ListBuckets', 'DeleteObject', 'DeleteObjects', 'CopyObject', 'CreateMultipartUpload', 'UploadPart', 'UploadPartCopy', 'CompleteMultipartUpload', 'AbortMultipartUpload', 'ListParts', 'ListMultipartUploads', 'ListObjectVersions', 'GetObjectTagging', 'HeadBucket', 'GetBucketLocation', 'DeleteBucket']) {
      assert.ok(ops.has(op), `audit has ${op}`);
    }
    const bobDenied = records.filter((r) => r.body.actor?.name === 'bob' && r.body.outcome === 'denied');
    assert.ok(bobDenied.some((r) => r.body.action === 'download' && r.body.resource.includes('models/streamed')), 'a refused download is recorded');
    const failedAuth = records.filter((r) => r.body.action === 'authenticate' && r.body.resource.startsWith('s3:'));
    assert.ok(failedAuth.some((r) => r.body.reason === 'COFFER_S3_SIGNATURE_MISMATCH'));
    assert.ok(failedAuth.some((r) => r.body.reason === 'COFFER_AUTH_TOKEN_REVOKED'));
    assert.ok(failedAuth.some((r) => r.body.reason === 'COFFER_AUTH_REQUIRED'));
  });
});

void describe('S3 credentials expire', () => {
  let now = Date.now();
  let h: S3Harness;
  before(async () => {
    h = await startS3Harness({ clock: () => now });
  });
  after(async () => h?.close());

  void test('a stolen session past its expiry (at most one hour) is refused with ExpiredToken', async () => {
    const creds = await h.credentials(h.adminToken, 900);
    assert.ok(Date.parse(creds.expiration) - now <= 900_000);
    const client = sdkClient(h.s3Url, creds);
    await client.send(new ListBucketsCommand({}));
    now += 901_000;
    assert.deepEqual(await s3Error(client.send(new ListBucketsCommand({}))), { code: 'ExpiredToken', status: 400 });
    await assert.rejects(new S3CredentialsClient({ baseUrl: h.url, token: h.adminToken }).issue({ ttlSeconds: 7200 }), { code: 'COFFER_VALIDATION_FAILED' });
  });
});
