/**
 * S3 write semantics of issue 13 through the AWS SDK for JavaScript v3, on SQLite and on
 * PostgreSQL (COFFER_TEST_PG_URL): conditional writes (If-None-Match: *, If-Match) on
 * PutObject and CompleteMultipartUpload, atomic under a race; a repeated Complete answers
 * as the first; content headers kept; CopyObject onto itself; UploadPartCopy past the end;
 * malformed checksums.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectAttributesCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectVersionsCommand,
  PutObjectCommand,
  UploadPartCommand,
  UploadPartCopyCommand,
  type CompletedPart,
  type S3Client,
} from '@aws-sdk/client-s3';
import type { S3Credentials } from '../../src/client/s3-client.js';
import { sendSigned, signS3 } from '../support/s3-signer.js';
import { s3Error, sdkClient } from './s3-client-helpers.js';
import { startS3Harness, type S3Harness } from './s3-harness.js';

const MIB = 1024 * 1024;
const pgUrl = process.env.COFFER_TEST_PG_URL;

function suite(name: string, postgresUrl: string | undefined, skip: string | false): void {
  void describe(`S3 conditional writes and Complete semantics on ${name}`, { skip }, () => {
    let h: S3Harness;
    let s3: S3Client;
    let bob: S3Client;
    let eve: S3Client;
    let adminCreds: S3Credentials;
    before(async () => {
      h = await startS3Harness(postgresUrl ? { postgresUrl } : {});
      await h.admin.createProject({ name: 'ml' });
      adminCreds = await h.credentials(h.adminToken);
      s3 = sdkClient(h.s3Url, adminCreds);
      const bobToken = await h.user('bob');
      await h.admin.createGrant({ principal: 'bob', role: 'writer', project: 'ml' });
      bob = sdkClient(h.s3Url, await h.credentials(bobToken));
      eve = sdkClient(h.s3Url, await h.credentials(await h.user('eve')));
    });
    after(async () => {
      for (const c of [s3, bob, eve]) c?.destroy();
      await h?.close();
    });
    const body = async (Key: string) => (await (await s3.send(new GetObjectCommand({ Bucket: 'ml', Key }))).Body!.transformToString());
    const versions = async (Key: string) => ((await s3.send(new ListObjectVersionsCommand({ Bucket: 'ml', Prefix: Key }))).Versions ?? []).filter((v) => v.Key === Key).length;
    const multipart = async (client: S3Client, Key: string, data: Buffer, create: Partial<ConstructorParameters<typeof CreateMultipartUploadCommand>[0]> = {}) => {
      const { UploadId } = await client.send(new CreateMultipartUploadCommand({ Bucket: 'ml', Key, ...create }));
      const parts: CompletedPart[] = [];
      for (let i = 0, n = 1; i < data.length; i += 5 * MIB, n++) {
        const r = await client.send(new UploadPartCommand({ Bucket: 'ml', Key, UploadId, PartNumber: n, Body: data.subarray(i, i + 5 * MIB) }));
        parts.push({ PartNumber: n, ETag: r.ETag });
      }
      return { UploadId: UploadId!, parts };
    };

    void test('PutObject If-None-Match: * writes only a new key; If-Match only over the ETag given (412 otherwise, nothing written)', async () => {
      const first = await s3.send(new PutObjectCommand({ Bucket: 'ml', Key: 'cond/a', Body: 'one', IfNoneMatch: '*' }));
      assert.equal(first.VersionId, '1');
      assert.deepEqual(await s3Error(s3.send(new PutObjectCommand({ Bucket: 'ml', Key: 'cond/a', Body: 'two', IfNoneMatch: '*' }))), { code: 'PreconditionFailed', status: 412 });
      assert.deepEqual(await s3Error(s3.send(new PutObjectCommand({ Bucket: 'ml', Key: 'cond/a', Body: 'two', IfMatch: '"0123456789abcdef0123456789abcdef"' }))), { code: 'PreconditionFailed', status: 412 });
      assert.equal(await body('cond/a'), 'one');
      assert.equal(await versions('cond/a'), 1, 'a refused conditional write stores no version');
      const second = await s3.send(new PutObjectCommand({ Bucket: 'ml', Key: 'cond/a', Body: 'two', IfMatch: first.ETag }));
      assert.equal(second.VersionId, '2');
      assert.equal(await body('cond/a'), 'two');
      // If-Match on a key with no current object: NoSuchKey, as S3
      assert.deepEqual(await s3Error(s3.send(new PutObjectCommand({ Bucket: 'ml', Key: 'cond/none', Body: 'x', IfMatch: '*' }))), { code: 'NoSuchKey', status: 404 });
      // a deleted key (delete marker) has no current object: If-None-Match: * writes it again
      await s3.send(new DeleteObjectCommand({ Bucket: 'ml', Key: 'cond/a' }));
      assert.deepEqual(await s3Error(s3.send(new PutObjectCommand({ Bucket: 'ml', Key: 'cond/a', Body: 'three', IfMatch: second.ETag }))), { code: 'NoSuchKey', status: 404 });
      assert.equal((await s3.send(new PutObjectCommand({ Bucket: 'ml', Key: 'cond/a', Body: 'three', IfNoneMatch: '*' }))).VersionId, '3');
      // only `*` means anything in If-None-Match on a write
      assert.deepEqual(await s3Error(s3.send(new PutObjectCommand({ Bucket: 'ml', Key: 'cond/a', Body: 'four', IfNoneMatch: second.ETag }))), { code: 'NotImplemented', status: 501 });
      const refusals = (await h.audit()).filter((r) => r.body.context.s3 === 'PutObject' && r.body.outcome === 'failure' && r.body.context.condition !== undefined);
      assert.ok(refusals.length >= 1, 'refused conditional writes are on the record');
    });

    void test('a race of concurrent If-None-Match: * PUTs of one new key: exactly one wins, every other is 412', async () => {
      for (let round = 0; round < 3; round++) {
        const Key = `race/put-${round}`;
        const outcomes = await Promise.all(
          Array.from({ length: 8 }, (_, i) =>
            (i % 2 === 0 ? s3 : bob).send(new PutObjectCommand({ Bucket: 'ml', Key, Body: `writer-${i}`, IfNoneMatch: '*' })).then(
              () => `ok:${i}`,
              (err: { Code?: string; name?: string }) => err.Code ?? err.name ?? 'error',
            ),
          ),
        );
        const winners = outcomes.filter((o) => o.startsWith('ok:'));
        assert.equal(winners.length, 1, `exactly one wins: ${outcomes.join(', ')}`);
        for (const o of outcomes.filter((x) => !x.startsWith('ok:'))) assert.equal(o, 'PreconditionFailed');
        assert.equal(await versions(Key), 1);
        assert.equal(await body(Key), `writer-${winners[0]!.slice(3)}`);
      }
    });

    void test('CompleteMultipartUpload honours If-None-Match: * (412, the upload stays for a plain retry) and races atomically with a PUT', async () => {
      await s3.send(new PutObjectCommand({ Bucket: 'ml', Key: 'cond/mp', Body: 'existing' }));
      const data = randomBytes(5 * MIB + 3);
      const { UploadId, parts } = await multipart(s3, 'cond/mp', data);
      const complete = (extra: Partial<ConstructorParameters<typeof CompleteMultipartUploadCommand>[0]> = {}) =>
        s3.send(new CompleteMultipartUploadCommand({ Bucket: 'ml', Key: 'cond/mp', UploadId, MultipartUpload: { Parts: parts }, ...extra }));
      assert.deepEqual(await s3Error(complete({ IfNoneMatch: '*' })), { code: 'PreconditionFailed', status: 412 });
      assert.equal(await body('cond/mp'), 'existing');
      const current = await s3.send(new HeadObjectCommand({ Bucket: 'ml', Key: 'cond/mp' }));
      const done = await complete({ IfMatch: current.ETag });
      assert.equal(done.VersionId, '2');
      assert.deepEqual(Buffer.from(await (await s3.send(new GetObjectCommand({ Bucket: 'ml', Key: 'cond/mp' }))).Body!.transformToByteArray()), data);

      // Complete vs PUT, both If-None-Match: * on a new key: one wins
      for (let round = 0; round < 2; round++) {
        const Key = `race/mp-${round}`;
        const up = await multipart(s3, Key, randomBytes(MIB));
        const outcomes = await Promise.all([
          s3.send(new CompleteMultipartUploadCommand({ Bucket: 'ml', Key, UploadId: up.UploadId, MultipartUpload: { Parts: up.parts }, IfNoneMatch: '*' })).then(() => 'ok', (e: { Code?: string; name?: string }) => e.Code ?? e.name ?? 'error'),
          bob.send(new PutObjectCommand({ Bucket: 'ml', Key, Body: 'put', IfNoneMatch: '*' })).then(() => 'ok', (e: { Code?: string; name?: string }) => e.Code ?? e.name ?? 'error'),
        ]);
        assert.equal(outcomes.filter((o) => o === 'ok').length, 1, outcomes.join(', '));
        assert.ok(outcomes.every((o) => o === 'ok' || o === 'PreconditionFailed'), outcomes.join(', '));
        assert.equal(await versions(Key), 1);
      }
    });

    void test('a repeated Complete answers as the first (ETag, version id); another user, key or upload id gets nothing', async () => {
      const data = randomBytes(6 * MIB);
      const { UploadId, parts } = await multipart(bob, 'again/obj', data);
      const complete = (client: S3Client, Key = 'again/obj') => client.send(new CompleteMultipartUploadCommand({ Bucket: 'ml', Key, UploadId, MultipartUpload: { Parts: parts } }));
      const first = await complete(bob);
      const second = await complete(bob);
      assert.equal(second.ETag, first.ETag);
      assert.equal(second.VersionId, first.VersionId);
      assert.equal(await versions('again/obj'), 1, 'the retry commits nothing');
      // the same upload id under another key, or by a user with no grant: not this upload
      assert.equal((await s3Error(complete(bob, 'again/other'))).code, 'NoSuchUpload');
      const foreign = await s3Error(complete(eve));
      assert.ok(foreign.code === 'NoSuchBucket' || foreign.code === 'NoSuchUpload' || foreign.code === 'AccessDenied', foreign.code);
      assert.notEqual(foreign.status, 200);
      // a new object after it: the retry still names the version it completed as
      await s3.send(new PutObjectCommand({ Bucket: 'ml', Key: 'again/obj', Body: 'newer' }));
      const third = await complete(bob);
      assert.equal(third.VersionId, first.VersionId);
      assert.equal(await versions('again/obj'), 2);
      assert.equal((await s3Error(s3.send(new CompleteMultipartUploadCommand({ Bucket: 'ml', Key: 'again/obj', UploadId: 'mpu_neverexisted', MultipartUpload: { Parts: parts } })))).code, 'NoSuchUpload');
    });

    void test('content headers are kept by PUT, multipart and copy, returned by GET and HEAD; response-* overrides on GET', async () => {
      const headers = { CacheControl: 'max-age=3600, public', ContentDisposition: 'attachment; filename="model.bin"', ContentEncoding: 'gzip', ContentLanguage: 'en-GB', Expires: new Date('2030-01-01T00:00:00Z') };
      await s3.send(new PutObjectCommand({ Bucket: 'ml', Key: 'hdr/put', Body: 'x', ...headers }));
      const check = (r: { CacheControl?: string; ContentDisposition?: string; ContentEncoding?: string; ContentLanguage?: string; Expires?: Date }, what: string) => {
        assert.equal(r.CacheControl, headers.CacheControl, what);
        assert.equal(r.ContentDisposition, headers.ContentDisposition, what);
        assert.equal(r.ContentEncoding, headers.ContentEncoding, what);
        assert.equal(r.ContentLanguage, headers.ContentLanguage, what);
        assert.equal(r.Expires?.getTime(), headers.Expires.getTime(), what);
      };
      check(await s3.send(new HeadObjectCommand({ Bucket: 'ml', Key: 'hdr/put' })), 'HEAD after PUT');
      check(await s3.send(new GetObjectCommand({ Bucket: 'ml', Key: 'hdr/put' })), 'GET after PUT');
      const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: 'ml', Key: 'hdr/mp', ...headers }));
      const part = await s3.send(new UploadPartCommand({ Bucket: 'ml', Key: 'hdr/mp', UploadId, PartNumber: 1, Body: 'small' }));
      await s3.send(new CompleteMultipartUploadCommand({ Bucket: 'ml', Key: 'hdr/mp', UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag }] } }));
      check(await s3.send(new HeadObjectCommand({ Bucket: 'ml', Key: 'hdr/mp' })), 'multipart');
      await s3.send(new CopyObjectCommand({ Bucket: 'ml', Key: 'hdr/copy', CopySource: 'ml/hdr/put' }));
      check(await s3.send(new HeadObjectCommand({ Bucket: 'ml', Key: 'hdr/copy' })), 'copy (COPY directive)');
      await s3.send(new CopyObjectCommand({ Bucket: 'ml', Key: 'hdr/replaced', CopySource: 'ml/hdr/put', MetadataDirective: 'REPLACE', CacheControl: 'no-store' }));
      const replaced = await s3.send(new HeadObjectCommand({ Bucket: 'ml', Key: 'hdr/replaced' }));
      assert.equal(replaced.CacheControl, 'no-store');
      assert.equal(replaced.ContentDisposition, undefined, 'REPLACE takes only the request\'s headers');
      const overridden = await s3.send(new GetObjectCommand({ Bucket: 'ml', Key: 'hdr/put', ResponseCacheControl: 'no-cache', ResponseContentDisposition: 'inline' }));
      assert.equal(overridden.CacheControl, 'no-cache');
      assert.equal(overridden.ContentDisposition, 'inline');
      assert.equal(overridden.ContentLanguage, 'en-GB');
      // a new version without them has none: they belong to the version
      await s3.send(new PutObjectCommand({ Bucket: 'ml', Key: 'hdr/put', Body: 'y' }));
      assert.equal((await s3.send(new HeadObjectCommand({ Bucket: 'ml', Key: 'hdr/put' }))).CacheControl, undefined);
      assert.equal((await s3.send(new HeadObjectCommand({ Bucket: 'ml', Key: 'hdr/put', VersionId: '1' }))).CacheControl, headers.CacheControl);
    });

    void test('CopyObject onto itself without REPLACE is InvalidRequest; UploadPartCopy past the end is InvalidRange; malformed checksums refused', async () => {
      await s3.send(new PutObjectCommand({ Bucket: 'ml', Key: 'self/a', Body: '0123456789' }));
      assert.deepEqual(await s3Error(s3.send(new CopyObjectCommand({ Bucket: 'ml', Key: 'self/a', CopySource: 'ml/self/a' }))), { code: 'InvalidRequest', status: 400 });
      assert.equal(await versions('self/a'), 1);
      const replaced = await s3.send(new CopyObjectCommand({ Bucket: 'ml', Key: 'self/a', CopySource: 'ml/self/a', MetadataDirective: 'REPLACE', Metadata: { touched: 'yes' } }));
      assert.equal(replaced.VersionId, '2');
      // restoring an older version onto the key is a copy of another version: allowed
      assert.equal((await s3.send(new CopyObjectCommand({ Bucket: 'ml', Key: 'self/a', CopySource: 'ml/self/a?versionId=1' }))).VersionId, '3');

      const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: 'ml', Key: 'self/mp' }));
      assert.deepEqual(await s3Error(s3.send(new UploadPartCopyCommand({ Bucket: 'ml', Key: 'self/mp', UploadId, PartNumber: 1, CopySource: 'ml/self/a', CopySourceRange: 'bytes=5-10' }))), { code: 'InvalidRange', status: 416 });
      assert.equal((await s3Error(s3.send(new UploadPartCopyCommand({ Bucket: 'ml', Key: 'self/mp', UploadId, PartNumber: 1, CopySource: 'ml/self/a', CopySourceRange: 'bytes=9-2' })))).code, 'InvalidArgument');
      // a missing source is NoSuchKey, never an InvalidRange
      assert.equal((await s3Error(s3.send(new UploadPartCopyCommand({ Bucket: 'ml', Key: 'self/mp', UploadId, PartNumber: 1, CopySource: 'ml/self/missing', CopySourceRange: 'bytes=5-100' })))).code, 'NoSuchKey');

      // base64 of a digest of the wrong length can never match: BadDigest; text that is not base64: InvalidRequest
      assert.deepEqual(await s3Error(s3.send(new PutObjectCommand({ Bucket: 'ml', Key: 'sum/a', Body: 'x', ChecksumSHA256: Buffer.alloc(31).toString('base64') }))), { code: 'BadDigest', status: 400 });
      assert.deepEqual(await s3Error(s3.send(new PutObjectCommand({ Bucket: 'ml', Key: 'sum/a', Body: 'x', ChecksumCRC32: 'not base64!' }))), { code: 'InvalidRequest', status: 400 });
      const up = await multipart(s3, 'sum/mp', randomBytes(1000), { ChecksumType: 'FULL_OBJECT', ChecksumAlgorithm: 'CRC64NVME' });
      assert.equal((await s3Error(s3.send(new CompleteMultipartUploadCommand({ Bucket: 'ml', Key: 'sum/mp', UploadId: up.UploadId, MultipartUpload: { Parts: up.parts }, ChecksumSHA256: 'AAAA' })))).status, 400);
      const composite = await multipart(s3, 'sum/mp2', randomBytes(1000));
      assert.equal((await s3Error(s3.send(new CompleteMultipartUploadCommand({ Bucket: 'ml', Key: 'sum/mp2', UploadId: composite.UploadId, MultipartUpload: { Parts: composite.parts }, ChecksumSHA256: 'bad=sha' })))).status, 400, 'a malformed full-object SHA256 is refused on any upload');
      for (const k of ['sum/a', 'sum/mp', 'sum/mp2']) assert.equal((await s3Error(s3.send(new HeadObjectCommand({ Bucket: 'ml', Key: k })))).status, 404);
    });

    void test('GetObjectAttributes: ETag, Checksum, ObjectParts (paged), StorageClass, ObjectSize; hidden objects NoSuchKey; bad attribute names refused', async () => {
      const data = randomBytes(11 * MIB);
      const up = await multipart(s3, 'attr/mp', data);
      const done = await s3.send(new CompleteMultipartUploadCommand({ Bucket: 'ml', Key: 'attr/mp', UploadId: up.UploadId, MultipartUpload: { Parts: up.parts } }));
      const all = await s3.send(new GetObjectAttributesCommand({ Bucket: 'ml', Key: 'attr/mp', ObjectAttributes: ['ETag', 'Checksum', 'ObjectParts', 'StorageClass', 'ObjectSize'] }));
      assert.equal(`"${all.ETag}"`, done.ETag, 'the ETag, unquoted as S3 gives it');
      assert.equal(all.ObjectSize, data.length);
      assert.equal(all.StorageClass, 'STANDARD');
      assert.equal(all.VersionId, done.VersionId);
      assert.equal(all.ObjectParts?.TotalPartsCount, 3);
      assert.deepEqual(all.ObjectParts?.Parts?.map((p) => [p.PartNumber, p.Size]), [[1, 5 * MIB], [2, 5 * MIB], [3, MIB]]);
      const paged = await s3.send(new GetObjectAttributesCommand({ Bucket: 'ml', Key: 'attr/mp', ObjectAttributes: ['ObjectParts'], MaxParts: 1, PartNumberMarker: '1' }));
      assert.deepEqual(paged.ObjectParts?.Parts?.map((p) => p.PartNumber), [2]);
      assert.equal(paged.ObjectParts?.IsTruncated, true);
      assert.equal(paged.ObjectSize, undefined, 'only what was asked');
      await s3.send(new PutObjectCommand({ Bucket: 'ml', Key: 'attr/one', Body: 'x', ChecksumAlgorithm: 'SHA256' }));
      const one = await s3.send(new GetObjectAttributesCommand({ Bucket: 'ml', Key: 'attr/one', ObjectAttributes: ['Checksum', 'ObjectParts'] }));
      assert.equal(one.Checksum?.ChecksumSHA256, Buffer.from('2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881', 'hex').toString('base64'));
      assert.equal(one.ObjectParts, undefined, 'a single PUT has no parts');
      assert.equal((await s3Error(s3.send(new GetObjectAttributesCommand({ Bucket: 'ml', Key: 'attr/one', ObjectAttributes: ['Bogus' as 'ETag'] })))).code, 'InvalidArgument');
      // a user without a grant: NoSuchKey, whether the object exists or not
      assert.deepEqual(await s3Error(eve.send(new GetObjectAttributesCommand({ Bucket: 'ml', Key: 'attr/one', ObjectAttributes: ['ObjectSize'] }))), await s3Error(eve.send(new GetObjectAttributesCommand({ Bucket: 'ml', Key: 'attr/none', ObjectAttributes: ['ObjectSize'] }))));
    });

    void test('presigned X-Amz-Expires of 0, negative or over 7 days: 403 AccessDenied; 7 days exactly is accepted', async () => {
      await s3.send(new PutObjectCommand({ Bucket: 'ml', Key: 'presign/a', Body: 'presigned' }));
      const host = new URL(h.s3Url).host;
      const get = (expires: string) => sendSigned(h.s3Url, signS3(adminCreds, { method: 'GET', path: '/ml/presign/a', presign: true, host, expires }));
      for (const expires of ['0', '-5', '604801', '99999999']) {
        const r = await get(expires);
        assert.equal(r.status, 403, `X-Amz-Expires=${expires}`);
        assert.match(r.text, /<Code>AccessDenied<\/Code>/);
      }
      const ok = await get('604800');
      assert.equal(ok.status, 200);
      assert.equal(ok.text, 'presigned');
      assert.equal((await get('abc')).status, 400, 'not a number is malformed');
    });
  });
}

suite('SQLite', undefined, false);
suite('PostgreSQL', pgUrl, pgUrl ? false : process.env.CI ? false : 'COFFER_TEST_PG_URL is not set');
