/**
 * Fuzz: the aws-chunked decoder (src/s3/aws-chunked.ts), which reads S3 upload bodies
 * framed in chunks, signed (every chunk signature chained from the seed) or unsigned
 * with a trailer. Properties, for any chunking of the payload and any cut of the bytes
 * into writes: a valid body decodes to the payload; a mutated body either fails with an
 * S3 error or, unsigned, decodes to something (the data is not signed there), but a
 * signed body never decodes to other bytes; random bytes fail cleanly; every stream ends.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createHmac, randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { S3RequestError, S3SignatureMismatchError } from '../../../src/domain/errors.js';
import { AwsChunkedDecoder } from '../../../src/s3/aws-chunked.js';
import { EMPTY_SHA256, sha256Hex, signingKey, type SigV4Context } from '../../../src/s3/sigv4.js';
import { fuzzParams } from './fuzz-runs.js';
import { mutatedBytes } from './mutations.js';
import { runThrough } from '../../support/transform-run.js';

const SIGNING: SigV4Context = {
  signingKey: signingKey('secret', '20260101', 'us-east-1', 's3'),
  scope: '20260101/us-east-1/s3/aws4_request',
  amzDate: '20260101T000000Z',
  seedSignature: 'a'.repeat(64),
};

/** Frames `payload` in chunks of the given sizes (the last chunk is what remains), signed or with a CRC trailer. */
function encode(payload: Buffer, sizes: number[], signed: boolean): Buffer {
  const parts: Buffer[] = [];
  let previous = SIGNING.seedSignature;
  const chunk = (data: Buffer) => {
    if (!signed) return Buffer.concat([Buffer.from(`${data.length.toString(16)}\r\n`), data, Buffer.from('\r\n')]);
    const sts = `AWS4-HMAC-SHA256-PAYLOAD\n${SIGNING.amzDate}\n${SIGNING.scope}\n${previous}\n${EMPTY_SHA256}\n${createHash('sha256').update(data).digest('hex')}`;
    previous = createHmac('sha256', SIGNING.signingKey).update(sts).digest('hex');
    return Buffer.concat([Buffer.from(`${data.length.toString(16)};chunk-signature=${previous}\r\n`), data, Buffer.from('\r\n')]);
  };
  let at = 0;
  for (const size of sizes) {
    if (at >= payload.length) break;
    const piece = payload.subarray(at, at + Math.max(1, size));
    parts.push(chunk(piece));
    at += piece.length;
  }
  if (at < payload.length) parts.push(chunk(payload.subarray(at)));
  const last = chunk(Buffer.alloc(0));
  if (signed) return Buffer.concat([...parts, last.subarray(0, last.length - 2), Buffer.from('\r\n')]);
  // unsigned: the final chunk, then the trailer lines and an empty line
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(0);
  return Buffer.concat([...parts, Buffer.from('0\r\n'), Buffer.from(`x-amz-checksum-crc32:${crc.toString('base64')}\r\n\r\n`)]);
}

/** Runs the decoder over `body` cut at `cuts`: the decoded bytes, or the error it failed with. */
async function decode(body: Buffer, cuts: number[], signed: boolean): Promise<{ out: Buffer | null; error: Error | null }> {
  const r = await runThrough(new AwsChunkedDecoder({ signing: signed ? SIGNING : null, trailer: !signed }), body, cuts);
  return r.error === undefined ? { out: r.out, error: null } : { out: null, error: r.error as Error };
}

function assertCleanFailure(error: Error | null): void {
  if (error === null) return;
  assert.ok(error instanceof S3RequestError || error instanceof S3SignatureMismatchError, `unexpected ${String(error)}`);
}

const caseArb = fc.record({
  payload: fc.uint8Array({ maxLength: 600 }).map((b) => Buffer.from(b)),
  sizes: fc.array(fc.integer({ min: 1, max: 200 }), { maxLength: 8 }),
  cuts: fc.array(fc.nat(), { maxLength: 10 }),
  signed: fc.boolean(),
});

void describe('fuzz: aws-chunked bodies', () => {
  void it('any chunking and any cut of a valid body decodes to the payload', async () => {
    await fc.assert(
      fc.asyncProperty(caseArb, async ({ payload, sizes, cuts, signed }) => {
        const r = await decode(encode(payload, sizes, signed), cuts, signed);
        assert.equal(r.error, null, String(r.error));
        assert.ok(r.out!.equals(payload));
      }),
      fuzzParams(300, 1701),
    );
  });

  void it('a mutated body fails with an S3 error; signed, it never decodes to other bytes', async () => {
    await fc.assert(
      fc.asyncProperty(caseArb.chain((c) => mutatedBytes(encode(c.payload, c.sizes, c.signed), 4).map((body) => ({ ...c, body }))), async ({ payload, body, cuts, signed }) => {
        const r = await decode(body, cuts, signed);
        assertCleanFailure(r.error);
        // INVARIANT: a signed body is all or nothing
        if (signed && r.error === null) assert.ok(r.out!.equals(payload), 'a signed body decoded to bytes that were not signed');
      }),
      fuzzParams(1000, 1702),
    );
  });

  void it('random bytes and hostile framing fail cleanly', async () => {
    const hostile = [
      Buffer.from(`${'f'.repeat(16)}\r\n`),
      Buffer.from(`${'1'.repeat(5000)}\r\n`),
      Buffer.from('0;chunk-signature=\r\n\r\n'),
      Buffer.from(`10;${';'.repeat(4000)}\r\n`),
      Buffer.concat([Buffer.from('ffffffffffff\r\n'), randomBytes(64)]),
      Buffer.from(`0\r\n${'x-amz-checksum-crc32:AAAAAA==\r\n'.repeat(20)}\r\n`),
      Buffer.from('0\r\n\r\ntrailing garbage'),
      Buffer.from('\n\n\n'),
    ];
    for (const body of hostile) for (const signed of [false, true]) assertCleanFailure((await decode(body, [3, 17], signed)).error);
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 400 }), fc.array(fc.nat(), { maxLength: 5 }), fc.boolean(), async (bytes, cuts, signed) => {
        assertCleanFailure((await decode(Buffer.from(bytes), cuts, signed)).error);
      }),
      fuzzParams(500, 1703),
    );
    assert.equal(sha256Hex(''), EMPTY_SHA256);
  });
});
