/**
 * CompleteMultipartUpload claims the upload in the store (a lease, migration
 * 007_s3_completion_claim), so two completions of one upload never both commit, even
 * from two nodes on one database: a claim held by another node refuses Complete, a
 * lapsed one does not, a failed Complete releases its claim for a retry, and a running
 * completion renews its claim. On SQLite, and on PostgreSQL with COFFER_TEST_PG_URL.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  ListObjectVersionsCommand,
  UploadPartCommand,
  type CompletedPart,
  type S3Client,
} from '@aws-sdk/client-s3';
import { checksumOf } from '../../src/s3/checksums.js';
import { COMPLETION_LEASE_MS, renewCompletionClaim } from '../../src/s3/multipart.js';
import type { S3Op } from '../../src/s3/s3-op.js';
import { openSqliteStore } from '../../src/store/index.js';
import { SqlMetadataStore } from '../../src/store/sql/sql-metadata-store.js';
import { SqlS3Store } from '../../src/store/sql/s3-sql-store.js';
import { s3Error, sdkClient } from './s3-client-helpers.js';
import { startS3Harness, type S3Harness } from './s3-harness.js';

const MIB = 1024 * 1024;
const pgUrl = process.env.COFFER_TEST_PG_URL;

function suite(name: string, postgresUrl: string | undefined, skip: string | false): void {
  void describe(`CompleteMultipartUpload claims on ${name}`, { skip }, () => {
    let now = Date.now();
    let h: S3Harness;
    let s3: S3Client;
    /** The store as another node on the same database sees it. */
    let otherNode: SqlS3Store;
    /** An SDK client whose clock agrees with the server's (moved) one, with fresh credentials. */
    const client = async () => {
      s3?.destroy();
      s3 = sdkClient(h.s3Url, await h.credentials(h.adminToken), { clockOffsetMs: now - Date.now() });
    };
    before(async () => {
      h = await startS3Harness({ clock: () => now, ...(postgresUrl ? { postgresUrl } : {}) });
      await h.admin.createProject({ name: 'ml' });
      await client();
      const core = h.runtime.store;
      assert.ok(core instanceof SqlMetadataStore);
      otherNode = new SqlS3Store(core.kysely, core.dialect);
    });
    after(async () => {
      s3?.destroy();
      await h?.close();
    });

    const start = async (Key: string, bodies: Buffer[], create: Partial<ConstructorParameters<typeof CreateMultipartUploadCommand>[0]> = {}) => {
      const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: 'ml', Key, ...create }));
      const parts: CompletedPart[] = [];
      for (const [i, Body] of bodies.entries()) {
        const r = await s3.send(new UploadPartCommand({ Bucket: 'ml', Key, UploadId, PartNumber: i + 1, Body, ...(create.ChecksumAlgorithm ? { ChecksumAlgorithm: create.ChecksumAlgorithm } : {}) }));
        parts.push({ PartNumber: i + 1, ETag: r.ETag, ...(r.ChecksumCRC64NVME ? { ChecksumCRC64NVME: r.ChecksumCRC64NVME } : {}) });
      }
      return { UploadId: UploadId!, parts };
    };
    const complete = (Key: string, UploadId: string, parts: CompletedPart[], extra: Partial<ConstructorParameters<typeof CompleteMultipartUploadCommand>[0]> = {}) =>
      s3.send(new CompleteMultipartUploadCommand({ Bucket: 'ml', Key, UploadId, MultipartUpload: { Parts: parts }, ...extra }));
    const versions = async (Key: string) => ((await s3.send(new ListObjectVersionsCommand({ Bucket: 'ml', Prefix: Key }))).Versions ?? []).filter((v) => v.Key === Key).length;

    void test('a claim held by another node refuses Complete (OperationAborted) until its lease lapses', async () => {
      const body = randomBytes(1000);
      const { UploadId, parts } = await start('claim/held', [body]);
      assert.equal(await otherNode.claimUploadCompletion(UploadId, 'cmp_other_node', now, COMPLETION_LEASE_MS), true);
      assert.deepEqual(await s3Error(complete('claim/held', UploadId, parts)), { code: 'OperationAborted', status: 409 });
      now += COMPLETION_LEASE_MS - 1000;
      await client();
      assert.deepEqual(await s3Error(complete('claim/held', UploadId, parts)), { code: 'OperationAborted', status: 409 }, 'still live on the server clock');
      assert.equal(await versions('claim/held'), 0, 'nothing committed');
      now += 2000;
      await client();
      const done = await complete('claim/held', UploadId, parts);
      assert.equal(done.VersionId, '1', 'the lapsed claim (a node that died) no longer blocks the upload');
      assert.deepEqual(Buffer.from(await (await s3.send(new GetObjectCommand({ Bucket: 'ml', Key: 'claim/held' }))).Body!.transformToByteArray()), body);
      assert.equal(await otherNode.claimUploadCompletion(UploadId, 'cmp_other_node', now, COMPLETION_LEASE_MS), false, 'the upload is gone');
      // a retry after success answers as the first did (issue 13), and commits nothing
      const retried = await complete('claim/held', UploadId, parts);
      assert.deepEqual([retried.ETag, retried.VersionId], [done.ETag, done.VersionId]);
      assert.equal(await versions('claim/held'), 1);
    });

    void test('a failed Complete releases its claim: the retry on the same upload succeeds', async () => {
      const data = randomBytes(5 * MIB + 100);
      const { UploadId, parts } = await start('claim/retry', [data.subarray(0, 5 * MIB), data.subarray(5 * MIB)], { ChecksumAlgorithm: 'CRC64NVME', ChecksumType: 'FULL_OBJECT' });
      // fails while re-sealing (the full-object checksum is checked at the end)
      assert.equal((await s3Error(complete('claim/retry', UploadId, parts, { ChecksumType: 'FULL_OBJECT', ChecksumCRC64NVME: 'AAAAAAAAAAA=' }))).code, 'BadDigest');
      // fails before the work starts (a malformed checksum header)
      assert.equal((await s3Error(complete('claim/retry', UploadId, parts, { ChecksumType: 'FULL_OBJECT', ChecksumCRC64NVME: 'not base64' }))).code, 'InvalidRequest');
      assert.equal(await versions('claim/retry'), 0);
      const whole = checksumOf('crc64nvme', data);
      assert.equal((await complete('claim/retry', UploadId, parts, { ChecksumType: 'FULL_OBJECT', ChecksumCRC64NVME: whole })).ChecksumCRC64NVME, whole);
      assert.equal(await versions('claim/retry'), 1);
    });

    void test('the stale-upload sweeper leaves an upload being completed alone, and sweeps it once the claim lapses', async () => {
      const { UploadId, parts } = await start('claim/sweep', [randomBytes(100)]);
      // every upload older than 0 ms is stale (the others of this suite are completed)
      now += 1;
      assert.equal(await otherNode.claimUploadCompletion(UploadId, 'cmp_completing', now, COMPLETION_LEASE_MS), true);
      await h.runtime.s3.sweep(0);
      assert.equal((await otherNode.getUpload(UploadId))?.uploadId, UploadId, 'kept while claimed');
      now += COMPLETION_LEASE_MS + 1;
      await h.runtime.s3.sweep(0);
      assert.equal(await otherNode.getUpload(UploadId), null, 'swept once the claim lapsed');
      await client();
      assert.equal((await s3Error(complete('claim/sweep', UploadId, parts))).code, 'NoSuchUpload');
      // the SDK corrects its clock from an error's Date header (real time): start afresh
      await client();
    });

    void test('two concurrent Completes of one upload commit one version', async () => {
      for (let round = 0; round < 3; round++) {
        const Key = `claim/race-${round}`;
        const data = randomBytes(10 * MIB + 7);
        const { UploadId, parts } = await start(Key, [data.subarray(0, 5 * MIB), data.subarray(5 * MIB, 10 * MIB), data.subarray(10 * MIB)]);
        const outcomes = await Promise.all(
          [0, 1, 2].map(() =>
            complete(Key, UploadId, parts).then(
              (r) => `ok:${r.VersionId ?? ''}`,
              (err: { Code?: string; name?: string }) => err.Code ?? err.name ?? 'error',
            ),
          ),
        );
        assert.equal(outcomes.filter((o) => o.startsWith('ok:')).length, 1, `exactly one Complete succeeds: ${outcomes.join(', ')}`);
        for (const o of outcomes.filter((x) => !x.startsWith('ok:'))) assert.ok(o === 'OperationAborted' || o === 'NoSuchUpload', o);
        assert.equal(await versions(Key), 1, 'one version committed');
        assert.deepEqual(Buffer.from(await (await s3.send(new GetObjectCommand({ Bucket: 'ml', Key }))).Body!.transformToByteArray()), data);
      }
    });
  });
}

