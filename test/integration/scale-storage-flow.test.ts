import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { CofferApiError, CofferClient } from '../../src/client/index.js';
import { bootstrapAdmin, findRecords, parseAuditExport, readText, startInProcess } from '../support/index.js';
import type { ConfigFlags, InProcessServer } from '../support/index.js';
import { KmsStandIn } from '../support/kms-stand-in.js';
import { pgAdmin } from '../support/postgres.js';
import { emptyPrefix, ensureBucket, rawS3Client, requireS3TestServer, s3Settings, s3Skip, s3TestServer, uniquePrefix } from '../support/s3-server.js';
import { createSoftHsmToken, softHsmSkip, type SoftHsmToken } from '../support/softhsm.js';
import { openS3BlobStore } from '../../src/store/s3/index.js';

// Coffer on the scaled-out stores: PostgreSQL + a real S3 server (Ceph RGW in CI) through
// the REST API, and the root key held by an HSM (SoftHSM2) or a KMS (local stand-in).

const pgUrl = process.env.COFFER_TEST_PG_URL;
const inCi = process.env.CI !== undefined && process.env.CI !== '' && process.env.CI !== 'false';
const pgSkip = pgUrl ? false : inCi ? false : 'skipped: set COFFER_TEST_PG_URL to run the PostgreSQL + S3 flow';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const collect = async (body: Readable) => Buffer.concat((await body.toArray()) as Buffer[]);

/** Every file under `dir`, relative. */
async function filesUnder(dir: string): Promise<string[]> {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) if (entry.isFile()) out.push(join(entry.parentPath, entry.name).slice(dir.length + 1));
  return out;
}

