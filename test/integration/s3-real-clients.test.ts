/**
 * Issue 13 with the real clients, as users run them: boto3 and the AWS CLI (the image's
 * Python), rclone and s3cmd (Debian, installed by .ci/run). Conditional writes, a
 * Complete retried after success, content headers, SigV2 bucket requests, a chunked
 * upload without Content-Length. The DVC-shaped workload is in s3-dvc.test.ts.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { clientEnv, pythonClientsMissing, run, runScript } from './s3-python.js';
import { startS3Harness, type S3Harness } from './s3-harness.js';

const missing = pythonClientsMissing();
const has = (cmd: string) => spawnSync(cmd, ['--version'], { encoding: 'utf8' }).status === 0;
/** CI installs rclone and s3cmd (.ci/run): there, their absence fails rather than skips. */
const debianMissing = ['rclone', 's3cmd'].filter((c) => !has(c));

void describe('S3 issue-13 semantics with boto3, the AWS CLI, rclone and s3cmd', { skip: missing ?? false }, () => {
  let h: S3Harness;
  let env: NodeJS.ProcessEnv;
  let dir: string;
  before(async () => {
    h = await startS3Harness();
    await h.admin.createProject({ name: 'ml' });
    env = clientEnv(h.s3Url, 'ml', await h.credentials(h.adminToken));
    dir = mkdtempSync(join(tmpdir(), 'coffer-clients-'));
  });
  after(async () => {
    await h?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  void test('boto3: conditional PUT and Complete (412), a race of If-None-Match: * with one winner, Complete retried, content headers, SigV2 bucket requests, chunked upload', async () => {
    const r = await runScript<Record<string, unknown>>('conditional_retry.py', env, 300_000);
    assert.equal(r.first, 'ok');
    assert.equal(r.again, 'PreconditionFailed');
    assert.equal(r.wrong_match, 'PreconditionFailed');
    assert.equal(r.right_match, 'ok');
    assert.equal(r.body, 'two');
    assert.deepEqual(r.race, ['PreconditionFailed', 'PreconditionFailed', 'PreconditionFailed', 'PreconditionFailed', 'PreconditionFailed', 'PreconditionFailed', 'PreconditionFailed', 'ok']);
    assert.equal(r.race_versions, 1);
    assert.equal(r.complete_etag_same, true, 'a retried Complete answers the same ETag');
    assert.equal(r.complete_version_same, true, 'and the same version id');
    assert.equal(r.mp_cache_control, 'max-age=60');
    assert.equal(r.mp_disposition, 'attachment; filename="r.bin"');
    assert.equal(r.complete_if_none_match, 'PreconditionFailed');
    assert.equal(r.mp_body_same, true);
    assert.deepEqual(r.sigv2_list, ['cond/k', 'cond/race']);
    assert.equal(r.sigv2_head_bucket, 200);
    assert.equal(r.sigv2_versioning, 200);
    assert.equal(r.chunked_status, 200);
    assert.equal(r.chunked_same, true);
    assert.deepEqual(r.chunked_without_length, [411, true]);
  });

  void test('AWS CLI: s3api put-object --if-none-match, complete-multipart-upload retried', async () => {
    const file = join(dir, 'cli.bin');
    writeFileSync(file, randomBytes(1000));
    const api = (...args: string[]) => run('aws', ['--endpoint-url', h.s3Url, 's3api', ...args, '--bucket', 'ml', '--output', 'json'], env);
    const first = await api('put-object', '--key', 'cli/cond', '--body', file, '--if-none-match', '*');
    assert.equal(first.code, 0, first.stderr);
    const again = await api('put-object', '--key', 'cli/cond', '--body', file, '--if-none-match', '*');
    assert.notEqual(again.code, 0);
    assert.match(again.stderr, /PreconditionFailed/);
    const created = await api('create-multipart-upload', '--key', 'cli/mp');
    const uploadId = (JSON.parse(created.stdout) as { UploadId: string }).UploadId;
    const part = await api('upload-part', '--key', 'cli/mp', '--upload-id', uploadId, '--part-number', '1', '--body', file);
    const etag = (JSON.parse(part.stdout) as { ETag: string }).ETag;
    const partsFile = join(dir, 'parts.json');
    writeFileSync(partsFile, JSON.stringify({ Parts: [{ PartNumber: 1, ETag: etag }] }));
    const complete = () => api('complete-multipart-upload', '--key', 'cli/mp', '--upload-id', uploadId, '--multipart-upload', `file://${partsFile}`);
    const done = await complete();
    assert.equal(done.code, 0, done.stderr);
    const retried = await complete();
    assert.equal(retried.code, 0, retried.stderr);
    const a = JSON.parse(done.stdout) as { ETag: string; VersionId: string };
    const b = JSON.parse(retried.stdout) as { ETag: string; VersionId: string };
    assert.deepEqual([b.ETag, b.VersionId], [a.ETag, a.VersionId]);
  });

  void test('rclone and s3cmd: multipart upload, download and check', { skip: debianMissing.length > 0 && !process.env.CI ? `not installed: ${debianMissing.join(', ')} (.ci/run installs them)` : false }, async () => {
    const src = join(dir, 'tree');
    mkdirSync(join(src, 'sub'), { recursive: true });
    const big = randomBytes(12 * 1024 * 1024 + 5);
    writeFileSync(join(src, 'sub', 'big.bin'), big);
    writeFileSync(join(src, 'small.txt'), 'small file\n');
    const rcloneEnv = {
      ...env,
      RCLONE_CONFIG_COFFER_TYPE: 's3',
      RCLONE_CONFIG_COFFER_PROVIDER: 'Other',
      RCLONE_CONFIG_COFFER_ENDPOINT: h.s3Url,
      RCLONE_CONFIG_COFFER_ENV_AUTH: 'true',
      RCLONE_CONFIG_COFFER_REGION: 'us-east-1',
      RCLONE_CONFIG: '/dev/null',
    };
    const rclone = (...args: string[]) => run('rclone', ['--s3-chunk-size', '5M', '--s3-upload-cutoff', '5M', '--retries', '1', ...args], rcloneEnv, 180_000);
    const up = await rclone('copy', src, 'coffer:ml/rclone');
    assert.equal(up.code, 0, up.stderr.slice(-2000));
    const check = await rclone('check', src, 'coffer:ml/rclone');
    assert.equal(check.code, 0, check.stderr.slice(-2000));
    const down = join(dir, 'down');
    assert.equal((await rclone('copy', 'coffer:ml/rclone', down)).code, 0);
    assert.deepEqual(readFileSync(join(down, 'sub', 'big.bin')), big);

    const cfg = join(dir, 's3cfg');
    const host = new URL(h.s3Url).host;
    writeFileSync(cfg, `[default]\naccess_key = ${env.AWS_ACCESS_KEY_ID}\nsecret_key = ${env.AWS_SECRET_ACCESS_KEY}\naccess_token = ${env.AWS_SESSION_TOKEN}\nhost_base = ${host}\nhost_bucket = ${host}\nuse_https = False\nsignature_v2 = False\nbucket_location = us-east-1\n`);
    const s3cmd = (...args: string[]) => run('s3cmd', ['-c', cfg, ...args], env, 180_000);
    const put = await s3cmd('put', '--multipart-chunk-size-mb=5', join(src, 'sub', 'big.bin'), 's3://ml/s3cmd/big.bin');
    assert.equal(put.code, 0, put.stderr.slice(-2000));
    const got = join(dir, 's3cmd-big.bin');
    const get = await s3cmd('get', 's3://ml/s3cmd/big.bin', got);
    assert.equal(get.code, 0, get.stderr.slice(-2000));
    assert.deepEqual(readFileSync(got), big);
  });
});
