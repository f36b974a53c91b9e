import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { CreateMultipartUploadCommand, DeleteBucketCommand, DeleteObjectCommand, ListObjectsV2Command, PutObjectCommand, UploadPartCommand } from '@aws-sdk/client-s3';
import { StorageError, isCofferError } from '../../src/domain/errors.js';
import { openS3BlobStore, type S3BlobStore } from '../../src/store/s3/index.js';
import { runBlobStoreContract } from './blob-store.contract.js';
import { emptyPrefix, ensureBucket, openTestS3Store, radosgwAdmin, rawS3Client, requireS3TestServer, s3Settings, s3Skip, type S3TestServer } from '../support/s3-server.js';

// The BlobStore contract on a real S3 server (Ceph RGW from scripts/ceph-rgw.sh in CI),
// with 5 MiB parts so the large-object tests take the multipart path. Residue = multipart
// uploads left incomplete under the store's prefix.
runBlobStoreContract(
  's3 (real server)',
  async () => {
    const server = requireS3TestServer();
    const { store, prefix } = await openTestS3Store(server, 'contract');
    return {
      store,
      largeObjectSize: 12 * 1024 * 1024 + 123,
      residue: async () => (await store.incompleteUploads()).map((u) => u.key),
      cleanup: async () => {
        await emptyPrefix(server, store, prefix);
        store.close();
      },
    };
  },
  { skip: s3Skip() },
);

