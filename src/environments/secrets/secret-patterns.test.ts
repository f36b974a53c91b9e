import assert from 'node:assert/strict';
import { test } from 'node:test';
import { generateToken } from '../../identity/token-format.js';
import { SECRET_KINDS, findSecrets, isSecretName } from './secret-patterns.js';

const PEM = '-----BEGIN RSA PRIVATE KEY-----';
const AZURE_KEY = 'A'.repeat(40) + 'b/c+d' + '9'.repeat(41) + '==';

/** One line per format, with the kind it must be reported as. */
const SAMPLES: [string, string][] = [
  ['coffer-token', `COFFER_TOKEN=${generateToken('pat')}`],
  ['aws-access-key-id', 'aws_access_key_id = AKIAIOSFODNN7EXAMPLE'],
  ['aws-access-key-id', 'export AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE'],
  ['aws-secret-access-key', 'aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY'],
  ['aws-secret-access-key', '"SecretAccessKey": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",'],
  ['gcp-service-account-key', '  "private_key": "-----BEGIN PRIVATE KEY-----\\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\\n-----END PRIVATE KEY-----\\n",'],
  ['gcp-api-key', 'key=AIzaSyA1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q'],
  ['azure-storage-key', `DefaultEndpointsProtocol=https;AccountName=acmeml;AccountKey=${AZURE_KEY};EndpointSuffix=core.windows.net`],
  ['azure-shared-access-key', 'Endpoint=sb://acme.servicebus.windows.net/;SharedAccessKeyName=send;SharedAccessKey=0123456789abcdefghijABCDEFGHIJ0123456789ab='],
  ['azure-sas-token', 'https://acmeml.blob.core.windows.net/models?sv=2022-11-02&ss=b&srt=co&sp=rl&se=2030-01-01T00:00:00Z&sig=AbCdEfGhIjKlMnOpQrStUvWxYz0123456789%2BabcdE%3D'],
  ['private-key', PEM],
  ['private-key', '-----BEGIN OPENSSH PRIVATE KEY-----'],
  ['github-token', 'token: ghp_R7Yq2mT9wK4zX8pL1nV6bC3dF5gH0jS2aQeU'],
  ['github-token', `GH=github_pat_${'a1B2'.repeat(20)}xy`],
];

test('every format is found, reported as its kind, and shown only as a short prefix', () => {
  for (const [kind, line] of SAMPLES) {
    const found = findSecrets(line);
    assert.equal(found.length, 1, `${kind}: ${found.map((f) => f.kind).join(',')} in ${line.slice(0, 40)}`);
    const f = found[0]!;
    assert.equal(f.kind, kind);
    assert.ok(line.includes(f.secret), kind);
    if (kind !== 'private-key') {
      assert.ok(f.redacted.endsWith('…'), `${kind}: ${f.redacted}`);
      assert.ok(f.redacted.length - 1 < f.secret.length, `${kind} redaction shows the whole secret`);
      // at most 4 characters past the fixed, identifiable part
      assert.ok(f.redacted.length <= 16 || f.redacted.startsWith('-----BEGIN'), `${kind}: ${f.redacted}`);
    } else assert.equal(f.redacted, f.secret, 'a PEM header holds no key material');
  }
  assert.deepEqual([...new Set(SAMPLES.map((s) => s[0]))].sort(), SECRET_KINDS.map((k) => k.kind).sort(), 'a sample for every kind');
});

test('look-alikes are not findings', () => {
  const fakeCoffer = 'coffer_pat_' + 'A'.repeat(38);
  for (const line of [
    fakeCoffer, // bad checksum
    'AKIA1234', // too short
    'xAKIAIOSFODNN7EXAMPLEx', // not delimited
    'secret_key = tooShort',
    'https://example.com/page?sig=AbCdEfGhIjKlMnOpQrStUvWxYz0123456789', // a sig= without a SAS version
    '-----BEGIN PUBLIC KEY-----',
    '-----BEGIN CERTIFICATE-----',
    'ghp_short',
    'the word secret alone',
  ]) {
    assert.deepEqual(findSecrets(line), [], line);
  }
});

test('a service-account key is reported once, not also as a bare private key', () => {
  const found = findSecrets(SAMPLES.find(([kind]) => kind === 'gcp-service-account-key')![1]);
  assert.deepEqual(found.map((f) => f.kind), ['gcp-service-account-key']);
  assert.equal(found[0]!.redacted, '-----BEGIN PRIVATE KEY-----…');
});

test('credential names are told from names that only look like them', () => {
  for (const n of ['password', 'admin_password', 'client_secret', 'api_key', 'apikey', 'access_key', 'private_key', 'connection_string', 'sas_token', 'AUTH_TOKEN', 'db-password']) assert.ok(isSecretName(n), n);
  for (const n of ['password_length', 'secret_name', 'token_ttl', 'kms_key_id', 'secret_arn', 'creation_token', 'client_token', 'password_policy', 'keyword', 'monkey', 'tokenizer_model', 'access_key_id']) assert.ok(!isSecretName(n), n);
});

test('matching stays linear on hostile lines', () => {
  const started = process.hrtime.bigint();
  for (const line of ['secret'.repeat(50_000), 'sig='.repeat(50_000), 'A'.repeat(300_000), 'coffer_pat_'.repeat(30_000), '-----BEGIN '.repeat(30_000)]) findSecrets(line);
  // generous bound: this guards against catastrophic backtracking (minutes), not for speed
  assert.ok(Number(process.hrtime.bigint() - started) / 1e9 < 20);
});
