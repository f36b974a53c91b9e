import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { AwsChunkedDecoder } from './aws-chunked.js';
import { parseSigV4, queryOf, verifySigV4 } from './sigv4.js';
import { fakeRequest } from './test-support.js';

// Known-answer vectors of the AWS documentation ("Signature Calculations for the
// Authorization Header" and "Signature Calculation: Transfer Payload in Multiple Chunks").
const SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
const NOW = Date.UTC(2013, 4, 24, 0, 0, 0);
const EMPTY = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

test('SigV4 header: the AWS GET Object example verifies, a changed header does not', () => {
  const headers = {
    host: 'examplebucket.s3.amazonaws.com',
    range: 'bytes=0-9',
    'x-amz-content-sha256': EMPTY,
    'x-amz-date': '20130524T000000Z',
    authorization:
      'AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41',
  };
  const request = fakeRequest({ path: '/test.txt', headers });
  const query = queryOf(request);
  const parsed = parseSigV4(request, query)!;
  assert.equal(parsed.accessKeyId, 'AKIAIOSFODNN7EXAMPLE');
  verifySigV4(request, query, parsed, SECRET, NOW);
  const tampered = fakeRequest({ path: '/test.txt', headers: { ...headers, range: 'bytes=0-10' } });
  assert.throws(() => verifySigV4(tampered, query, parseSigV4(tampered, query)!, SECRET, NOW), { code: 'COFFER_S3_SIGNATURE_MISMATCH' });
  assert.throws(() => verifySigV4(request, query, parsed, `${SECRET}x`, NOW), { code: 'COFFER_S3_SIGNATURE_MISMATCH' });
  assert.throws(() => verifySigV4(request, query, parsed, SECRET, NOW + 16 * 60_000), { code: 'COFFER_S3_REQUEST_TIME_SKEWED' });
  verifySigV4(request, query, parsed, SECRET, NOW + 14 * 60_000);
});

test('SigV4 presigned: the AWS example verifies until it expires', () => {
  const q =
    'X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404';
  const request = fakeRequest({ path: '/test.txt', query: q, headers: { host: 'examplebucket.s3.amazonaws.com' } });
  const query = queryOf(request);
  const parsed = parseSigV4(request, query)!;
  assert.equal(parsed.kind, 'presigned');
  verifySigV4(request, query, parsed, SECRET, NOW + 3600_000);
  assert.throws(() => verifySigV4(request, query, parsed, SECRET, NOW + 86_401_000), { code: 'COFFER_S3_REQUEST_EXPIRED' });
});

function chunkedExample(): { request: ReturnType<typeof fakeRequest>; body: Buffer } {
  const sigs = [
    'ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648',
    '0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497',
    'b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9',
  ];
  const body = Buffer.concat([
    Buffer.from(`10000;chunk-signature=${sigs[0]}\r\n`),
    Buffer.alloc(65536, 'a'),
    Buffer.from(`\r\n400;chunk-signature=${sigs[1]}\r\n`),
    Buffer.alloc(1024, 'a'),
    Buffer.from(`\r\n0;chunk-signature=${sigs[2]}\r\n\r\n`),
  ]);
  const headers = {
    host: 's3.amazonaws.com',
    'x-amz-date': '20130524T000000Z',
    'x-amz-storage-class': 'REDUCED_REDUNDANCY',
    'content-encoding': 'aws-chunked',
    'x-amz-decoded-content-length': '66560',
    'content-length': '66824',
    'x-amz-content-sha256': 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD',
    authorization:
      'AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,SignedHeaders=content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;x-amz-storage-class,Signature=4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9',
  };
  return { request: fakeRequest({ method: 'PUT', path: '/examplebucket/chunkObject.txt', headers }), body };
}

async function decode(decoder: AwsChunkedDecoder, body: Buffer, pieceSize: number): Promise<Buffer> {
  const out: Buffer[] = [];
  const pieces: Buffer[] = [];
  for (let i = 0; i < body.length; i += pieceSize) pieces.push(body.subarray(i, i + pieceSize));
  await pipeline(Readable.from(pieces), decoder, new Writable({ write: (c: Buffer, _e, cb) => (out.push(c), cb()) }));
  return Buffer.concat(out);
}

test('aws-chunked: the AWS signed-chunk example decodes and every chunk signature verifies, whatever the read sizes', async () => {
  const { request, body } = chunkedExample();
  const query = queryOf(request);
  const signing = verifySigV4(request, query, parseSigV4(request, query)!, SECRET, NOW);
  assert.equal(body.length, 66824);
  for (const size of [1, 7, 1000, 65536, body.length]) {
    const plain = await decode(new AwsChunkedDecoder({ signing, trailer: false }), body, size);
    assert.deepEqual(plain, Buffer.alloc(66560, 'a'), `piece size ${size}`);
  }
});

test('aws-chunked: a changed byte, a changed signature or a truncated body fails the stream', async () => {
  const { request, body } = chunkedExample();
  const query = queryOf(request);
  const signing = verifySigV4(request, query, parseSigV4(request, query)!, SECRET, NOW);
  const flipped = Buffer.from(body);
  flipped[100] = 0x62;
  await assert.rejects(decode(new AwsChunkedDecoder({ signing, trailer: false }), flipped, 4096), { code: 'COFFER_S3_SIGNATURE_MISMATCH' });
  const badSig = Buffer.from(body.toString('latin1').replace('0055627c', '1055627c'), 'latin1');
  await assert.rejects(decode(new AwsChunkedDecoder({ signing, trailer: false }), badSig, 4096), { code: 'COFFER_S3_SIGNATURE_MISMATCH' });
  await assert.rejects(decode(new AwsChunkedDecoder({ signing, trailer: false }), body.subarray(0, 66000), 4096), { code: 'COFFER_S3_REQUEST_REFUSED' });
});

test('aws-chunked: unsigned chunks with a checksum trailer', async () => {
  const body = Buffer.from('5\r\nhello\r\n6\r\n world\r\n0\r\nx-amz-checksum-crc32:DUoRhQ==\r\n\r\n');
  const decoder = new AwsChunkedDecoder({ signing: null, trailer: true });
  assert.equal((await decode(decoder, body, 3)).toString(), 'hello world');
  assert.equal(decoder.trailers.get('x-amz-checksum-crc32'), 'DUoRhQ==');
  await assert.rejects(decode(new AwsChunkedDecoder({ signing: null, trailer: false }), body, 3), { code: 'COFFER_S3_REQUEST_REFUSED' });
  await assert.rejects(decode(new AwsChunkedDecoder({ signing: null, trailer: true }), Buffer.from('zz\r\nhello\r\n'), 64), { code: 'COFFER_S3_REQUEST_REFUSED' });
});
