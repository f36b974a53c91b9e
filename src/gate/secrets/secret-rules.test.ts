import assert from 'node:assert/strict';
import { test } from 'node:test';
import { generateToken } from '../../identity/token-format.js';
import { scanBytes } from '../artifact-scan.js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../test-support.js';
import { SPECIFIC_RULES, TRIGGER, findSecrets, plausibleSecretValue } from './secret-rules.js';

const types = (line: string) => findSecrets(line).map((m) => m.type);

test('coffer tokens count only with a valid checksum', () => {
  const t = generateToken('pat');
  assert.deepEqual(types(`token: ${t}`), ['coffer-token']);
  const flipped = t.slice(0, 20) + (t[20] === 'a' ? 'b' : 'a') + t.slice(21);
  assert.deepEqual(types(`x ${flipped}`), []);
  assert.deepEqual(types(generateToken('share')), ['coffer-token']);
});

test('provider formats', () => {
  assert.deepEqual(types('aws_access_key_id=AKIAZ2X3Y4W5V6U7T2S3'), ['aws-access-key-id']);
  assert.deepEqual(types('aws_access_key_id=AKIAIOSFODNN7EXAMPLE'), []);
  assert.deepEqual(types('-----BEGIN EC PRIVATE KEY-----'), ['private-key']);
  assert.deepEqual(types('-----BEGIN PUBLIC KEY-----'), []);
  assert.deepEqual(types('"private_key": "-----BEGIN PRIVATE KEY-----\\nMII'), ['gcp-service-account-key']);
  assert.deepEqual(types('postgres://app:S3cr3tPa55@db:5432/x'), ['url-credentials']);
});

test('generic assignments need entropy and must not be placeholders or code', () => {
  assert.deepEqual(types('db_password = "q8#Lm2!vX0pz"'), ['generic-secret']);
  for (const v of ['changeme', '${DB_PASSWORD}', '<your-password>', 'os.environ["X"]', 'get_token()', 'aaaaaaaaaaaa', 'bert-base-uncased']) assert.equal(plausibleSecretValue(v), false, v);
  assert.deepEqual(types('tokenizer: bert-base-uncased'), []);
  assert.deepEqual(types('max_tokens: 4096'), []);
});

test('findings carry locations, never values', () => {
  const secret = 'sk_live_' + 'a1B2c3D4e5F6g7H8i9J0k1L2';
  const r = scanBytes(Buffer.from(`line one\nstripe = "${secret}"\n`), { name: 'cfg.py' });
  assert.deepEqual(r.secrets.counts, { 'stripe-key': 1 });
  assert.deepEqual(r.secrets.findings[0]!.location, { line: 2, column: 11, offset: 19 });
  assert.ok(!JSON.stringify(r).includes(secret));
});

test('secrets inside binary content (a pickle) are found through printable runs', () => {
  const key = `AKIA${'Q2W3E4R5T6Y7U2I3'}`;
  const pkl = Buffer.concat([Buffer.from('\x80\x04\x95\x30\x00\x00\x00\x00\x00\x00\x00\x8c\x14', 'latin1'), Buffer.from(key), Buffer.from('\x94.', 'latin1')]);
  const r = scanBytes(pkl, { name: 'cfg.pkl' });
  assert.equal(r.secrets.counts['aws-access-key-id'], 1);
  assert.equal(r.secrets.findings[0]!.location.offset, 13);
});

test('the trigger prefilter lets through every line a rule matches (corpus lines)', () => {
  for (const f of ['text/config.env', 'text/settings.yaml', 'text/notebook.ipynb.txt']) {
    for (const line of readFileSync(join(repoRoot(), 'test/fixtures/gate', f), 'utf8').split('\n')) {
      const any = SPECIFIC_RULES.some((r) => new RegExp(r.re.source, r.re.flags.replace('g', '')).test(line));
      if (any) assert.ok(TRIGGER.test(line), line.slice(0, 30));
    }
  }
});