describe('S3BlobStore specifics', { skip: s3Skip(), timeout: 300_000 }, () => {
  let server: S3TestServer;
  let store: S3BlobStore;
  let prefix: string;
  const opened: S3BlobStore[] = [];
  before(async () => {
    server = requireS3TestServer();
    ({ store, prefix } = await openTestS3Store(server, 'spec'));
  });
  after(async () => {
    if (store !== undefined) {
      await emptyPrefix(server, store, prefix);
      store.close();
    }
    for (const s of opened) s.close();
  });

  test('the start-up probe finds which creates the server makes conditional, and leaves nothing behind', async () => {
    assert.equal(store.conditional.put, true, 'every S3 server worth running honours If-None-Match on PutObject');
    // Ceph RGW Pacific ignores If-None-Match on CompleteMultipartUpload (a known deviation)
    if (process.env.COFFER_TEST_CEPH_DIR) assert.deepEqual(store.conditional, { put: true, complete: false });
    const client = rawS3Client(server);
    try {
      const left = await client.send(new ListObjectsV2Command({ Bucket: server.bucket, Prefix: `${prefix}.coffer-probe` }));
      assert.deepEqual(left.Contents ?? [], []);
    } finally {
      client.destroy();
    }
    assert.deepEqual(await store.incompleteUploads(), []);
  });

  test('memory stays bounded by the part buffers, whatever the size of the object', async (t) => {
    const chunk = randomBytes(1024 * 1024);
    const total = 96;
    // the same chunk again and again: the source itself holds 1 MiB, the rest is the adapter's
    const source = Readable.from((function* () { for (let i = 0; i < total; i++) yield chunk; })());
    const base = process.memoryUsage().arrayBuffers;
    let peak = base;
    const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().arrayBuffers)), 2);
    try {
      assert.deepEqual(await store.put('mem/a', source), { key: 'mem/a', size: total * 1024 * 1024 });
    } finally {
      clearInterval(timer);
    }
    const grown = (peak - base) / 1024 / 1024;
    t.diagnostic(`96 MiB upload, 5 MiB parts, 4 in flight: array buffers grew by ${grown.toFixed(1)} MiB at most`);
    // (4 in flight + 1 filling) x 5 MiB = 25 MiB of part buffers; the whole object would be 96
    assert.ok(grown < 40, `array buffers grew by ${grown.toFixed(1)} MiB during a 96 MiB upload`);
    const back = createHash('sha256');
    for await (const piece of await store.get('mem/a')) back.update(piece as Buffer);
    const expected = createHash('sha256');
    for (let i = 0; i < total; i++) expected.update(chunk);
    assert.equal(back.digest('hex'), expected.digest('hex'));
  });

  test('configured without conditional creates, a reused key is still refused (HEAD check), small or large', async () => {
    const plain = await openS3BlobStore(s3Settings(server, prefix, { conditionalCreate: 'none' }));
    opened.push(plain);
    assert.deepEqual(plain.conditional, { put: false, complete: false });
    await plain.put('none/small', Readable.from([Buffer.from('first')]));
    await assert.rejects(plain.put('none/small', Readable.from([Buffer.from('second')])), code('COFFER_ALREADY_EXISTS'));
    const large = randomBytes(11 * 1024 * 1024);
    await plain.put('none/large', Readable.from([large]));
    await assert.rejects(plain.put('none/large', Readable.from([randomBytes(11 * 1024 * 1024)])), code('COFFER_ALREADY_EXISTS'));
    assert.equal((await readAll(await plain.get('none/small'))).toString(), 'first');
    assert.ok((await readAll(await plain.get('none/large'))).equals(large));
    assert.deepEqual(await plain.incompleteUploads(), []);
  });

  test('sweepIncomplete aborts the uploads a crash left, and spares fresh ones when asked', async () => {
    const client = rawS3Client(server);
    try {
      // what kill -9 mid-upload leaves: an upload with a part, never completed
      const { UploadId } = await client.send(new CreateMultipartUploadCommand({ Bucket: server.bucket, Key: `${prefix}crash/x` }));
      await client.send(new UploadPartCommand({ Bucket: server.bucket, Key: `${prefix}crash/x`, UploadId, PartNumber: 1, Body: randomBytes(1024) }));
      assert.deepEqual((await store.incompleteUploads()).map((u) => u.key), ['crash/x']);
      assert.equal(await store.sweepIncomplete({ olderThanMs: 3600_000 }), 0, 'a fresh upload may be another node\'s, in flight');
      assert.equal(await store.sweepIncomplete(), 1);
      assert.deepEqual(await store.incompleteUploads(), []);
      assert.equal(await store.stat('crash/x'), null);
    } finally {
      client.destroy();
    }
  });

  test('only blob keys under the prefix are listed: foreign objects and other prefixes are not', async () => {
    const client = rawS3Client(server);
    try {
      await store.put('own/a', Readable.from([Buffer.from('a')]));
      for (const foreign of [`${prefix}own/UPPER`, `${prefix}own/dot.ted`, `${prefix}.coffer-probe/x`, `${prefix.slice(0, -1)}-other/own/b`]) {
        await client.send(new PutObjectCommand({ Bucket: server.bucket, Key: foreign, Body: 'x' }));
      }
      assert.deepEqual(await collect(store.list('own/')), ['own/a']);
      assert.ok(!(await collect(store.list())).some((k) => k.includes('other') || k.includes('.')));
      await client.send(new DeleteObjectCommand({ Bucket: server.bucket, Key: `${prefix.slice(0, -1)}-other/own/b` }));
    } finally {
      client.destroy();
    }
  });

  test('wrong credentials: the store does not open, and no error names the key or the secret', async () => {
    const secret = randomBytes(20).toString('hex');
    const accessKeyId = `AKIA${randomBytes(8).toString('hex').toUpperCase()}`;
    for (const conditionalCreate of ['auto', 'none'] as const) {
      const err = await openS3BlobStore(s3Settings(server, prefix, { conditionalCreate, credentials: { accessKeyId, secretAccessKey: secret } })).then(
        () => assert.fail('opened with wrong credentials'),
        (e: unknown) => e,
      );
      assert.ok(err instanceof StorageError, String(err));
      assert.equal(err.message, 'storage failure');
      assert.equal(err.cause, undefined, 'no SDK error (request, response) is kept');
      const everything = `${String(err)} ${err.detail ?? ''} ${JSON.stringify(err)} ${err.stack ?? ''}`;
      assert.ok(!everything.includes(secret) && !everything.includes(accessKeyId), everything);
      assert.match(err.detail ?? '', /InvalidAccessKeyId|SignatureDoesNotMatch|AccessDenied|HTTP 403/);
    }
    // the real user with a wrong secret: the signature fails
    const err = await openS3BlobStore(s3Settings(server, prefix, { credentials: { accessKeyId: server.accessKeyId, secretAccessKey: secret } })).catch((e: unknown) => e);
    assert.ok(err instanceof StorageError);
    assert.ok(!`${err.detail} ${err.stack}`.includes(secret));
  });

  test('a missing bucket stops the store from opening', async () => {
    const err = await openS3BlobStore(s3Settings(server, prefix, { bucket: `no-such-${randomBytes(4).toString('hex')}` })).catch((e: unknown) => e);
    assert.ok(err instanceof StorageError, String(err));
    assert.match(err.detail ?? '', /NoSuchBucket|NotFound/);
  });

  test('a bucket over its quota: StorageFullError for small and large puts, nothing left behind', async (t) => {
    const bucket = `quota-${randomBytes(4).toString('hex')}`;
    await ensureBucket(server, bucket);
    try {
      if (radosgwAdmin(['quota', 'set', '--quota-scope=bucket', `--bucket=${bucket}`, '--max-size=65536']) === null) {
        t.skip('quota needs radosgw-admin on the Ceph cluster of scripts/ceph-rgw.sh (COFFER_TEST_CEPH_DIR)');
        return;
      }
      radosgwAdmin(['quota', 'enable', '--quota-scope=bucket', `--bucket=${bucket}`]);
      const full = await openS3BlobStore(s3Settings(server, '', { bucket }));
      opened.push(full);
      await assert.rejects(full.put('q/small', Readable.from([randomBytes(100_000)])), code('COFFER_STORAGE_FULL'));
      await assert.rejects(full.put('q/large', Readable.from([randomBytes(11 * 1024 * 1024)])), code('COFFER_STORAGE_FULL'));
      assert.equal(await full.stat('q/small'), null);
      assert.deepEqual(await full.incompleteUploads(), []);
    } finally {
      const client = rawS3Client(server);
      await client.send(new DeleteBucketCommand({ Bucket: bucket })).catch(() => undefined);
      client.destroy();
    }
  });
});

async function readAll(stream: Readable): Promise<Buffer> {
  return Buffer.concat((await stream.toArray()) as Buffer[]);
}

async function collect(it: AsyncIterable<string>): Promise<string[]> {
  const out: string[] = [];
  for await (const k of it) out.push(k);
  return out;
}

function code(expected: string) {
  return (err: unknown) => {
    assert.equal(isCofferError(err) ? err.code : undefined, expected, `expected ${expected}, got ${String(err)}`);
    return true;
  };
}
