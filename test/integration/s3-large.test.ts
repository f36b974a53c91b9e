/**
 * 100 MiB through the S3 endpoint, byte for byte: boto3 (upload_file multipart with 4
 * threads, download_file with parallel ranged GETs) and the JS SDK (lib-storage Upload,
 * streamed GetObject). The server's memory stays flat: nothing buffers whole objects or parts.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { GetObjectCommand, HeadObjectCommand } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { sdkClient } from './s3-client-helpers.js';
import { clientEnv, pythonClientsMissing, runScript } from './s3-python.js';
import { startS3Harness, type S3Harness } from './s3-harness.js';

const MIB = 1024 * 1024;
const SIZE = 100 * MIB;

/** A deterministic 100 MiB stream (a 1 MiB random block, each copy tagged with its index), and its SHA-256. */
function source(): { stream: () => Readable; sha256: string } {
  const block = randomBytes(MIB);
  const piece = (i: number) => {
    const b = Buffer.from(block);
    b.writeUInt32BE(i, 0);
    return b;
  };
  const hash = createHash('sha256');
  for (let i = 0; i < SIZE / MIB; i++) hash.update(piece(i));
  return {
    stream: () =>
      Readable.from(
        (function* () {
          for (let i = 0; i < SIZE / MIB; i++) yield piece(i);
        })(),
      ),
    sha256: hash.digest('hex'),
  };
}

void describe('100 MiB round trips', () => {
  let h: S3Harness;
  before(async () => {
    h = await startS3Harness();
    await h.admin.createProject({ name: 'ml' });
  });
  after(async () => h?.close());

  void test('boto3 upload_file (multipart) and download_file (parallel ranged GETs) of 100 MiB, byte for byte', { skip: pythonClientsMissing() ?? false }, async () => {
    const r = await runScript<{ same: boolean; size: number; etag: string }>('big_roundtrip.py', clientEnv(h.s3Url, 'ml', await h.credentials(h.adminToken)), 170_000);
    assert.equal(r.same, true);
    assert.equal(r.size, SIZE);
    assert.match(r.etag, /^"[0-9a-f]{32}-7"$/);
  });

  void test('JS lib-storage Upload and a streamed GetObject of 100 MiB, byte for byte, server memory flat', async () => {
    const s3 = sdkClient(h.s3Url, await h.credentials(h.adminToken));
    const src = source();
    const rssBefore = process.memoryUsage().rss;
    let peak = rssBefore;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 50);
    try {
      await new Upload({ client: s3, params: { Bucket: 'ml', Key: 'big/js-100mib.bin', Body: src.stream() }, partSize: 16 * MIB, queueSize: 2 }).done();
      assert.equal((await s3.send(new HeadObjectCommand({ Bucket: 'ml', Key: 'big/js-100mib.bin' }))).ContentLength, SIZE);
      const got = await s3.send(new GetObjectCommand({ Bucket: 'ml', Key: 'big/js-100mib.bin' }));
      const hash = createHash('sha256');
      let n = 0;
      for await (const chunk of got.Body as Readable) {
        hash.update(chunk as Buffer);
        n += (chunk as Buffer).length;
      }
      assert.equal(n, SIZE);
      assert.equal(hash.digest('hex'), src.sha256);
    } finally {
      clearInterval(sampler);
      s3.destroy();
    }
    // client and server share this process: the client holds 2 parts of 16 MiB at most; the server must add little
    assert.ok(peak - rssBefore < 160 * MIB, `rss grew by ${Math.round((peak - rssBefore) / MIB)} MiB`);
  });
});
