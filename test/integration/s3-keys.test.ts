/**
 * The full S3 key space (issue 13, item 1), buckets (6), versioned deletes that make
 * `rclone purge` work (7) and the v1 Prefix echo (10c), with the real clients: rclone
 * (Debian) and the AWS CLI (image Python), plus raw signed requests for what no client sends.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CreateBucketCommand, DeleteObjectCommand, GetObjectCommand, ListObjectsCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import type { S3Credentials } from '../../src/client/s3-client.js';
import { signS3 } from '../support/s3-signer.js';
import { s3Error, sdkClient } from './s3-client-helpers.js';
import { clientEnv, pythonClientsMissing, run } from './s3-python.js';
import { startS3Harness, type S3Harness } from './s3-harness.js';

const rcloneMissing = spawnSync('rclone', ['version'], { encoding: 'utf8' }).status === 0 ? null : 'rclone is not installed (apt-get install rclone)';
const awsMissing = pythonClientsMissing();

/** Names S3 accepts and Coffer refused before: non-ASCII, `% ? # @ [ ] { } ^ | \ " < >`, dots. */
const SPECIAL = ['café.txt', 'data/日本.bin', 'sp ecial/100%', 'sp ecial/q?x', 'sp ecial/h#x', 'sp ecial/at@1', 'sp ecial/br[1]{2}', 'sp ecial/c^|', 'sp ecial/quo"te', 'sp ecial/lt<gt>', 'sp ecial/..x', 'sp ecial/a b+c', 'sp ecial/back\\slash', 'emoji/😀.bin', 'mlflow/1/abc/artifacts/model/MLmodel'];

/** Sends a presigned request with the path exactly as given (fetch would normalise `..` and `%2e%2e`). */
function rawSend(s3Url: string, creds: S3Credentials, method: string, path: string): Promise<{ status: number; text: string }> {
  const url = new URL(s3Url);
  let signed: { rawPath: string; rawQuery: string };
  try {
    signed = signS3(creds, { method, path, presign: true, host: url.host });
  } catch {
    // a path no signer can canonicalise (invalid UTF-8) is refused before authentication
    signed = { rawPath: path, rawQuery: '' };
  }
  return new Promise((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, method, path: signed.rawQuery === "" ? signed.rawPath : `${signed.rawPath}?${signed.rawQuery}`, headers: { 'content-length': '0' } }, (res) => {
      let text = '';
      res.on('data', (b: Buffer) => (text += b.toString('utf8')));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('error', reject);
    req.end();
  });
}

