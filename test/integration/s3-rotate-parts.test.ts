/**
 * `coffer keys rotate` rewraps the data keys of the sealed parts of open multipart
 * uploads, not only those of versions: an upload left open across a rotation and the
 * retirement of the old key term still completes, with the right bytes. On SQLite, and
 * on PostgreSQL with COFFER_TEST_PG_URL.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import {
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  UploadPartCommand,
  type CompletedPart,
  type S3Client,
} from '@aws-sdk/client-s3';
import type { S3UploadPart } from '../../src/store/s3-store.js';
import { s3Error, sdkClient } from './s3-client-helpers.js';
import { startS3Harness, type S3Harness } from './s3-harness.js';

const MIB = 1024 * 1024;
const pgUrl = process.env.COFFER_TEST_PG_URL;

function suite(name: string, postgresUrl: string | undefined, skip: string | false): void {
  void describe(`key rotation and open multipart uploads on ${name}`, { skip }, () => {
    let h: S3Harness;
    let s3: S3Client;
    /** An SDK client with fresh credentials (a credential's secret is wrapped under the term current at its issue). */
    const client = async () => {
      s3?.destroy();
      s3 = sdkClient(h.s3Url, await h.credentials(h.adminToken));
    };
    before(async () => {
      h = await startS3Harness(postgresUrl ? { postgresUrl } : {});
      await h.admin.createProject({ name: 'ml' });
      await client();
    });
    after(async () => {
      s3?.destroy();
      await h?.close();
    });

    const parts = (uploadId: string): Promise<S3UploadPart[]> => h.runtime.s3.ctx.store.listParts(uploadId);
    const get = async (Key: string) => Buffer.from(await (await s3.send(new GetObjectCommand({ Bucket: 'ml', Key }))).Body!.transformToByteArray());
    const start = async (Key: string, bodies: Buffer[]) => {
      const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: 'ml', Key }));
      const done: CompletedPart[] = [];
      for (const [i, Body] of bodies.entries()) {
        const r = await s3.send(new UploadPartCommand({ Bucket: 'ml', Key, UploadId, PartNumber: i + 1, Body }));
        done.push({ PartNumber: i + 1, ETag: r.ETag });
      }
      return { UploadId: UploadId!, done };
    };

    void test('parts sealed under a term are rewrapped by rotate, and the upload completes once that term is retired', async () => {
      const data = randomBytes(5 * MIB + 4321);
      const single = randomBytes(1000);
      await s3.send(new PutObjectCommand({ Bucket: 'ml', Key: 'rotate/single.bin', Body: single }));
      const { UploadId, done } = await start('rotate/model.bin', [data.subarray(0, 5 * MIB), data.subarray(5 * MIB)]);
      // a second open upload, abandoned for now, completed after a second rotation
      const other = randomBytes(3000);
      const second = await start('rotate/other.bin', [other]);
      const term = h.runtime.keyring.currentTerm;
      const sealed = await parts(UploadId);
      assert.deepEqual(
        sealed.map((p) => p.keyTerm),
        [term, term],
      );

      const rotated = await h.admin.rotateKeys();
      assert.equal(rotated.term, term + 1);
      assert.equal(rotated.rewrapped, 4, 'the version and the three parts');
      const rewrapped = await parts(UploadId);
      assert.deepEqual(
        rewrapped.map((p) => [p.partNumber, p.keyTerm]),
        [
          [1, term + 1],
          [2, term + 1],
        ],
      );
      assert.deepEqual(
        rewrapped.map((p) => ({ ...p, wrappedKey: null, keyTerm: null })),
        sealed.map((p) => ({ ...p, wrappedKey: null, keyTerm: null })),
        'only the wrapped key and its term changed',
      );
      assert.deepEqual((await parts(second.UploadId)).map((p) => p.keyTerm), [term + 1]);
      assert.equal(await h.runtime.s3.ctx.store.listPartsNotUnderTerm(term + 1, 100).then((l) => l.length), 0);

      // the old KEK is destroyed: what still needed it would now be unreadable
      await h.runtime.keyring.retireTerm(term);
      assert.equal(h.runtime.keyring.terms().find((t) => t.term === term)?.retired, true);
      // credentials issued under the retired term are refused as unknown, not a server error
      assert.deepEqual(await s3Error(s3.send(new ListObjectsV2Command({ Bucket: 'ml' }))), { code: 'InvalidAccessKeyId', status: 403 });
      await client();
      const completed = await s3.send(new CompleteMultipartUploadCommand({ Bucket: 'ml', Key: 'rotate/model.bin', UploadId, MultipartUpload: { Parts: done } }));
      assert.equal(completed.VersionId, '1');
      const got = await get('rotate/model.bin');
      assert.equal(got.length, data.length);
      assert.equal(createHash('sha256').update(got).digest('hex'), createHash('sha256').update(data).digest('hex'));
      assert.deepEqual(await get('rotate/single.bin'), single, 'the version rewrapped in the same pass reads too');

      // a second rotation and retirement: the upload still open is carried along again
      const again = await h.admin.rotateKeys();
      assert.equal(again.term, term + 2);
      assert.deepEqual((await parts(second.UploadId)).map((p) => p.keyTerm), [term + 2]);
      await h.runtime.keyring.retireTerm(term + 1);
      await client();
      await s3.send(new CompleteMultipartUploadCommand({ Bucket: 'ml', Key: 'rotate/other.bin', UploadId: second.UploadId, MultipartUpload: { Parts: second.done } }));
      assert.deepEqual(await get('rotate/other.bin'), other);
      assert.deepEqual(await get('rotate/model.bin'), data);
    });
  });
}

suite('SQLite', undefined, false);
suite('PostgreSQL', pgUrl, pgUrl ? false : process.env.CI ? false : 'COFFER_TEST_PG_URL is not set');
