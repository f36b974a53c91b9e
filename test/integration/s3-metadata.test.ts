/**
 * User-defined object metadata (`x-amz-meta-*`) through the AWS SDK for JavaScript v3:
 * stored with each version by PutObject, CopyObject (COPY / REPLACE) and multipart
 * uploads, returned by GetObject and HeadObject, limited to 2 KB (MetadataTooLarge).
 * On SQLite, and on PostgreSQL (COFFER_TEST_PG_URL) as the other S3 tests.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  PutObjectCommand,
  UploadPartCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { s3Error, sdkClient } from './s3-client-helpers.js';
import { startS3Harness, type S3Harness } from './s3-harness.js';

const MIB = 1024 * 1024;
const pgUrl = process.env.COFFER_TEST_PG_URL;

function metadataSuite(name: string, options: { postgres: boolean }): void {
  const skip = options.postgres && !pgUrl ? (process.env.CI ? false : 'COFFER_TEST_PG_URL is not set') : false;
  void describe(`S3 user metadata (x-amz-meta-*) on ${name}`, { skip }, () => {
    let h: S3Harness;
    let s3: S3Client;
    const head = async (Key: string, VersionId?: string) => (await s3.send(new HeadObjectCommand({ Bucket: 'ml', Key, ...(VersionId ? { VersionId } : {}) }))).Metadata;
    before(async () => {
      if (options.postgres) assert.ok(pgUrl, 'COFFER_TEST_PG_URL is not set: CI must run the PostgreSQL suite');
      h = await startS3Harness(options.postgres ? { postgresUrl: pgUrl } : {});
      await h.admin.createProject({ name: 'ml' });
      s3 = sdkClient(h.s3Url, await h.credentials(h.adminToken));
    });
    after(async () => {
      s3?.destroy();
      await h?.close();
    });

    void test('PutObject stores the metadata with the version; GetObject and HeadObject return it (names lower-cased, coffer-* included)', async () => {
      const sent = { Purpose: 'sentinel-value-7f3a training run', 'Run-Id': 'r-42, r-43', 'coffer-kind': 'model' };
      const put = await s3.send(new PutObjectCommand({ Bucket: 'ml', Key: 'meta/a', Body: 'first', Metadata: sent }));
      assert.equal(put.VersionId, '1');
      const expected = { purpose: 'sentinel-value-7f3a training run', 'run-id': 'r-42, r-43', 'coffer-kind': 'model' };
      assert.deepEqual(await head('meta/a'), expected);
      const got = await s3.send(new GetObjectCommand({ Bucket: 'ml', Key: 'meta/a' }));
      assert.equal(await got.Body!.transformToString(), 'first');
      assert.deepEqual(got.Metadata, expected);
      const ranged = await s3.send(new GetObjectCommand({ Bucket: 'ml', Key: 'meta/a', Range: 'bytes=0-1' }));
      assert.equal(await ranged.Body!.transformToString(), 'fi');
      assert.deepEqual(ranged.Metadata, expected, 'a ranged GET carries the metadata too');
      assert.equal((await h.admin.showArtifact('ml', 'meta/a')).kind, 'model', 'coffer-kind still classifies the new artifact');

      // metadata belongs to a version: a new PUT without any has none, the old version keeps its own
      await s3.send(new PutObjectCommand({ Bucket: 'ml', Key: 'meta/a', Body: 'second' }));
      assert.deepEqual(await head('meta/a'), {});
      assert.deepEqual(await head('meta/a', '1'), expected);
      assert.deepEqual((await s3.send(new GetObjectCommand({ Bucket: 'ml', Key: 'meta/a', VersionId: '1' }))).Metadata, expected);

      // a version pushed through the REST API has no S3 facts, hence no user metadata
      const pushed = await h.admin.push('ml', 'meta/a', Readable.from([Buffer.from('rest')]), { size: 4 });
      assert.equal(pushed.number, 3);
      assert.deepEqual(await head('meta/a'), {});

      // values are the user's: never in the audit trail
      const audit = JSON.stringify(await h.audit());
      assert.ok(audit.includes('"PutObject"'));
      assert.ok(!audit.includes('sentinel-value-7f3a'), 'metadata values are not recorded');
    });

    void test('CopyObject: COPY (the default) keeps the source version\'s metadata, REPLACE takes the request\'s', async () => {
      await s3.send(new PutObjectCommand({ Bucket: 'ml', Key: 'copy/src', Body: 'v1', ContentType: 'text/x-one', Metadata: { origin: 'src-v1' } }));
      await s3.send(new PutObjectCommand({ Bucket: 'ml', Key: 'copy/src', Body: 'v2', ContentType: 'text/x-two', Metadata: { origin: 'src-v2', extra: 'e' } }));

      // default directive: the request's metadata is ignored
      await s3.send(new CopyObjectCommand({ Bucket: 'ml', Key: 'copy/default', CopySource: 'ml/copy/src', Metadata: { ignored: 'yes' } }));
      assert.deepEqual(await head('copy/default'), { origin: 'src-v2', extra: 'e' });
      assert.equal((await s3.send(new HeadObjectCommand({ Bucket: 'ml', Key: 'copy/default' }))).ContentType, 'text/x-two');
      await s3.send(new CopyObjectCommand({ Bucket: 'ml', Key: 'copy/explicit', CopySource: 'ml/copy/src?versionId=1', MetadataDirective: 'COPY', Metadata: { ignored: 'yes' } }));
      assert.deepEqual(await head('copy/explicit'), { origin: 'src-v1' }, 'the metadata of the version copied');

      const replaced = await s3.send(new CopyObjectCommand({ Bucket: 'ml', Key: 'copy/replaced', CopySource: 'ml/copy/src', MetadataDirective: 'REPLACE', ContentType: 'text/x-new', Metadata: { Fresh: '1' } }));
      assert.ok(replaced.CopyObjectResult?.ETag);
      const got = await s3.send(new GetObjectCommand({ Bucket: 'ml', Key: 'copy/replaced' }));
      assert.equal(await got.Body!.transformToString(), 'v2');
      assert.deepEqual(got.Metadata, { fresh: '1' });
      assert.equal(got.ContentType, 'text/x-new');
      // REPLACE without metadata clears it, as S3 does
      await s3.send(new CopyObjectCommand({ Bucket: 'ml', Key: 'copy/cleared', CopySource: 'ml/copy/src', MetadataDirective: 'REPLACE' }));
      assert.deepEqual(await head('copy/cleared'), {});

      // a copy onto the source key itself (a new version) follows the same rules
      await s3.send(new CopyObjectCommand({ Bucket: 'ml', Key: 'copy/src', CopySource: 'ml/copy/src', MetadataDirective: 'REPLACE', Metadata: { origin: 'self' } }));
      assert.deepEqual(await head('copy/src'), { origin: 'self' });
      assert.deepEqual(await head('copy/src', '2'), { origin: 'src-v2', extra: 'e' });

      assert.deepEqual(await s3Error(s3.send(new CopyObjectCommand({ Bucket: 'ml', Key: 'copy/bad', CopySource: 'ml/copy/src', MetadataDirective: 'MOVE' as never }))), { code: 'InvalidArgument', status: 400 });
      assert.deepEqual(
        await s3Error(s3.send(new CopyObjectCommand({ Bucket: 'ml', Key: 'copy/big', CopySource: 'ml/copy/src', MetadataDirective: 'REPLACE', Metadata: { k: 'x'.repeat(2048) } }))),
        { code: 'MetadataTooLarge', status: 400 },
      );
      // with COPY the request's headers are not the metadata: they are not measured either
      await s3.send(new CopyObjectCommand({ Bucket: 'ml', Key: 'copy/big', CopySource: 'ml/copy/src', Metadata: { k: 'x'.repeat(2048) } }));
      assert.deepEqual(await head('copy/big'), { origin: 'self' });
    });

    void test('multipart: the metadata of CreateMultipartUpload is the version\'s at Complete (lib-storage and by hand)', async () => {
      const data = Buffer.alloc(5 * MIB + 10, 7);
      const done = await new Upload({ client: s3, params: { Bucket: 'ml', Key: 'mp/lib', Body: data, Metadata: { Stage: 'lib-storage', 'coffer-tier': 'internal' } }, partSize: 5 * MIB }).done();
      assert.match(done.ETag ?? '', /-2"$/, 'a real multipart upload');
      const headed = await s3.send(new HeadObjectCommand({ Bucket: 'ml', Key: 'mp/lib' }));
      assert.deepEqual(headed.Metadata, { stage: 'lib-storage', 'coffer-tier': 'internal' });
      assert.equal(headed.ContentLength, data.length);

      const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: 'ml', Key: 'mp/manual', Metadata: { stage: 'by hand' } }));
      const part = await s3.send(new UploadPartCommand({ Bucket: 'ml', Key: 'mp/manual', UploadId, PartNumber: 1, Body: 'only part' }));
      await s3.send(new CompleteMultipartUploadCommand({ Bucket: 'ml', Key: 'mp/manual', UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag }] } }));
      const got = await s3.send(new GetObjectCommand({ Bucket: 'ml', Key: 'mp/manual' }));
      assert.equal(await got.Body!.transformToString(), 'only part');
      assert.deepEqual(got.Metadata, { stage: 'by hand' });
      assert.equal(got.PartsCount, 1);

      const none = await s3.send(new CreateMultipartUploadCommand({ Bucket: 'ml', Key: 'mp/none' }));
      const p = await s3.send(new UploadPartCommand({ Bucket: 'ml', Key: 'mp/none', UploadId: none.UploadId, PartNumber: 1, Body: 'x' }));
      await s3.send(new CompleteMultipartUploadCommand({ Bucket: 'ml', Key: 'mp/none', UploadId: none.UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: p.ETag }] } }));
      assert.deepEqual(await head('mp/none'), {});

      assert.deepEqual(await s3Error(s3.send(new CreateMultipartUploadCommand({ Bucket: 'ml', Key: 'mp/too-large', Metadata: { k: 'x'.repeat(2048) } }))), { code: 'MetadataTooLarge', status: 400 });
      const uploads = await s3.send(new ListMultipartUploadsCommand({ Bucket: 'ml', Prefix: 'mp/too-large' }));
      assert.deepEqual(uploads.Uploads ?? [], [], 'no upload was created');
    });

    void test('MetadataTooLarge: 2 KB of names and values (without the x-amz-meta- prefix) is accepted, one byte more is refused and stores nothing', async () => {
      const exactly = { k: 'v'.repeat(2047) };
      await s3.send(new PutObjectCommand({ Bucket: 'ml', Key: 'limit/exact', Body: 'x', Metadata: exactly }));
      assert.deepEqual(await head('limit/exact'), exactly);
      assert.deepEqual(await s3Error(s3.send(new PutObjectCommand({ Bucket: 'ml', Key: 'limit/over', Body: 'x', Metadata: { k: 'v'.repeat(2048) } }))), { code: 'MetadataTooLarge', status: 400 });
      // names count: 2 + 1000 + 2 + 1044 = 2048, then one more byte of value
      const split = { ab: 'x'.repeat(1000), cd: 'y'.repeat(1044) };
      await s3.send(new PutObjectCommand({ Bucket: 'ml', Key: 'limit/split', Body: 'x', Metadata: split }));
      assert.deepEqual(await head('limit/split'), split);
      assert.deepEqual(await s3Error(s3.send(new PutObjectCommand({ Bucket: 'ml', Key: 'limit/over', Body: 'x', Metadata: { ...split, cd: 'y'.repeat(1045) } }))), { code: 'MetadataTooLarge', status: 400 });
      // nothing stored, not even the artifact of the refused key
      assert.equal((await s3Error(s3.send(new HeadObjectCommand({ Bucket: 'ml', Key: 'limit/over' })))).status, 404);
      await assert.rejects(h.admin.showArtifact('ml', 'limit/over'), { code: 'COFFER_NOT_FOUND' });
      // an existing object keeps its version when a PUT over it is refused
      assert.deepEqual(await s3Error(s3.send(new PutObjectCommand({ Bucket: 'ml', Key: 'limit/exact', Body: 'y', Metadata: { k: 'v'.repeat(2048) } }))), { code: 'MetadataTooLarge', status: 400 });
      const still = await s3.send(new HeadObjectCommand({ Bucket: 'ml', Key: 'limit/exact' }));
      assert.equal(still.VersionId, '1');
      assert.deepEqual(still.Metadata, exactly);
    });
  });
}

metadataSuite('SQLite', { postgres: false });
metadataSuite('PostgreSQL', { postgres: true });
