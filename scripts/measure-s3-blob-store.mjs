#!/usr/bin/env node
// Micro-measure (not a test, not the bench) of the S3 blob store adapter against the AWS
// SDK alone on the same server: upload and download of one object, in MiB/s, with the peak
// growth of array buffers during the adapter's upload. Needs COFFER_TEST_S3_* (e.g.
// `eval "$(scripts/ceph-rgw.sh wait /tmp/coffer-ceph)"`).
// Run: node --import tsx scripts/measure-s3-blob-store.mjs [MiB=256] [rounds=2] [partMiB=16]
import { randomBytes } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { CreateBucketCommand, DeleteObjectCommand, GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { openS3BlobStore } from '../src/store/s3/index.ts';

const mib = Number(process.argv[2] ?? 256);
const rounds = Number(process.argv[3] ?? 2);
const partMiB = Number(process.argv[4] ?? 16);
const { COFFER_TEST_S3_ENDPOINT: endpoint, COFFER_TEST_S3_ACCESS_KEY: accessKeyId, COFFER_TEST_S3_SECRET: secretAccessKey } = process.env;
const bucket = process.env.COFFER_TEST_S3_BUCKET ?? 'coffer-test';
if (!endpoint || !accessKeyId || !secretAccessKey) throw new Error('set COFFER_TEST_S3_ENDPOINT, COFFER_TEST_S3_ACCESS_KEY, COFFER_TEST_S3_SECRET');
const credentials = { accessKeyId, secretAccessKey };
const sdk = new S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true, credentials, requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED' });
await sdk.send(new CreateBucketCommand({ Bucket: bucket })).catch(() => undefined);
const prefix = `measure-${randomBytes(4).toString('hex')}/`;
const store = await openS3BlobStore({ endpoint, region: 'us-east-1', bucket, prefix, forcePathStyle: true, credentials, conditionalCreate: 'auto', partSize: partMiB * 1024 * 1024, concurrency: 4 });

const chunk = randomBytes(1024 * 1024);
const source = () => Readable.from((function* () { for (let i = 0; i < mib; i++) yield chunk; })());
const sink = () => new Writable({ write(_c, _e, done) { done(); } });
const rate = (ms) => (mib / (ms / 1000)).toFixed(0);
const time = async (run) => { const t = performance.now(); await run(); return performance.now() - t; };

const rows = [];
for (let r = 0; r < rounds; r++) {
  const key = `objects/r${r}`;
  const base = process.memoryUsage().arrayBuffers;
  let peak = base;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().arrayBuffers)), 5);
  const adapterUp = await time(() => store.put(key, source()));
  clearInterval(timer);
  const adapterDown = await time(async () => pipeline(await store.get(key), sink()));
  const sdkKey = `${prefix}sdk-r${r}`;
  const sdkUp = await time(() => new Upload({ client: sdk, params: { Bucket: bucket, Key: sdkKey, Body: source() }, partSize: partMiB * 1024 * 1024, queueSize: 4 }).done());
  const sdkDown = await time(async () => pipeline((await sdk.send(new GetObjectCommand({ Bucket: bucket, Key: sdkKey }))).Body, sink()));
  rows.push({ round: r + 1, adapterUp: rate(adapterUp), sdkUp: rate(sdkUp), adapterDown: rate(adapterDown), sdkDown: rate(sdkDown), peakMiB: ((peak - base) / 1024 / 1024).toFixed(1) });
  await store.delete(key);
  await sdk.send(new DeleteObjectCommand({ Bucket: bucket, Key: sdkKey }));
}
console.log(`${mib} MiB object, ${partMiB} MiB parts, 4 in flight; MiB/s (adapter / AWS SDK alone: lib-storage Upload, GetObject)`);
console.table(rows);
store.close();
sdk.destroy();
