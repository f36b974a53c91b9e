/**
 * Issue 13.11 against a real server at the default monitor rules: a reader pulling a
 * DVC-shaped cache through the S3 endpoint (150 keys of one folder, 8 in parallel, more
 * than the 40 distinct artifacts that used to lock it) is one dataset and goes through
 * without an alert; an insider taking a few files from each of ten projects it may read
 * is locked at the ninth project, and its next request is refused.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { MonitorClient } from '../../src/client/monitor-client.js';
import { waitFor } from '../support/index.js';
import { s3Error, sdkClient } from './s3-client-helpers.js';
import { startS3Harness, type S3Harness } from './s3-harness.js';

const KEYS = 150;
const dvcKey = (i: number) => `files/md5/${(i % 256).toString(16).padStart(2, '0')}/${i.toString(16).padStart(30, '0')}`;

/** Runs `work` over `items`, `parallel` at a time. */
async function inParallel<T>(items: T[], parallel: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: parallel }, async () => {
    while (next < items.length) await work(items[next++]!);
  }));
}

void describe('monitor at its defaults: bulk reads of S3 folders', { timeout: 240_000 }, () => {
  let h: S3Harness;
  let admin: S3Client;
  let monitor: MonitorClient;
  before(async () => {
    h = await startS3Harness();
    admin = sdkClient(h.s3Url, await h.credentials(h.adminToken));
    monitor = new MonitorClient({ baseUrl: h.url, token: h.adminToken });
    await admin.send(new CreateBucketCommand({ Bucket: 'dataset-cache' }));
    const body = randomBytes(2048);
    await inParallel([...Array(KEYS).keys()], 8, async (i) => {
      await admin.send(new PutObjectCommand({ Bucket: 'dataset-cache', Key: dvcKey(i), Body: body }));
    });
    for (let p = 0; p < 10; p++) {
      await admin.send(new CreateBucketCommand({ Bucket: `team-${p}` }));
      for (let i = 0; i < 3; i++) await admin.send(new PutObjectCommand({ Bucket: `team-${p}`, Key: `exports/train/${i}.png`, Body: body }));
    }
  });
  after(async () => {
    admin?.destroy();
    await h?.close();
  });

  void test('a reader pulls all 150 keys of a DVC cache, 8 at a time: no alert, no lock', async () => {
    const token = await h.user('dana');
    await h.admin.createGrant({ principal: 'dana', role: 'reader', project: 'dataset-cache' });
    const dana = sdkClient(h.s3Url, await h.credentials(token));
    try {
      let bytes = 0;
      await inParallel([...Array(KEYS).keys()], 8, async (i) => {
        const got = await dana.send(new GetObjectCommand({ Bucket: 'dataset-cache', Key: dvcKey(i) }));
        bytes += (await got.Body!.transformToByteArray()).length;
      });
      assert.equal(bytes, KEYS * 2048);
      await h.runtime.monitor.idle();
      assert.deepEqual((await monitor.listAlerts()).items, []);
      assert.equal((await dana.send(new GetObjectCommand({ Bucket: 'dataset-cache', Key: dvcKey(0) }))).$metadata.httpStatusCode, 200, 'still allowed');
    } finally {
      dana.destroy();
    }
  });

  void test('an insider taking a few files from each of ten projects is locked at the ninth', async () => {
    const token = await h.user('mallory');
    for (let p = 0; p < 10; p++) await h.admin.createGrant({ principal: 'mallory', role: 'reader', project: `team-${p}` });
    const mallory = sdkClient(h.s3Url, await h.credentials(token));
    try {
      for (let p = 0; p < 8; p++) for (let i = 0; i < 3; i++) await mallory.send(new GetObjectCommand({ Bucket: `team-${p}`, Key: `exports/train/${i}.png` }));
      await h.runtime.monitor.idle();
      assert.deepEqual((await monitor.listAlerts()).items, [], 'eight projects is within the cap');
      await mallory.send(new GetObjectCommand({ Bucket: 'team-8', Key: 'exports/train/0.png' }));
      const alert = await waitFor('the lock', async () => (await monitor.listAlerts()).items[0], { timeoutMs: 10_000 });
      assert.equal(alert.rule, 'volume');
      assert.equal(alert.action, 'lock');
      assert.equal(alert.principal, 'mallory');
      assert.match(alert.summary, /9 distinct projects > cap 8/);
      const refused = await s3Error(mallory.send(new GetObjectCommand({ Bucket: 'team-9', Key: 'exports/train/0.png' })));
      assert.equal(refused.status, 403);
    } finally {
      mallory.destroy();
    }
  });
});
