/**
 * The S3 endpoint with boto3 and the AWS CLI (real clients from the image's Python):
 * basics, presigned URLs (SigV2 and SigV4), multipart, `aws s3 cp/sync/ls/rm`, and the
 * MLflow artifact flow.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { runCli, cliArgs, repoRoot } from '../support/index.js';
import { clientEnv, pythonClientsMissing, run, runScript } from './s3-python.js';
import { startS3Harness, type S3Harness } from './s3-harness.js';

const missing = pythonClientsMissing();

void describe('S3 endpoint with boto3 and the AWS CLI', { skip: missing ?? false }, () => {
  let h: S3Harness;
  let env: NodeJS.ProcessEnv;
  before(async () => {
    h = await startS3Harness();
    await h.admin.createProject({ name: 'ml' });
    env = clientEnv(h.s3Url, 'ml', await h.credentials(h.adminToken));
  });
  after(async () => h?.close());

  void test('boto3: put/get/head/list, presigned GET (v2 and v4) and PUT, SigV2 headers, multipart upload_file/download_file, delete', async () => {
    const r = await runScript<Record<string, unknown>>('boto3_basics.py', env);
    assert.equal(r.get, 'hello from boto3');
    assert.equal(r.head_length, 16);
    assert.deepEqual(r.list, ['py/hello world.txt']);
    assert.equal(r.presign_default_is_v2, true, 'boto3 presigns with SigV2 for a custom endpoint');
    assert.equal(r.presign_v2_body, 'hello from boto3');
    assert.equal(r.presign_v4_is_v4, true);
    assert.equal(r.presign_v4_body, 'hello from boto3');
    assert.equal(r.tampered_presign, 403);
    assert.equal(r.presigned_put, 'put through a presigned url');
    assert.equal(r.sigv2_header_get, 'hello from boto3');
    assert.equal(r.multipart_same, true);
    assert.match(String(r.multipart_etag), /^"[0-9a-f]{32}-3"$/);
    assert.equal(r.after_delete, 404);
    assert.equal(r.missing_code, 'NoSuchKey');
  });

  void test('boto3: put_object(Metadata=...) is returned by head_object and get_object (names lower-cased)', async () => {
    // a script of its own in the harness directory (test/s3-clients holds the shared ones)
    const script = join(h.dir, 'boto3_metadata.py');
    writeFileSync(
      script,
      [
        'import json, os, boto3',
        's3 = boto3.client("s3", endpoint_url=os.environ["S3_URL"], region_name="us-east-1")',
        'b = os.environ["BUCKET"]',
        's3.put_object(Bucket=b, Key="py/meta.txt", Body=b"with metadata", Metadata={"Purpose": "mlflow run", "run-id": "r-7"})',
        'out = {"head": s3.head_object(Bucket=b, Key="py/meta.txt")["Metadata"], "get": s3.get_object(Bucket=b, Key="py/meta.txt")["Metadata"]}',
        'print(json.dumps(out))',
        '',
      ].join('\n'),
    );
    const r = await runScript<{ head: unknown; get: unknown }>(script, env);
    assert.deepEqual(r.head, { purpose: 'mlflow run', 'run-id': 'r-7' });
    assert.deepEqual(r.get, { purpose: 'mlflow run', 'run-id': 'r-7' });
  });

  void test('MLflow flow through boto3: upload_file, list with delimiter, download_file', async () => {
    const r = await runScript<{ top: unknown[]; model: unknown[]; downloaded_same: boolean }>('mlflow_flow.py', env);
    assert.deepEqual(r.top, [
      { path: 'metrics.json', is_dir: false, size: 18 },
      { path: 'model', is_dir: true },
    ]);
    assert.deepEqual(r.model, [
      { path: 'model/MLmodel', is_dir: false, size: 52 },
      { path: 'model/conda.yaml', is_dir: false, size: 17 },
      { path: 'model/data', is_dir: true },
    ]);
    assert.equal(r.downloaded_same, true);
  });

  void test('AWS CLI: s3 cp, sync both ways, ls, rm --recursive', async () => {
    const src = join(h.dir, 'src');
    const dst = join(h.dir, 'dst');
    const files: Record<string, Buffer> = { 'a.txt': Buffer.from('alpha'), 'with space.txt': randomBytes(3000), 'sub/b=c+d.bin': randomBytes(9 * 1024 * 1024), 'sub/deeper/e.json': Buffer.from('{}') };
    for (const [rel, content] of Object.entries(files)) {
      mkdirSync(join(src, rel, '..'), { recursive: true });
      writeFileSync(join(src, rel), content);
    }
    const aws = (...args: string[]) => run('aws', ['--endpoint-url', h.s3Url, ...args], env);
    const cp = await aws('s3', 'cp', join(src, 'a.txt'), 's3://ml/cli/single.txt');
    assert.equal(cp.code, 0, cp.stderr);
    const up = await aws('s3', 'sync', src, 's3://ml/cli/tree');
    assert.equal(up.code, 0, up.stderr);
    const ls = await aws('s3', 'ls', 's3://ml/cli/tree/');
    assert.equal(ls.code, 0, ls.stderr);
    assert.match(ls.stdout, /PRE sub\//);
    assert.match(ls.stdout, /with space\.txt/);
    const recursive = await aws('s3', 'ls', '--recursive', 's3://ml/cli/');
    assert.equal(recursive.stdout.trim().split('\n').length, 5, recursive.stdout);
    const down = await aws('s3', 'sync', 's3://ml/cli/tree', dst);
    assert.equal(down.code, 0, down.stderr);
    for (const [rel, content] of Object.entries(files)) assert.deepEqual(readFileSync(join(dst, rel)), content, rel);
    const again = await aws('s3', 'sync', src, 's3://ml/cli/tree');
    assert.equal(again.stdout.trim(), '', 'a second sync has nothing to upload');
    const rm = await aws('s3', 'rm', '--recursive', 's3://ml/cli/');
    assert.equal(rm.code, 0, rm.stderr);
    assert.equal(rm.stdout.trim().split('\n').filter((l) => l.startsWith('delete:')).length, 5);
    const empty = await aws('s3', 'ls', '--recursive', 's3://ml/cli/');
    assert.equal(empty.stdout.trim(), '');
  });

  void test('coffer s3 credentials: shell exports, and `--format process` as the AWS CLI credential_process', async () => {
    const env = { COFFER_URL: h.url, COFFER_TOKEN: h.adminToken, COFFER_CREDENTIALS_FILE: join(h.dir, 'cli-creds.json') };
    const exported = await runCli(['s3', 'credentials', '--ttl', '15m', '--endpoint', h.s3Url], { env });
    assert.equal(exported.code, 0, exported.stderr);
    assert.match(exported.stdout, /^export AWS_ACCESS_KEY_ID='CKIA[A-Z2-7]{16}'$/m);
    assert.match(exported.stdout, /^export AWS_SESSION_TOKEN='coffer_s3session_/m);
    assert.match(exported.stdout, new RegExp(`^export AWS_ENDPOINT_URL='${h.s3Url}'$`, 'm'));
    assert.match(exported.stderr, /shown only once/);
    const listed = await runCli(['s3', 'list', '--json'], { env });
    assert.equal(listed.code, 0, listed.stderr);
    assert.ok((JSON.parse(listed.stdout) as unknown[]).length >= 1);
    // the AWS CLI fetches (and refreshes) its credentials through `coffer s3 credentials --format process`
    const config = join(h.dir, 'aws-config');
    const command = [process.execPath, ...cliArgs()].map((a) => (a.includes(' ') ? `"${a}"` : a)).join(' ');
    writeFileSync(config, `[default]\nregion = us-east-1\ncredential_process = ${command} --server ${h.url} s3 credentials --format process\n`);
    const awsEnv: NodeJS.ProcessEnv = { ...clientEnv(h.s3Url, 'ml', { accessKeyId: '', secretAccessKey: '', sessionToken: '', expiration: '', region: '' }), AWS_CONFIG_FILE: config, COFFER_TOKEN: h.adminToken, COFFER_CREDENTIALS_FILE: join(h.dir, 'cli-creds.json') };
    delete awsEnv.AWS_ACCESS_KEY_ID;
    delete awsEnv.AWS_SECRET_ACCESS_KEY;
    delete awsEnv.AWS_SESSION_TOKEN;
    const cp = await run('aws', ['--endpoint-url', h.s3Url, 's3', 'cp', '-', 's3://ml/process/creds.txt'], awsEnv);
    assert.equal(cp.code, 0, cp.stderr);
    const ls = await run('aws', ['--endpoint-url', h.s3Url, 's3', 'ls', 's3://ml/process/'], { ...awsEnv, PWD: repoRoot() });
    assert.match(ls.stdout, /creds\.txt/);
  });
});
