import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from './config.js';
import { ConfigInvalidError } from '../domain/errors.js';

test('defaults: embedded, loopback, frozen', () => {
  const c = loadConfig();
  assert.equal(c.listen.host, '127.0.0.1');
  assert.equal(c.databaseUrl, null);
  assert.equal(c.tls, null);
  assert.ok(Object.isFrozen(c));
  assert.ok(Object.isFrozen(c.listen));
});

test('precedence: file < environment < flags', () => {
  const dir = mkdtempSync(join(tmpdir(), 'coffer-config-'));
  const file = join(dir, 'c.json');
  writeFileSync(file, JSON.stringify({ logLevel: 'debug', listen: '127.0.0.1:1000', segmentSize: 8192 }));
  const c = loadConfig({ file, env: { COFFER_LISTEN: '127.0.0.1:2000', COFFER_SEGMENT_SIZE: '16384' }, flags: { segmentSize: 32768 } });
  assert.equal(c.logLevel, 'debug');
  assert.equal(c.listen.port, 2000);
  assert.equal(c.segmentSize, 32768);
});

test('unknown keys are errors that name the key', () => {
  const dir = mkdtempSync(join(tmpdir(), 'coffer-config-'));
  const file = join(dir, 'c.json');
  writeFileSync(file, JSON.stringify({ dataDri: '/x' }));
  assert.throws(() => loadConfig({ file }), (e: unknown) => e instanceof ConfigInvalidError && /`dataDri`/.test(e.message));
  assert.throws(() => loadConfig({ env: { COFFER_DATADIR: '/x' } }), /`COFFER_DATADIR`/);
  assert.throws(() => loadConfig({ flags: { bogus: 1 } }), /`bogus`/);
});

test('bad values are refused', () => {
  assert.throws(() => loadConfig({ flags: { listen: 'localhost' } }), ConfigInvalidError);
  assert.throws(() => loadConfig({ flags: { listen: '127.0.0.1:99999' } }), ConfigInvalidError);
  assert.throws(() => loadConfig({ flags: { segmentSize: 12 } }), ConfigInvalidError);
  assert.throws(() => loadConfig({ env: { COFFER_LOG_LEVEL: 'loud' } }), ConfigInvalidError);
  assert.throws(() => loadConfig({ flags: { tlsCertFile: '/a.pem' } }), /together/);
  assert.throws(() => loadConfig({ file: '/nonexistent/coffer.json' }), ConfigInvalidError);
});

test('client variables and test variables are not server config errors', () => {
  const c = loadConfig({ env: { COFFER_URL: 'http://x', COFFER_TOKEN: 'secret', COFFER_TEST_PG_URL: 'x', PATH: '/bin' } });
  assert.equal(c.logLevel, 'info');
});

test('blob store: the filesystem by default; S3 from file, environment and flags, with its rules', () => {
  assert.deepEqual(loadConfig().blobStore, { kind: 'fs' });
  const dir = mkdtempSync(join(tmpdir(), 'coffer-config-'));
  const file = join(dir, 'c.json');
  writeFileSync(file, JSON.stringify({ blobStore: 's3', blobS3Bucket: 'models', blobS3Prefix: 'coffer/', blobS3Region: 'eu-west-1' }));
  const c = loadConfig({ file, env: { COFFER_BLOB_S3_ENDPOINT: 'http://127.0.0.1:7480', COFFER_BLOB_S3_PATH_STYLE: '1', COFFER_BLOB_S3_ACCESS_KEY_ID: 'AK', COFFER_BLOB_S3_SECRET_ACCESS_KEY: 'SK' }, flags: { blobS3PartSize: 8 * 1024 * 1024 } });
  assert.deepEqual(c.blobStore, {
    kind: 's3',
    endpoint: 'http://127.0.0.1:7480',
    region: 'eu-west-1',
    bucket: 'models',
    prefix: 'coffer/',
    forcePathStyle: true,
    credentials: { accessKeyId: 'AK', secretAccessKey: 'SK' },
    conditionalCreate: 'auto',
    partSize: 8 * 1024 * 1024,
    concurrency: 4,
  });
  // no static credentials: the AWS default chain; no endpoint: AWS S3 in the region
  const aws = loadConfig({ flags: { blobStore: 's3', blobS3Bucket: 'models' } });
  assert.ok(aws.blobStore.kind === 's3' && aws.blobStore.credentials === null && aws.blobStore.endpoint === null);
  const secret = 'wJalrXUtnFEMI-secret-value';
  const bad: Record<string, unknown>[] = [
    { blobStore: 's3' },
    { blobStore: 's3', blobS3Bucket: 'Not_A_Bucket' },
    { blobStore: 's3', blobS3Bucket: 'b..x' },
    { blobStore: 's3', blobS3Bucket: 'models', blobS3Prefix: 'no-slash' },
    { blobStore: 's3', blobS3Bucket: 'models', blobS3Prefix: '../x/' },
    { blobStore: 's3', blobS3Bucket: 'models', blobS3Endpoint: `http://AK:${secret}@127.0.0.1:7480` },
    { blobStore: 's3', blobS3Bucket: 'models', blobS3Endpoint: 'http://127.0.0.1:7480/path' },
    { blobStore: 's3', blobS3Bucket: 'models', blobS3Endpoint: 'ftp://127.0.0.1' },
    { blobStore: 's3', blobS3Bucket: 'models', blobS3SecretAccessKey: secret },
    { blobStore: 's3', blobS3Bucket: 'models', blobS3SessionToken: secret },
    { blobStore: 's3', blobS3Bucket: 'models', blobS3PartSize: 1024 },
    { blobStore: 's3', blobS3Bucket: 'models', blobS3ConditionalCreate: 'maybe' },
    { blobStore: 'disk' },
    { blobS3Bucket: 'models' },
    { blobS3SecretAccessKey: secret },
  ];
  for (const flags of bad) {
    assert.throws(() => loadConfig({ flags }), (err: unknown) => {
      assert.ok(err instanceof ConfigInvalidError, JSON.stringify(flags));
      assert.ok(!err.message.includes(secret), `the secret is never echoed: ${err.message}`);
      return true;
    });
  }
});

