/** The S3 endpoint on PostgreSQL (COFFER_TEST_PG_URL): the same operations, the other dialect. */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { DeleteObjectCommand, GetObjectCommand, ListObjectVersionsCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { s3Error, sdkClient } from './s3-client-helpers.js';
import { startS3Harness, type S3Harness } from './s3-harness.js';

const pgUrl = process.env.COFFER_TEST_PG_URL;

void describe('S3 endpoint on PostgreSQL', { skip: pgUrl ? false : process.env.CI ? false : 'COFFER_TEST_PG_URL is not set' }, () => {
  let h: S3Harness;
  let s3: S3Client;
  before(async () => {
    assert.ok(pgUrl, 'COFFER_TEST_PG_URL is not set: CI must run the PostgreSQL suite');
    h = await startS3Harness({ postgresUrl: pgUrl });
    await h.admin.createProject({ name: 'ml' });
    s3 = sdkClient(h.s3Url, await h.credentials(h.adminToken));
  });
  after(async () => {
    s3?.destroy();
    await h?.close();
  });

  void test('put, list with delimiter in byte order, multipart, delete marker, versions', async () => {
    for (const Key of ['z/1', 'a b/1', 'A/1', 'a/2', 'a/1', '_x']) await s3.send(new PutObjectCommand({ Bucket: 'ml', Key, Body: Key }));
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: 'ml', Delimiter: '/' }));
    assert.deepEqual(listed.CommonPrefixes?.map((p) => p.Prefix), ['A/', 'a b/', 'a/', 'z/'], 'bytewise order, as on SQLite');
    assert.deepEqual(listed.Contents?.map((c) => c.Key), ['_x']);
    const data = randomBytes(11 * 1024 * 1024);
    await new Upload({ client: s3, params: { Bucket: 'ml', Key: 'mp/big', Body: data }, partSize: 5 * 1024 * 1024 }).done();
    assert.deepEqual(Buffer.from(await (await s3.send(new GetObjectCommand({ Bucket: 'ml', Key: 'mp/big' }))).Body!.transformToByteArray()), data);
    await s3.send(new DeleteObjectCommand({ Bucket: 'ml', Key: 'a/1' }));
    assert.equal((await s3Error(s3.send(new GetObjectCommand({ Bucket: 'ml', Key: 'a/1' })))).code, 'NoSuchKey');
    const versions = await s3.send(new ListObjectVersionsCommand({ Bucket: 'ml', Prefix: 'a/1' }));
    assert.equal(versions.DeleteMarkers?.length, 1);
    assert.equal(versions.Versions?.length, 1);
  });
});