suite('SQLite', undefined, false);
suite('PostgreSQL', pgUrl, pgUrl ? false : process.env.CI ? false : 'COFFER_TEST_PG_URL is not set');

void describe('renewCompletionClaim', () => {
  let core: SqlMetadataStore;
  let store: SqlS3Store;
  let now = 1_000_000;
  const ctx = () => ({ store, deps: { clock: () => now } }) as unknown as S3Op['ctx'];
  const timing = { leaseMs: 1000, renewEveryMs: 20 };
  before(async () => {
    core = openSqliteStore(':memory:');
    await core.migrate();
    store = new SqlS3Store(core.kysely, core.dialect);
    const createdAt = Date.now();
    const principal = { id: 'prn_claims', kind: 'user' as const, name: 'u', displayName: 'u', ownerId: null, disabled: false, createdAt };
    await core.createPrincipal(principal);
    await core.createProject({ id: 'prj_claims', name: 'p', description: '', createdBy: principal.id, createdAt });
    for (const id of ['mpu_renew', 'mpu_stolen', 'mpu_aborted']) {
      await store.createUpload({ uploadId: id, projectId: 'prj_claims', key: id, principalId: principal.id, contentType: 'x', checksumAlgorithm: null, checksumType: null, userMetadata: {}, createdAt });
    }
  });
  after(async () => core?.close());

  void test('keeps the claim past its first lease, and stops when told (a release then holds)', async () => {
    assert.equal(await store.claimUploadCompletion('mpu_renew', 'cmp_a', now, timing.leaseMs), true);
    const lost: Error[] = [];
    const stop = renewCompletionClaim(ctx(), 'mpu_renew', 'cmp_a', (err) => lost.push(err), timing);
    // the clock moves past the first lease while the renewals run
    for (let i = 0; i < 10; i++) {
      now += 300;
      await sleep(30);
    }
    assert.equal(await store.claimUploadCompletion('mpu_renew', 'cmp_b', now, timing.leaseMs), false, 'renewed: still held 3 leases later');
    await stop();
    await store.releaseUploadCompletion('mpu_renew', 'cmp_a');
    await sleep(100);
    assert.equal(await store.claimUploadCompletion('mpu_renew', 'cmp_b', now, timing.leaseMs), true, 'no renewal after stop undoes the release');
    assert.deepEqual(lost, []);
  });

  void test('reports a claim taken over (OperationAborted) or an upload aborted (NoSuchUpload), once, and stops', async () => {
    const watch = async (uploadId: string, takeAway: () => Promise<unknown>) => {
      assert.equal(await store.claimUploadCompletion(uploadId, 'cmp_a', now, timing.leaseMs), true);
      const lost: Array<{ s3Code?: string }> = [];
      const stop = renewCompletionClaim(ctx(), uploadId, 'cmp_a', (err) => lost.push(err), timing);
      await sleep(60);
      await takeAway();
      await sleep(150);
      await stop();
      return lost.map((e) => e.s3Code);
    };
    assert.deepEqual(
      await watch('mpu_stolen', async () => {
        // the lease lapsed (a long pause) and another node took the upload
        now += timing.leaseMs;
        await store.claimUploadCompletion('mpu_stolen', 'cmp_other', now, timing.leaseMs);
      }),
      ['OperationAborted'],
    );
    assert.equal(await store.claimUploadCompletion('mpu_stolen', 'cmp_c', now, timing.leaseMs), false, 'the other node keeps it');
    assert.deepEqual(await watch('mpu_aborted', () => store.deleteUpload('mpu_aborted')), ['NoSuchUpload']);
  });
});
