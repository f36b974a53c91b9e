import { test } from 'node:test';
import assert from 'node:assert/strict';
import { base32Decode, base32Encode, hotp, matchTotp, otpauthUri, totp } from './totp.js';

// RFC 6238, Appendix B: seeds are the ASCII digits "1234567890" repeated to the hash's key length
const SEEDS = {
  SHA1: Buffer.from('12345678901234567890'),
  SHA256: Buffer.from('12345678901234567890123456789012'),
  SHA512: Buffer.from('1234567890123456789012345678901234567890123456789012345678901234'),
} as const;
const VECTORS: [number, string, string, string][] = [
  [59, '94287082', '46119246', '90693936'],
  [1111111109, '07081804', '68084774', '25091201'],
  [1111111111, '14050471', '67062674', '99943326'],
  [1234567890, '89005924', '91819424', '93441116'],
  [2000000000, '69279037', '90698825', '38618901'],
  [20000000000, '65353130', '77737706', '47863826'],
];

test('RFC 6238 Appendix B test vectors (SHA1, SHA256, SHA512, 8 digits)', () => {
  for (const [t, sha1, sha256, sha512] of VECTORS) {
    assert.equal(totp(SEEDS.SHA1, t * 1000, { algorithm: 'SHA1', digits: 8, periodSeconds: 30 }), sha1, `SHA1 at ${t}`);
    assert.equal(totp(SEEDS.SHA256, t * 1000, { algorithm: 'SHA256', digits: 8, periodSeconds: 30 }), sha256, `SHA256 at ${t}`);
    assert.equal(totp(SEEDS.SHA512, t * 1000, { algorithm: 'SHA512', digits: 8, periodSeconds: 30 }), sha512, `SHA512 at ${t}`);
  }
});

test('RFC 4226 Appendix D HOTP values', () => {
  const expected = ['755224', '287082', '359152', '969429', '338314', '254676', '287922', '162583', '399871', '520489'];
  expected.forEach((code, counter) => assert.equal(hotp(SEEDS.SHA1, counter, 6), code));
});

test('matching accepts one step of drift either way and nothing further', () => {
  const now = 1_700_000_000_000;
  const step = Math.floor(now / 30_000);
  for (const d of [-1, 0, 1]) assert.equal(matchTotp(SEEDS.SHA1, hotp(SEEDS.SHA1, step + d, 6), now), step + d);
  for (const d of [-3, -2, 2, 3]) assert.equal(matchTotp(SEEDS.SHA1, hotp(SEEDS.SHA1, step + d, 6), now), null);
  assert.equal(matchTotp(SEEDS.SHA1, '12345', now), null);
  assert.equal(matchTotp(SEEDS.SHA1, 'abcdef', now), null);
});

test('base32 round trip (RFC 4648 vector) and otpauth URI', () => {
  assert.equal(base32Encode(Buffer.from('foobar')), 'MZXW6YTBOI');
  assert.deepEqual(base32Decode('mzxw 6ytb oi=='), Buffer.from('foobar'));
  assert.equal(base32Decode('not base32!'), null);
  assert.match(otpauthUri(SEEDS.SHA1, 'alice', 'Coffer'), /^otpauth:\/\/totp\/Coffer%3Aalice\?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Coffer&algorithm=SHA1&digits=6&period=30$/);
});
