import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { AwsChunkedDecoder } from './aws-chunked.js';
import { DigestStream, checksumOf, isChecksumValue, newDigest } from './checksums.js';
import { Crc32c } from './crc32c.js';
import { Crc64Nvme } from './crc64nvme.js';
import { signingKey } from './sigv4.js';

test('CRC-32C and CRC-64/NVME known answers (check value of `123456789`, empty input)', () => {
  const check = Buffer.from('123456789');
  assert.equal(new Crc32c().update(check).digest().toString('hex'), 'e3069283');
  assert.equal(new Crc64Nvme().update(check).digest().toString('hex'), 'ae8b14860a799888');
  assert.equal(new Crc32c().digest().toString('hex'), '00000000');
  assert.equal(new Crc64Nvme().digest().toString('hex'), '0000000000000000');
  // the values the AWS SDKs send for 1000 bytes of 0x01 (seen from @aws-sdk/client-s3 3.1169)
  assert.equal(checksumOf('crc32c', Buffer.alloc(1000, 1)), 'qUQruA==');
  assert.equal(checksumOf('crc64nvme', Buffer.alloc(1000, 1)), 'COShoIGEFpM=');
  assert.equal(checksumOf('crc32', Buffer.alloc(1000, 1)), 'HeDARA==');
});

test('incremental digests equal one-shot digests for any split (slice-by-8 tails included)', () => {
  const data = randomBytes(10_007);
  for (const name of ['crc32', 'crc32c', 'crc64nvme', 'sha1', 'sha256'] as const) {
    const whole = checksumOf(name, data);
    for (const step of [1, 3, 8, 13, 4096]) {
      const d = newDigest(name);
      for (let i = 0; i < data.length; i += step) d.update(data.subarray(i, i + step));
      assert.equal(d.digest().toString('base64'), whole, `${name} step ${step}`);
    }
  }
  assert.equal(checksumOf('sha256', data), createHash('sha256').update(data).digest('base64'));
  assert.ok(isChecksumValue('crc32', 'HeDARA=='));
  assert.ok(!isChecksumValue('crc32', 'HeDARA'));
  assert.ok(!isChecksumValue('crc64nvme', 'HeDARA=='));
});

async function run(stream: DigestStream, data: Buffer): Promise<void> {
  await pipeline(Readable.from([data]), stream, new Writable({ write: (_c, _e, cb) => cb() }));
}

test('DigestStream: MD5 for the ETag, a matching checksum passes, a wrong one is BadDigest', async () => {
  const data = Buffer.from('hello world');
  const ok = new DigestStream({ checksum: { name: 'crc32c', value: checksumOf('crc32c', data) }, contentMd5: createHash('md5').update(data).digest('base64') });
  await run(ok, data);
  assert.equal(ok.digest.md5, createHash('md5').update(data).digest('hex'));
  assert.equal(ok.digest.checksums.crc32, 'DUoRhQ==');
  const wrong = new DigestStream({ checksum: { name: 'crc32', value: 'AAAAAA==' } });
  await assert.rejects(run(wrong, data), (err: Error & { s3Code?: string }) => err.s3Code === 'BadDigest');
  const wrongMd5 = new DigestStream({ contentMd5: createHash('md5').update('other').digest('base64') });
  await assert.rejects(run(wrongMd5, data), (err: Error & { s3Code?: string }) => err.s3Code === 'BadDigest');
});

test('aws-chunked signed trailer (STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER): chunks and trailer verified', async () => {
  const secret = 'test-secret';
  const amzDate = '20250101T000000Z';
  const scope = '20250101/us-east-1/s3/aws4_request';
  const key = signingKey(secret, '20250101', 'us-east-1', 's3');
  const seed = 'a'.repeat(64);
  const empty = createHash('sha256').update('').digest('hex');
  const sign = (s: string) => createHmac('sha256', key).update(s).digest('hex');
  const data = [Buffer.from('hello '), Buffer.from('world')];
  let prev = seed;
  const parts: Buffer[] = [];
  for (const chunk of [...data, Buffer.alloc(0)]) {
    const sig = sign(`AWS4-HMAC-SHA256-PAYLOAD\n${amzDate}\n${scope}\n${prev}\n${empty}\n${createHash('sha256').update(chunk).digest('hex')}`);
    prev = sig;
    parts.push(Buffer.from(`${chunk.length.toString(16)};chunk-signature=${sig}\r\n`), chunk, chunk.length > 0 ? Buffer.from('\r\n') : Buffer.alloc(0));
  }
  const trailer = `x-amz-checksum-crc32:${checksumOf('crc32', Buffer.concat(data))}`;
  const trailerSig = sign(`AWS4-HMAC-SHA256-TRAILER\n${amzDate}\n${scope}\n${prev}\n${createHash('sha256').update(`${trailer}\n`).digest('hex')}`);
  const body = Buffer.concat([...parts, Buffer.from(`${trailer}\r\nx-amz-trailer-signature:${trailerSig}\r\n\r\n`)]);
  const decode = async (bytes: Buffer) => {
    const decoder = new AwsChunkedDecoder({ signing: { signingKey: key, scope, amzDate, seedSignature: seed }, trailer: true });
    const out: Buffer[] = [];
    await pipeline(Readable.from([bytes]), decoder, new Writable({ write: (c: Buffer, _e, cb) => (out.push(c), cb()) }));
    return { text: Buffer.concat(out).toString(), decoder };
  };
  const { text, decoder } = await decode(body);
  assert.equal(text, 'hello world');
  assert.equal(decoder.trailers.get('x-amz-checksum-crc32'), checksumOf('crc32', Buffer.concat(data)));
  const forged = Buffer.from(body.toString('latin1').replace(trailer, 'x-amz-checksum-crc32:AAAAAA=='), 'latin1');
  await assert.rejects(decode(forged), { code: 'COFFER_S3_SIGNATURE_MISMATCH' });
});