test('key provider: file by default, env with rootKey, PKCS#11 and KMS with what they need, nothing half-configured', () => {
  assert.deepEqual(loadConfig({ flags: { dataDir: '/srv/coffer' } }).keyProvider, { kind: 'file', path: '/srv/coffer/root.key', previousRootKey: null });
  assert.deepEqual(loadConfig({ env: { COFFER_ROOT_KEY: 'a2V5' } }).keyProvider, { kind: 'env', rootKey: 'a2V5', previousRootKey: null });
  assert.deepEqual(loadConfig({ env: { COFFER_KEY_PROVIDER: 'pkcs11', COFFER_PKCS11_MODULE: '/usr/lib/softhsm/libsofthsm2.so', COFFER_PKCS11_TOKEN_LABEL: 'coffer', COFFER_PKCS11_PIN_FILE: '/run/secrets/pin' } }).keyProvider, {
    kind: 'pkcs11',
    module: '/usr/lib/softhsm/libsofthsm2.so',
    tokenLabel: 'coffer',
    pin: null,
    pinFile: '/run/secrets/pin',
    keyLabel: 'coffer-root-key',
    previousRootKey: null,
  });
  assert.deepEqual(loadConfig({ flags: { keyProvider: 'kms', kmsKeyId: 'alias/coffer', kmsRegion: 'eu-west-1', rootKeyPrevious: 'b2xk' } }).keyProvider, {
    kind: 'kms',
    keyId: 'alias/coffer',
    region: 'eu-west-1',
    endpoint: null,
    credentials: null,
    previousRootKey: 'b2xk',
  });
  const pin = '1234-secret-pin';
  const bad: Record<string, unknown>[] = [
    { keyProvider: 'env' },
    { keyProvider: 'file', rootKey: 'a2V5' },
    { keyProvider: 'pkcs11', pkcs11Module: '/m.so', pkcs11TokenLabel: 't' },
    { keyProvider: 'pkcs11', pkcs11Module: '/m.so', pkcs11TokenLabel: 't', pkcs11Pin: pin, pkcs11PinFile: '/f' },
    { keyProvider: 'pkcs11', pkcs11TokenLabel: 't', pkcs11Pin: pin },
    { keyProvider: 'kms' },
    { keyProvider: 'kms', kmsKeyId: 'k', kmsAccessKeyId: 'AK' },
    { keyProvider: 'kms', kmsKeyId: 'k', pkcs11Pin: pin },
    { pkcs11Pin: pin },
    { kmsKeyId: 'alias/x' },
    { keyProvider: 'hsm' },
  ];
  for (const flags of bad) {
    assert.throws(() => loadConfig({ flags }), (err: unknown) => {
      assert.ok(err instanceof ConfigInvalidError, JSON.stringify(flags));
      assert.ok(!err.message.includes(pin), `the PIN is never echoed: ${err.message}`);
      return true;
    });
  }
});