function utf8Sorted(keys: string[]): string[] {
  return [...keys].sort((a, b) => Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8')));
}

const pgUrl = process.env.COFFER_TEST_PG_URL;

for (const dialect of ['sqlite', 'postgres'] as const) {
const skip = dialect === 'postgres' && !pgUrl ? (process.env.CI ? false : 'COFFER_TEST_PG_URL is not set') : false;
void describe(`S3 key space, buckets and versioned deletes (${dialect})`, { skip }, () => {
  let h: S3Harness;
  let creds: S3Credentials;
  before(async () => {
    if (dialect === 'postgres') assert.ok(pgUrl, 'COFFER_TEST_PG_URL is not set: CI must run the PostgreSQL suite');
    h = await startS3Harness(dialect === 'postgres' ? { postgresUrl: pgUrl } : {});
    await h.admin.createProject({ name: 'keys' });
    creds = await h.credentials(h.adminToken);
  });
  after(async () => h?.close());

  void test('every key S3 accepts round-trips through the SDK, maps to one canonical name, and lists in UTF-8 byte order', async () => {
    const s3 = sdkClient(h.s3Url, creds);
    const keys = [...SPECIAL, 'dir/', 'runs/1/artifacts/', 'a//b', '/lead', './x', 'a/./b', '../up', 'a/../b', '%2e%2e/x', 'a%2Fb', 'a/b', 'x'.repeat(1024), 'é'.repeat(512), 'tab\there', 'ctl\u0001'];
    for (const [i, Key] of keys.entries()) await s3.send(new PutObjectCommand({ Bucket: 'keys', Key, Body: `body ${i}` }));
    for (const [i, Key] of keys.entries()) {
      const got = await s3.send(new GetObjectCommand({ Bucket: 'keys', Key }));
      assert.equal(await got.Body!.transformToString(), `body ${i}`, JSON.stringify(Key.slice(0, 40)));
    }
    const listed: string[] = [];
    let token: string | undefined;
    do {
      const page = await s3.send(new ListObjectsV2Command({ Bucket: 'keys', MaxKeys: 7, ContinuationToken: token }));
      listed.push(...(page.Contents ?? []).map((c) => c.Key!));
      token = page.NextContinuationToken;
    } while (token !== undefined);
    assert.deepEqual(listed, utf8Sorted(keys), 'each key once, in UTF-8 byte order (emoji after U+FFFF-range characters)');
    // the catalog holds canonical names: no traversal segment, nothing outside printable ASCII
    const names: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await h.admin.listArtifacts('keys', { limit: 100, ...(cursor ? { cursor } : {}) });
      names.push(...page.items.map((a) => a.name));
      cursor = page.next ?? undefined;
    } while (cursor !== undefined);
    assert.equal(names.length, keys.length, 'keys that look alike (`a%2Fb`, `a/b`, `a//b`) stay distinct');
    for (const name of names) {
      assert.match(name, /^[\x20-\x7e]+$/);
      for (const seg of name.split('/')) assert.ok(seg !== '' && seg !== '.' && seg !== '..', name);
    }
    assert.ok(names.includes('dir%2F') && names.includes('%2E%2E/up') && names.includes('caf%C3%A9.txt') && names.includes('%252e%252e/x'), names.slice(0, 12).join(' '));
    // the REST API reads the same object by its canonical name
    const art = await h.admin.showArtifact('keys', 'a/%2E%2E/b');
    assert.equal(art.versions.length, 1);
    // a delimiter rolls `a//b` up into `a/` and `dir/` is its own key under `dir/`
    const rolled = await s3.send(new ListObjectsV2Command({ Bucket: 'keys', Prefix: 'dir/', Delimiter: '/' }));
    assert.deepEqual(rolled.Contents?.map((c) => c.Key), ['dir/']);
    const a = await s3.send(new ListObjectsV2Command({ Bucket: 'keys', Prefix: 'a/', Delimiter: '/' }));
    assert.deepEqual(a.CommonPrefixes?.map((p) => p.Prefix), ['a/../', 'a/./', 'a//'], '`.` (0x2E) sorts before `/` (0x2F)');
    assert.deepEqual(a.Contents?.map((c) => c.Key), ['a/b']);
    const uni = await s3.send(new ListObjectsV2Command({ Bucket: 'keys', Prefix: 'caf' }));
    assert.deepEqual(uni.Contents?.map((c) => c.Key), ['café.txt']);
    s3.destroy();
  });

  void test('abuse: NUL, invalid and overlong UTF-8, over 1024 bytes, raw traversal paths', async () => {
    for (const [path, code] of [
      ['/keys/a%00b', 'InvalidArgument'],
      ['/keys/bad%C3%28', 'InvalidURI'],
      ['/keys/%C0%AE%C0%AE/x', 'InvalidURI'],
      ['/keys/%ED%A0%80', 'InvalidURI'],
      [`/keys/${'y'.repeat(1025)}`, 'KeyTooLongError'],
      [`/keys/${'%C3%A9'.repeat(513)}`, 'KeyTooLongError'],
    ] as const) {
      const r = await rawSend(h.s3Url, creds, 'PUT', path);
      assert.equal(r.status, 400, `${path.slice(0, 30)}: ${r.text.slice(0, 300)}`);
      assert.match(r.text, new RegExp(`<Code>${code}</Code>`), path.slice(0, 30));
    }
    // raw `..` segments are literal key text, never a way out of the bucket or into another
    await h.admin.createProject({ name: 'other' });
    for (const path of ['/keys/../other/x', '/keys/%2e%2e/other/y', '/keys/..%2Fother%2Fz']) {
      const r = await rawSend(h.s3Url, creds, 'PUT', path);
      assert.equal(r.status, 200, `${path}: ${r.text.slice(0, 200)}`);
    }
    assert.equal((await h.admin.listArtifacts('other')).items.length, 0, 'nothing landed in the other bucket');
    const names = (await h.admin.listArtifacts('keys', { limit: 500 })).items.map((a) => a.name);
    for (const n of ['%2E%2E/other/x', '%2E%2E/other/y', '%2E%2E/other/z']) assert.ok(names.includes(n), n);
  });

  void test('CreateBucket: S3 name rules; the owner gets BucketAlreadyOwnedByYou; a caller who may not create projects learns nothing', async () => {
    const admin = sdkClient(h.s3Url, creds);
    for (const bad of ['ab', 'a', 'Upper', 'has_underscore', '-lead', 'trail-', 'a..b', '192.168.1.1', 'xn--abc', 'x'.repeat(64)]) {
      assert.equal((await s3Error(admin.send(new CreateBucketCommand({ Bucket: bad })))).code, 'InvalidBucketName', bad);
    }
    await admin.send(new CreateBucketCommand({ Bucket: 'abc' }));
    assert.deepEqual(await s3Error(admin.send(new CreateBucketCommand({ Bucket: 'abc' }))), { code: 'BucketAlreadyOwnedByYou', status: 409 });
    const user = sdkClient(h.s3Url, await h.credentials(await h.user('plain')));
    // taken and free names answer alike to a caller who may not create projects
    const taken = await s3Error(user.send(new CreateBucketCommand({ Bucket: 'abc' })));
    const free = await s3Error(user.send(new CreateBucketCommand({ Bucket: 'never-made' })));
    assert.deepEqual(taken, { code: 'AccessDenied', status: 403 });
    assert.deepEqual(free, taken);
    // a reader of the bucket sees it: BucketAlreadyOwnedByYou, as rclone's bucket check needs
    await h.admin.createGrant({ principal: 'plain', role: 'reader', project: 'abc' });
    assert.equal((await s3Error(user.send(new CreateBucketCommand({ Bucket: 'abc' })))).code, 'BucketAlreadyOwnedByYou');
    admin.destroy();
    user.destroy();
  });

  void test('ListObjects v1 echoes Prefix as sent, also with encoding-type=url (v2 encodes it)', async () => {
    const s3 = sdkClient(h.s3Url, creds);
    const v1 = await rawSend(h.s3Url, creds, 'GET', '/keys');
    assert.equal(v1.status, 200);
    const signed = signS3(creds, { method: 'GET', path: '/keys', presign: true, host: new URL(h.s3Url).host, query: [['prefix', 'sp ecial/'], ['encoding-type', 'url']] });
    const res = await fetch(`${h.s3Url}${signed.rawPath}?${signed.rawQuery}`);
    const text = await res.text();
    assert.match(text, /<Prefix>sp ecial\/<\/Prefix>/);
    assert.match(text, /<Key>sp%20ecial\/100%25<\/Key>/);
    const sdk = await s3.send(new ListObjectsCommand({ Bucket: 'keys', Prefix: 'sp ecial/q?' }));
    assert.equal(sdk.Prefix, 'sp ecial/q?');
    assert.deepEqual(sdk.Contents?.map((c) => c.Key), ['sp ecial/q?x']);
    s3.destroy();
  });

  void test('DeleteObject by version id: the latest is purged from the S3 view (the previous becomes current), recorded, and kept in Coffer', async () => {
    await h.admin.createProject({ name: 'purge' });
    const s3 = sdkClient(h.s3Url, creds);
    const v1 = await s3.send(new PutObjectCommand({ Bucket: 'purge', Key: 'm/é.bin', Body: 'one' }));
    const v2 = await s3.send(new PutObjectCommand({ Bucket: 'purge', Key: 'm/é.bin', Body: 'two' }));
    const del = await s3.send(new DeleteObjectCommand({ Bucket: 'purge', Key: 'm/é.bin', VersionId: v2.VersionId }));
    assert.equal(del.VersionId, v2.VersionId);
    assert.equal(del.DeleteMarker, undefined);
    const now = await s3.send(new GetObjectCommand({ Bucket: 'purge', Key: 'm/é.bin' }));
    assert.equal(await now.Body!.transformToString(), 'one');
    assert.equal((await s3Error(s3.send(new GetObjectCommand({ Bucket: 'purge', Key: 'm/é.bin', VersionId: v2.VersionId })))).code, 'NoSuchKey');
    // again: no effect, no error (S3 answers 204 for a version that is gone)
    await s3.send(new DeleteObjectCommand({ Bucket: 'purge', Key: 'm/é.bin', VersionId: v2.VersionId }));
    await s3.send(new DeleteObjectCommand({ Bucket: 'purge', Key: 'm/é.bin', VersionId: v1.VersionId }));
    assert.equal((await s3.send(new ListObjectsV2Command({ Bucket: 'purge' }))).KeyCount, 0);
    // both versions are still in Coffer, immutable, and each purge is on the record
    const art = await h.admin.showArtifact('purge', 'm/%C3%A9.bin');
    assert.equal(art.versions.length, 2);
    const audit = await h.audit();
    const purges = audit.filter((r) => r.body.action === 'delete' && r.body.resource.startsWith('project/purge/artifact/m/%C3%A9.bin@') && r.body.outcome === 'success');
    assert.equal(purges.length, 2, JSON.stringify(purges.map((p) => p.body.resource)));
    // a reader may not purge: AccessDenied, nothing changes
    await s3.send(new PutObjectCommand({ Bucket: 'purge', Key: 'kept', Body: 'kept' }));
    await h.user('reader');
    const readerToken = (await h.admin.createToken({ principal: 'reader' })).token;
    await h.admin.createGrant({ principal: 'reader', role: 'reader', project: 'purge' });
    const reader = sdkClient(h.s3Url, await h.credentials(readerToken));
    assert.equal((await s3Error(reader.send(new DeleteObjectCommand({ Bucket: 'purge', Key: 'kept', VersionId: '1' })))).code, 'AccessDenied');
    assert.equal(await (await s3.send(new GetObjectCommand({ Bucket: 'purge', Key: 'kept' }))).Body!.transformToString(), 'kept');
    // a caller who cannot see the bucket gets the answer of a missing bucket (hidden equals missing), and nothing changes
    const stranger = sdkClient(h.s3Url, await h.credentials(await h.user('stranger')));
    const hidden = await s3Error(stranger.send(new DeleteObjectCommand({ Bucket: 'purge', Key: 'kept', VersionId: '1' })));
    const missing = await s3Error(stranger.send(new DeleteObjectCommand({ Bucket: 'no-such-bucket', Key: 'kept', VersionId: '1' })));
    assert.deepEqual(hidden, missing);
    assert.equal(await (await s3.send(new GetObjectCommand({ Bucket: 'purge', Key: 'kept' }))).Body!.transformToString(), 'kept');
    for (const c of [s3, reader, stranger]) c.destroy();
  });

  // the real clients once, on the default dialect (the PostgreSQL run checks order and purge)
  void describe('with rclone', { skip: dialect === 'postgres' ? 'the real clients run on SQLite' : (rcloneMissing ?? false) }, () => {
    let env: NodeJS.ProcessEnv;
    let tree: string;
    before(async () => {
      const conf = join(h.dir, 'rclone.conf');
      writeFileSync(conf, ['[c]', 'type = s3', 'provider = Other', 'env_auth = true', `endpoint = ${h.s3Url}`, 'region = us-east-1', ''].join('\n'));
      env = { ...clientEnv(h.s3Url, 'keys', creds), RCLONE_CONFIG: conf };
      delete env.AWS_CA_BUNDLE;
      tree = join(h.dir, 'tree');
      for (const [i, name] of SPECIAL.entries()) {
        mkdirSync(join(tree, name, '..'), { recursive: true });
        writeFileSync(join(tree, name), `file ${i}: ${name}\n`);
      }
    });

    void test('rclone sync up and down of a tree with non-ASCII and special names; rclone check finds no difference', async () => {
      const up = await run('rclone', ['sync', tree, 'c:keys/tree'], env);
      assert.equal(up.code, 0, up.stderr.slice(-2000));
      const check = await run('rclone', ['check', tree, 'c:keys/tree'], env);
      assert.equal(check.code, 0, check.stderr.slice(-2000));
      assert.match(check.stderr, new RegExp(`0 differences found[\\s\\S]*${SPECIAL.length} matching files`));
      const down = join(h.dir, 'down');
      const got = await run('rclone', ['sync', 'c:keys/tree', down], env);
      assert.equal(got.code, 0, got.stderr.slice(-2000));
      for (const name of SPECIAL) assert.equal(readFileSync(join(down, name), 'utf8'), readFileSync(join(tree, name), 'utf8'), name);
    });

    void test('rclone purge removes every key from the S3 view (versions and delete markers included); Coffer keeps the versions', async () => {
      assert.equal((await run('rclone', ['sync', tree, 'c:keys/p'], env)).code, 0);
      // a second version of one key, and a delete marker on another, as a working tree has
      writeFileSync(join(tree, 'café.txt'), 'changed\n');
      assert.equal((await run('rclone', ['sync', tree, 'c:keys/p'], env)).code, 0);
      assert.equal((await run('rclone', ['deletefile', 'c:keys/p/sp ecial/at@1'], env)).code, 0);
      const before = await run('rclone', ['lsf', '-R', '--files-only', 'c:keys/p'], env);
      assert.equal(before.stdout.trim().split('\n').length, SPECIAL.length - 1);
      const purge = await run('rclone', ['purge', 'c:keys/p'], env);
      assert.equal(purge.code, 0, purge.stderr.slice(-3000));
      const after = await run('rclone', ['lsf', '-R', 'c:keys/p'], env);
      assert.equal(after.stdout.trim(), '', 'nothing left, not even an undeleted key');
      const art = await h.admin.showArtifact('keys', 'p/caf%C3%A9.txt');
      assert.equal(art.versions.length, 2, 'both versions are kept in Coffer');
    });

    void test('MLflow-shaped keys: nested artifact paths and a folder marker ending in `/`, through the AWS CLI and rclone', { skip: awsMissing ?? false }, async () => {
      const awsEnv = clientEnv(h.s3Url, 'keys', creds);
      // the folder marker through the AWS CLI, the rest through the SDK (each CLI start costs seconds here)
      const marker = await run('aws', ['--endpoint-url', h.s3Url, 's3api', 'put-object', '--bucket', 'keys', '--key', 'mlruns/0/r1/artifacts/'], awsEnv);
      assert.equal(marker.code, 0, marker.stderr);
      const s3 = sdkClient(h.s3Url, creds);
      for (const key of ['mlruns/0/r1/artifacts/model/', 'mlruns/0/r1/artifacts/model/MLmodel', 'mlruns/0/r1/artifacts/model/data/model.pkl']) {
        await s3.send(new PutObjectCommand({ Bucket: 'keys', Key: key, Body: key.endsWith('/') ? '' : 'artifact bytes' }));
      }
      s3.destroy();
      const ls = await run('aws', ['--endpoint-url', h.s3Url, 's3api', 'list-objects-v2', '--bucket', 'keys', '--prefix', 'mlruns/0/r1/artifacts/', '--delimiter', '/', '--output', 'json'], awsEnv);
      const page = JSON.parse(ls.stdout) as { Contents: Array<{ Key: string; Size: number }>; CommonPrefixes: Array<{ Prefix: string }> };
      assert.deepEqual(page.Contents.map((c) => [c.Key, c.Size]), [['mlruns/0/r1/artifacts/', 0]]);
      assert.deepEqual(page.CommonPrefixes.map((p) => p.Prefix), ['mlruns/0/r1/artifacts/model/']);
      const lsf = await run('rclone', ['lsf', '-R', 'c:keys/mlruns/0/r1/artifacts'], env);
      assert.equal(lsf.code, 0, lsf.stderr);
      assert.deepEqual(lsf.stdout.trim().split('\n').sort(), ['model/', 'model/MLmodel', 'model/data/', 'model/data/model.pkl']);
    });
  });
});
}