void describe('PostgreSQL + S3 (real RGW): push, pull, rotate keys and the root key through the REST API', { skip: s3Skip() || pgSkip, timeout: 300_000 }, () => {
  const dbName = `coffer_s3_${randomBytes(6).toString('hex')}`;
  let dbUrl: string;
  let dir: string;
  let server: InProcessServer | undefined;
  let created = false;
  let prefix: string;

  before(async () => {
    // INVARIANT: in CI this flow never silently vanishes
    assert.ok(pgUrl, 'CI is set but COFFER_TEST_PG_URL is not');
    requireS3TestServer();
    const u = new URL(pgUrl);
    u.pathname = `/${dbName}`;
    dbUrl = u.toString();
    await pgAdmin(pgUrl, `CREATE DATABASE ${dbName}`);
    created = true;
    dir = await mkdtemp(join(tmpdir(), 'coffer-scale-'));
    prefix = uniquePrefix('flow');
  });

  after(async () => {
    await server?.close();
    if (created && pgUrl) await pgAdmin(pgUrl, `DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
    const s3 = s3TestServer();
    if (s3 !== null && prefix !== undefined) {
      const store = await openS3BlobStore(s3Settings(s3, prefix, { conditionalCreate: 'none' }));
      await emptyPrefix(s3, store, prefix);
      store.close();
    }
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  void test('the core flow on PostgreSQL + RGW: blobs only in the bucket, ciphertext only, rotations keep everything readable, a restart too', async () => {
    const s3 = requireS3TestServer();
    await ensureBucket(s3);
    const flags: ConfigFlags = {
      databaseUrl: dbUrl,
      blobStore: 's3',
      blobS3Endpoint: s3.endpoint,
      blobS3Region: s3.region,
      blobS3Bucket: s3.bucket,
      blobS3Prefix: prefix,
      blobS3PathStyle: 1,
      blobS3AccessKeyId: s3.accessKeyId,
      blobS3SecretAccessKey: s3.secretAccessKey,
      blobS3PartSize: 5 * 1024 * 1024,
    };
    const dataDir = join(dir, 'data');
    server = await startInProcess(dataDir, { flags });
    const { client: alice, token: aliceToken } = await bootstrapAdmin(server.url, server.setupToken);
    await alice.createProject({ name: 'vision' });
    await alice.createArtifact('vision', { name: 'resnet', kind: 'model', tier: 'restricted', environment: 'dev' });
    // large enough for a multipart upload (5 MiB parts), plus a small one (one PutObject)
    const v1 = randomBytes(12 * 1024 * 1024 + 17);
    const v2 = Buffer.from('second version');
    assert.equal((await alice.push('vision', 'resnet', Readable.from([v1]), { size: v1.length, sha256: sha(v1) })).number, 1);
    assert.equal((await alice.push('vision', 'resnet', Readable.from([v2]), { size: v2.length })).number, 2);
    await alice.createPrincipal({ kind: 'user', name: 'bob' });
    await alice.createGrant({ principal: 'bob', role: 'reader', project: 'vision', artifact: 'resnet', version: 1 });
    const bobToken = (await alice.createToken({ principal: 'bob' })).token;

    const asBob = async () => {
      const bob = new CofferClient({ baseUrl: server!.url, token: bobToken });
      assert.equal(sha(await collect((await bob.pull('vision', 'resnet', 1)).body)), sha(v1), 'bob pulls v1 byte for byte');
      const ranged = await bob.pull('vision', 'resnet', 1, { range: { start: 5 * 1024 * 1024 - 10, end: 5 * 1024 * 1024 + 10 } });
      assert.ok((await collect(ranged.body)).equals(v1.subarray(5 * 1024 * 1024 - 10, 5 * 1024 * 1024 + 11)), 'a range across a part boundary');
      await assert.rejects(bob.pull('vision', 'resnet', 2), (err: unknown) => err instanceof CofferApiError && err.status === 404 && err.code === 'COFFER_NOT_FOUND');
    };
    await asBob();

    // the blobs live in the bucket under the prefix, as ciphertext, and nowhere in the data dir
    const client = rawS3Client(s3);
    try {
      const listed = await client.send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: prefix }));
      const objects = (listed.Contents ?? []).map((o) => ({ key: o.Key!, size: o.Size! }));
      assert.equal(objects.length, 2, JSON.stringify(objects));
      assert.ok(objects.every((o) => /^[^/]+\/objects\/[0-9a-f]{2}\/ver_[a-z0-9]+$/.test(o.key)), JSON.stringify(objects));
      const big = objects.find((o) => o.size > v1.length)!;
      const stored = await collect((await client.send(new GetObjectCommand({ Bucket: s3.bucket, Key: big.key }))).Body as Readable);
      assert.equal(stored.indexOf(v1.subarray(0, 64)), -1, 'no plaintext in the bucket');
      assert.equal(stored.indexOf(v1.subarray(8 * 1024 * 1024, 8 * 1024 * 1024 + 64)), -1, 'no plaintext in the bucket');
    } finally {
      client.destroy();
    }
    assert.deepEqual((await filesUnder(join(dataDir, 'blobs'))).filter((f) => !f.startsWith('.tmp')), []);

    // KEK rotation, then root key rotation: both audited, data readable throughout
    const rotated = await alice.rotateKeys();
    assert.deepEqual(rotated, { term: 2, rewrapped: 2 });
    await asBob();
    const keyBefore = await readFile(join(dataDir, 'root.key'));
    const root = await alice.rotateRootKey();
    assert.equal(root.provider, 'file');
    assert.equal(root.destroyedPrevious, true);
    assert.notEqual(root.keyId, root.previousKeyId);
    assert.ok(!(await readFile(join(dataDir, 'root.key'))).equals(keyBefore), 'the key file holds the new root key');
    await asBob();

    const records = parseAuditExport(await readText(await alice.exportAudit()));
    assert.equal(findRecords(records, { action: 'rotate-keys', resource: 'keyring', outcome: 'success', actor: 'alice' }).length, 1);
    const rootRecords = findRecords(records, { action: 'rotate-keys', resource: 'keyring/root', outcome: 'success', actor: 'alice' });
    assert.equal(rootRecords.length, 1);
    assert.ok(!JSON.stringify(rootRecords).includes(keyBefore.toString('base64')), 'no key material in the record');
    assert.equal((await alice.verifyAudit()).ok, true);

    await server.close();
    server = await startInProcess(dataDir, { flags });
    await asBob();
    assert.equal((await new CofferClient({ baseUrl: server.url, token: aliceToken }).verifyAudit()).ok, true);
  });
});

/** Starts the embedded default with `flags`, bootstraps alice, pushes one version; returns what a restart needs. */
async function pushOne(dataDir: string, flags: ConfigFlags, content: Buffer): Promise<{ server: InProcessServer; alice: CofferClient; token: string }> {
  const server = await startInProcess(dataDir, { flags });
  const { client: alice, token } = await bootstrapAdmin(server.url, server.setupToken);
  await alice.createProject({ name: 'p' });
  await alice.createArtifact('p', { name: 'a', kind: 'model', tier: 'internal', environment: 'dev' });
  await alice.push('p', 'a', Readable.from([content]), { size: content.length });
  return { server, alice, token };
}

void describe('root key in an HSM (SoftHSM2 through PKCS#11): coffer server, rotate-root over REST', { skip: softHsmSkip(), timeout: 120_000 }, () => {
  let token: SoftHsmToken;
  let dir: string;
  let server: InProcessServer | undefined;
  before(async () => {
    token = await createSoftHsmToken('coffer-server');
    dir = await mkdtemp(join(tmpdir(), 'coffer-hsm-'));
  });
  after(async () => {
    await server?.close();
    await token?.remove();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  void test('no root key on the node\'s disk; data survives a restart and a root key rotation; the rotation is audited', async () => {
    const flags: ConfigFlags = { keyProvider: 'pkcs11', pkcs11Module: token.module, pkcs11TokenLabel: token.tokenLabel, pkcs11Pin: token.pin };
    const dataDir = join(dir, 'data');
    const content = randomBytes(300_000);
    const started = await pushOne(dataDir, flags, content);
    server = started.server;
    assert.ok(!existsSync(join(dataDir, 'root.key')), 'no key file with an HSM');
    const rotation = await started.alice.rotateRootKey();
    assert.equal(rotation.provider, 'pkcs11');
    assert.equal(rotation.destroyedPrevious, true);
    await server.close();
    server = await startInProcess(dataDir, { flags });
    const alice = new CofferClient({ baseUrl: server.url, token: started.token });
    assert.ok((await collect((await alice.pull('p', 'a', 1)).body)).equals(content));
    const records = parseAuditExport(await readText(await alice.exportAudit()));
    const rec = findRecords(records, { action: 'rotate-keys', resource: 'keyring/root', outcome: 'success' });
    assert.equal(rec.length, 1);
    assert.ok(JSON.stringify(rec[0]).includes(rotation.keyId), 'the record names the new root key object');
    assert.ok(!(await filesUnder(dataDir)).some((f) => f.endsWith('.key')), 'no key file anywhere in the data dir');
  });

  void test('a wrong PIN keeps the server from starting, whether or not this process is logged in to the token', async () => {
    const wrong = { keyProvider: 'pkcs11', pkcs11Module: token.module, pkcs11TokenLabel: token.tokenLabel, pkcs11Pin: 'not-the-pin' };
    const refused = (err: unknown) => err instanceof Error && /PKCS#11 login failed/.test(err.message) && !err.message.includes('not-the-pin');
    // the server of the test before is still up: the token's login is this process's already
    assert.ok(server !== undefined);
    await assert.rejects(startInProcess(join(dir, 'other'), { flags: wrong }), refused);
    await server.close();
    server = undefined;
    await assert.rejects(startInProcess(join(dir, 'other'), { flags: wrong }), refused);
  });
});

void describe('root key in KMS (AWS SDK against the KMS stand-in): moving an embedded install off its key file', { timeout: 120_000 }, () => {
  let kms: KmsStandIn;
  let dir: string;
  let server: InProcessServer | undefined;
  before(async () => {
    kms = await KmsStandIn.start();
    dir = await mkdtemp(join(tmpdir(), 'coffer-kms-'));
  });
  after(async () => {
    await server?.close();
    await kms?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  void test('key file -> KMS: rootKeyPrevious opens, rotate-root rewraps under KMS, then the key file can go', async () => {
    const dataDir = join(dir, 'data');
    const content = randomBytes(100_000);
    const started = await pushOne(dataDir, {}, content);
    await started.server.close();
    const keyFile = join(dataDir, 'root.key');
    const previous = (await readFile(keyFile)).toString('base64');
    const { arn } = kms.createKey('coffer');
    const kmsFlags: ConfigFlags = { keyProvider: 'kms', kmsKeyId: 'alias/coffer', kmsRegion: kms.region, kmsEndpoint: kms.endpoint, kmsAccessKeyId: kms.accessKeyId, kmsSecretAccessKey: kms.secretAccessKey };
    // KMS alone cannot open a keyring sealed by the key file
    await assert.rejects(startInProcess(dataDir, { flags: kmsFlags }), /sealed by a local/);
    server = await startInProcess(dataDir, { flags: { ...kmsFlags, rootKeyPrevious: previous } });
    const alice = new CofferClient({ baseUrl: server.url, token: started.token });
    const rotation = await alice.rotateRootKey();
    assert.deepEqual(rotation, { provider: 'kms', keyId: arn, previousKeyId: rotation.previousKeyId, destroyedPrevious: false });
    assert.match(rotation.previousKeyId ?? '', /^[0-9a-f]{16}$/);
    await server.close();
    await rm(keyFile);
    server = await startInProcess(dataDir, { flags: kmsFlags });
    const again = new CofferClient({ baseUrl: server.url, token: started.token });
    assert.ok((await collect((await again.pull('p', 'a', 1)).body)).equals(content));
    assert.ok(!existsSync(keyFile), 'no key file was made again');
    assert.ok((kms.calls.get('Decrypt') ?? 0) >= 1 && (kms.calls.get('Encrypt') ?? 0) >= 1);
    assert.equal((await again.verifyAudit()).ok, true);
  });
});
