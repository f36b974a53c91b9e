/**
 * Fuzz: the S3 endpoint end to end (src/s3/s3-service.ts on a real runtime: SQLite, disk,
 * vault, audit). Requests are signed for real (SigV4 headers, presigned URLs, SigV2,
 * signed and unsigned aws-chunked bodies) so that they get past authentication into every
 * parser behind it: operation routing, query parameters, Range and conditional headers,
 * checksums, copy sources, user metadata, the security-header table, XML bodies
 * (DeleteObjects, CompleteMultipartUpload) and chunked framing, valid and mutated. No
 * answer is a 5xx other than the documented NotImplemented (501); nothing stored is
 * changed by a refused request; the endpoint still serves afterwards.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createHmac } from 'node:crypto';
import { Readable } from 'node:stream';
import fc from 'fast-check';
import type { S3HttpRequest, S3HttpResponse } from '../../../src/s3/s3-http.js';
import { EMPTY_SHA256, signingKey, toAmzDate } from '../../../src/s3/sigv4.js';
import { bearer, openAppHarness, type AppHarness } from '../../support/app-harness.js';
import { signS3, type SignedS3Request, type SigningCredentials } from '../../support/s3-signer.js';
import { fuzzParams } from './fuzz-runs.js';
import { anyText, mutatedBytes, mutatedString } from './mutations.js';

const KEYS = ['a.bin', 'dir/b.bin', 'mpu.bin', 'nokey', 'dir/'];
const ORIGINAL = Buffer.from('the original bytes of a.bin');

async function drain(body: S3HttpResponse['body']): Promise<Buffer> {
  if (body === undefined) return Buffer.alloc(0);
  if (typeof body === 'string') return Buffer.from(body);
  if (Buffer.isBuffer(body)) return body;
  const chunks: Buffer[] = [];
  for await (const c of body) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

function toRequest(signed: SignedS3Request, extraHeaders: Record<string, string> = {}): S3HttpRequest {
  return {
    method: signed.method,
    rawPath: signed.rawPath,
    rawQuery: signed.rawQuery,
    headers: { ...signed.headers, ...extraHeaders },
    body: Readable.from(signed.body === undefined || signed.body.length === 0 ? [] : [signed.body]),
    meta: { requestId: 'fuzz', sourceIp: '127.0.0.1', userAgent: 'fuzz' },
    signal: new AbortController().signal,
  };
}

/** aws-chunked framing of `payload`, signed from `seed` (the request's signature) or unsigned with a trailer. */
function chunked(payload: Buffer, size: number, creds: SigningCredentials, now: number, seed: string | null): Buffer {
  const amzDate = toAmzDate(now);
  const scope = `${amzDate.slice(0, 8)}/us-east-1/s3/aws4_request`;
  const key = signingKey(creds.secretAccessKey, amzDate.slice(0, 8), 'us-east-1', 's3');
  let previous = seed ?? '';
  const frame = (data: Buffer) => {
    if (seed === null) return Buffer.concat([Buffer.from(`${data.length.toString(16)}\r\n`), data, Buffer.from('\r\n')]);
    const sts = `AWS4-HMAC-SHA256-PAYLOAD\n${amzDate}\n${scope}\n${previous}\n${EMPTY_SHA256}\n${createHash('sha256').update(data).digest('hex')}`;
    previous = createHmac('sha256', key).update(sts).digest('hex');
    return Buffer.concat([Buffer.from(`${data.length.toString(16)};chunk-signature=${previous}\r\n`), data, Buffer.from('\r\n')]);
  };
  const parts: Buffer[] = [];
  for (let at = 0; at < payload.length; at += size) parts.push(frame(payload.subarray(at, at + size)));
  if (seed !== null) return Buffer.concat([...parts, frame(Buffer.alloc(0))]);
  return Buffer.concat([...parts, Buffer.from('0\r\n'), Buffer.from('x-amz-checksum-crc32:AAAAAA==\r\n\r\n')]);
}

void describe('fuzz: S3 requests through the real endpoint', () => {
  let h: AppHarness;
  let creds: SigningCredentials;
  let uploadId = 'none';
  const send = async (request: S3HttpRequest) => {
    const r = await h.runtime.s3.handle(request);
    return { status: r.status, headers: r.headers, body: await drain(r.body) };
  };
  const simple = (method: string, path: string, body?: Buffer, query: [string, string][] = [], headers: Record<string, string> = {}) =>
    send(toRequest(signS3(creds, { method, path, query, headers, ...(body !== undefined ? { body } : {}) })));

  before(async () => {
    h = await openAppHarness();
    const issued = await h.app.inject({ method: 'POST', url: '/v1/s3/credentials', headers: bearer(h.adminToken), payload: {} });
    assert.equal(issued.statusCode, 201, issued.body);
    creds = issued.json<SigningCredentials>();
    assert.equal((await simple('PUT', '/fuzz')).status, 200);
    assert.equal((await simple('PUT', '/fuzz/a.bin', ORIGINAL)).status, 200);
    assert.equal((await simple('PUT', '/fuzz/dir/b.bin', Buffer.alloc(5000, 7))).status, 200);
    const mpu = await simple('POST', '/fuzz/mpu.bin', undefined, [['uploads', '']]);
    uploadId = /<UploadId>([^<]+)<\/UploadId>/.exec(mpu.body.toString())![1]!;
    assert.equal((await simple('PUT', '/fuzz/mpu.bin', Buffer.alloc(100, 1), [['partNumber', '1'], ['uploadId', uploadId]])).status, 200);
  });
  after(async () => h?.close());

  void it('regression (found by this fuzzer): a PUT refused after its body started flowing, with broken aws-chunked framing, does not end the process', async () => {
    // before the fix, the decoder's error reached the unread plaintext stream with no listener: an uncaught exception
    const broken = Buffer.from('5\r\nhelloXX0\r\n\r\n');
    for (const refusal of [{ 'x-amz-meta-coffer-tier': 'bogus' }, { 'x-amz-meta-coffer-environment': 'prod' }] as Record<string, string>[]) {
      const signed = signS3(creds, {
        method: 'PUT',
        path: '/fuzz/refused.bin',
        headers: { 'x-amz-content-sha256': 'STREAMING-UNSIGNED-PAYLOAD-TRAILER', 'x-amz-decoded-content-length': '5', 'content-length': String(broken.length), ...refusal },
      });
      const r = await send(toRequest({ ...signed, body: broken }));
      assert.ok(r.status === 400 || r.status === 403, String(r.status));
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.equal((await simple('GET', '/fuzz/a.bin')).status, 200);
  });

  void it('no request gets a 5xx (but NotImplemented), and what was stored stays as it was', async () => {
    const queryArb = fc.array(
      fc.oneof(
        fc.constantFrom<[string, string]>(['uploads', ''], ['delete', ''], ['list-type', '2'], ['tagging', ''], ['acl', ''], ['versions', ''], ['location', ''], ['versioning', ''], ['fetch-owner', 'true'], ['encoding-type', 'url'], ['delimiter', '/'], ['uploadId', 'bogus'], ['x-id', 'PutObject']),
        fc.constant<[string, string]>(['uploadId', '']).map(() => ['uploadId', uploadId] as [string, string]),
        fc.tuple(fc.constantFrom('partNumber', 'versionId', 'max-keys', 'max-uploads', 'part-number-marker', 'prefix', 'marker', 'start-after', 'continuation-token', 'key-marker', 'version-id-marker', 'response-content-type', 'response-expires'), fc.oneof(fc.constantFrom('1', '0', '-1', '10001', '1000', '2', 'delete-marker-1', 'ver_x', 'a', '', '99999999999999999999'), anyText(12))),
        fc.tuple(anyText(8), anyText(8)),
      ),
      { maxLength: 4 },
    );
    const headerArb = fc.dictionary(
      fc.constantFrom(
        'range', 'content-md5', 'x-amz-checksum-crc32', 'x-amz-checksum-sha256', 'x-amz-checksum-crc64nvme', 'x-amz-sdk-checksum-algorithm', 'x-amz-checksum-algorithm', 'x-amz-checksum-type',
        'x-amz-copy-source', 'x-amz-copy-source-range', 'x-amz-copy-source-if-match', 'x-amz-metadata-directive', 'if-match', 'if-none-match', 'if-modified-since', 'if-unmodified-since',
        'x-amz-meta-coffer-tier', 'x-amz-meta-coffer-environment', 'x-amz-meta-note', 'content-type', 'x-amz-checksum-mode', 'x-amz-server-side-encryption', 'x-amz-acl', 'x-amz-expected-bucket-owner', 'expect', 'x-amz-decoded-content-length',
      ),
      fc.oneof(fc.constantFrom('bytes=0-9', 'bytes=-5', 'bytes=10-', 'bytes=5-1', '/fuzz/a.bin', 'fuzz/dir/b.bin?versionId=1', '/nosuch/x', 'REPLACE', 'COPY', '"x"', '*', 'AES256', 'private', 'public-read', 'ENABLED', 'CRC32', 'SHA256', 'FULL_OBJECT', 'COMPOSITE', 'prod', 'restricted', 'Thu, 01 Jan 2026 00:00:00 GMT', '100-continue', '5', '-1', 'AAAAAA==', ''), anyText(16).map((s) => s.replace(/[\r\n]/g, ''))),
      { maxKeys: 3 },
    );
    const deleteXml = `<Delete><Object><Key>nokey</Key></Object><Object><Key>dir/b.bin</Key><VersionId>1</VersionId></Object></Delete>`;
    const completeXml = (id: string) => `<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>${id}</ETag></Part></CompleteMultipartUpload>`;
    const bodyArb = fc.oneof(
      fc.constant(Buffer.alloc(0)),
      fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b)),
      mutatedString(deleteXml, '<>/&;Objectkey ', 4).map((s) => Buffer.from(s)),
      mutatedString(completeXml('"6d0bb00954ceb7fbee436bb55a8397a9"'), '<>/&;PartNumber0123456789"', 4).map((s) => Buffer.from(s)),
      fc.constant(Buffer.from(deleteXml)),
    );
    const caseArb = fc.record({
      method: fc.constantFrom('GET', 'GET', 'HEAD', 'PUT', 'PUT', 'POST', 'DELETE'),
      bucket: fc.oneof({ weight: 8, arbitrary: fc.constant('fuzz') }, { weight: 1, arbitrary: fc.constantFrom('nosuch', '', 'a', 'UPPER', 'x'.repeat(70)) }, { weight: 1, arbitrary: anyText(10).map((s) => encodeURIComponent(s)) }),
      key: fc.oneof({ weight: 6, arbitrary: fc.constantFrom(...KEYS, null) }, { weight: 1, arbitrary: anyText(20).map((s) => s.split('/').map(encodeURIComponent).join('/')) }, { weight: 1, arbitrary: fc.constantFrom('..%2F..', '%2e%2e/x', 'a%00b', 'a'.repeat(600), '%ZZ') }),
      query: queryArb,
      headers: headerArb,
      body: bodyArb,
      payload: fc.constantFrom('sha256', 'sha256', 'unsigned', 'streaming-signed', 'streaming-unsigned', 'wrong-hash'),
      chunk: fc.integer({ min: 1, max: 128 }),
      mutateFraming: fc.option(fc.nat(), { freq: 4 }),
      auth: fc.constantFrom('v4', 'v4', 'v4', 'v4', 'v4', 'presigned', 'v2', 'garbage'),
      wrongLength: fc.option(fc.integer({ min: 0, max: 400 }), { freq: 8 }),
    });

    const counts = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(caseArb, async (c) => {
        const path = `/${c.bucket}${c.key === null ? '' : `/${c.key}`}`;
        const now = Date.now();
        // a wrong content-length is signed too, so that it reaches the body readers
        const headers: Record<string, string> = { ...c.headers, ...(c.wrongLength !== null ? { 'content-length': String(c.wrongLength) } : {}) };
        let body: Buffer = c.body;
        let signed: SignedS3Request;
        // a path the signer cannot canonicalise (a bad %-escape) is signed as another and sent as it is
        const sign = (input: Parameters<typeof signS3>[1]): SignedS3Request => {
          try {
            return signS3(creds, input);
          } catch {
            return { ...signS3(creds, { ...input, path: '/fuzz/a.bin' }), rawPath: input.path };
          }
        };
        if (c.auth === 'presigned') {
          signed = sign({ method: c.method, path, query: c.query, headers, body, presign: true, now });
        } else if (c.payload === 'streaming-signed' || c.payload === 'streaming-unsigned') {
          const streaming = c.payload === 'streaming-signed' ? 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD' : 'STREAMING-UNSIGNED-PAYLOAD-TRAILER';
          const framingHeaders = { ...headers, 'x-amz-content-sha256': streaming, 'x-amz-decoded-content-length': String(body.length), 'content-encoding': 'aws-chunked', ...(streaming.includes('TRAILER') ? { 'x-amz-trailer': 'x-amz-checksum-crc32' } : {}) };
          // the length of the framed body is signed: frame once to learn it, then sign, then frame with the seed
          const probe = chunked(body, c.chunk, creds, now, c.payload === 'streaming-signed' ? 'a'.repeat(64) : null);
          signed = sign({ method: c.method, path, query: c.query, headers: { 'content-length': String(probe.length), ...framingHeaders }, now });
          const seed = /Signature=([0-9a-f]{64})/.exec(signed.headers.authorization!)![1]!;
          body = chunked(body, c.chunk, creds, now, c.payload === 'streaming-signed' ? seed : null);
          if (c.mutateFraming !== null) body = Buffer.from(fc.sample(mutatedBytes(body, 2), { seed: c.mutateFraming, numRuns: 1 })[0]!);
          signed = { ...signed, body };
        } else {
          const payloadHeaders: Record<string, string> = c.payload === 'unsigned' ? { 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' } : c.payload === 'wrong-hash' ? { 'x-amz-content-sha256': EMPTY_SHA256 } : {};
          signed = sign({ method: c.method, path, query: c.query, headers: { ...headers, ...payloadHeaders }, body, now });
        }
        let request = toRequest(signed);
        if (c.auth === 'v2') request = { ...request, headers: { ...request.headers, authorization: `AWS ${creds.accessKeyId}:${createHmac('sha1', creds.secretAccessKey).update(path).digest('base64')}` } };
        if (c.auth === 'garbage') request = { ...request, headers: { ...request.headers, authorization: 'AWS4-HMAC-SHA256 Credential=x/y, Signature=z' } };
        const r = await send(request);
        counts.set(r.status, (counts.get(r.status) ?? 0) + 1);
        assert.ok(r.status < 500 || r.status === 501, `${r.status} for ${c.method} ${path}?${signed.rawQuery} ${JSON.stringify(c.headers)} (${c.payload}, ${c.auth}): ${r.body.toString().slice(0, 300)}`);
      }),
      fuzzParams(150, 2401),
    );
    // requests got through authentication into the operations, not just refused at the door
    assert.ok((counts.get(200) ?? 0) + (counts.get(204) ?? 0) + (counts.get(206) ?? 0) > 10, JSON.stringify([...counts]));
    const v1 = await simple('GET', '/fuzz/a.bin', undefined, [['versionId', '1']]);
    assert.equal(v1.status, 200);
    assert.ok(v1.body.equals(ORIGINAL), 'version 1 of a.bin is unchanged');
    assert.equal((await simple('GET', '/')).status, 200);
  });
});
