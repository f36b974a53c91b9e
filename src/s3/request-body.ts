import type { Readable } from 'node:stream';
import { S3RequestError } from '../domain/errors.js';
import type { S3ChecksumName } from '../store/s3-store.js';
import { AwsChunkedDecoder, STREAMING_PAYLOADS } from './aws-chunked.js';
import { CHECKSUM_NAMES, DigestStream, checksumValueError, isChecksumValue, parseChecksumName, type BodyExpectations } from './checksums.js';
import type { S3Op } from './s3-op.js';
import { destroySafely, guard } from '../streams/index.js';

/** The decoded, checked plaintext of a request body, ready for the vault. */
export interface RequestBody {
  /** Plaintext stream (aws-chunked framing removed) passing through the digests. */
  plaintext: DigestStream;
  /** Declared plaintext size. */
  size: number;
  /** Signed SHA-256 of the payload (hex), for the vault to check. */
  sha256: string | undefined;
  /** The checksum algorithm the client used, echoed on the response. */
  echo: S3ChecksumName | null;
  /** The first failure of the decoding stages (it wins over however the vault reports it). */
  failure(): Error | null;
}

const HEX64 = /^[0-9a-f]{64}$/;

/**
 * Plans the body of a PUT (object or part): aws-chunked decoding with chunk signature
 * verification, declared size (`x-amz-decoded-content-length` or Content-Length),
 * Content-MD5, `x-amz-checksum-*` headers and trailers. Header problems are refused
 * before a byte is read. The source is piped, never buffered; on a failure it is
 * drained (not destroyed) so the client still receives the S3 error.
 */
export function requestBody(op: S3Op, extra: S3ChecksumName[] = [], options: { checksumHeaders?: boolean } = {}): RequestBody {
  const h = op.http.headers;
  const payload = op.auth.payloadHash;
  const chunked = payload !== null && (payload === STREAMING_PAYLOADS.signed || payload === STREAMING_PAYLOADS.signedTrailer || payload === STREAMING_PAYLOADS.unsignedTrailer);
  if (payload !== null && !chunked && payload !== 'UNSIGNED-PAYLOAD' && !HEX64.test(payload)) {
    throw new S3RequestError('x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-... or a SHA-256 hex digest', { s3Code: 'InvalidArgument' });
  }
  if (payload === null && (h['content-encoding'] ?? '').split(',').some((e) => e.trim() === 'aws-chunked')) {
    throw new S3RequestError('aws-chunked bodies need SigV4', { s3Code: 'InvalidRequest' });
  }
  // a body in HTTP chunked transfer coding has no Content-Length: S3 then takes the size
  // from x-amz-decoded-content-length (and answers MissingContentLength without it)
  const transferChunked = (h['transfer-encoding'] ?? '').toLowerCase().split(',').some((e) => e.trim() === 'chunked');
  const sizeText = chunked || (transferChunked && h['content-length'] === undefined) ? h['x-amz-decoded-content-length'] : h['content-length'];
  if (sizeText === undefined) {
    throw new S3RequestError(chunked ? 'x-amz-decoded-content-length is required for aws-chunked bodies' : 'you must provide the Content-Length HTTP header', { s3Code: 'MissingContentLength' });
  }
  if (!/^\d{1,16}$/.test(sizeText)) throw new S3RequestError('the content length is not valid', { s3Code: 'InvalidArgument' });
  const size = Number(sizeText);
  if (size > op.ctx.deps.settings.maxUploadBytes) throw new S3RequestError(`your proposed upload exceeds the maximum allowed size of ${op.ctx.deps.settings.maxUploadBytes} bytes`, { s3Code: 'EntityTooLarge' });

  const expectations: BodyExpectations = {};
  const md5 = h['content-md5'];
  if (md5 !== undefined) {
    if (!isChecksumValue('md5', md5)) throw new S3RequestError('the Content-MD5 you specified is not valid', { s3Code: 'InvalidDigest' });
    expectations.contentMd5 = md5;
  }
  let echo: S3ChecksumName | null = null;
  // CompleteMultipartUpload's x-amz-checksum-* headers describe the object, not the XML body
  for (const name of options.checksumHeaders === false ? [] : CHECKSUM_NAMES) {
    const value = h[`x-amz-checksum-${name}`];
    if (value === undefined) continue;
    if (expectations.checksum !== undefined) throw new S3RequestError('expecting a single x-amz-checksum- header: multiple checksum types are not allowed', { s3Code: 'InvalidRequest' });
    const invalid = checksumValueError(name, value, 'header');
    if (invalid !== null) throw invalid;
    expectations.checksum = { name, value };
    echo = name;
  }
  let decoder: AwsChunkedDecoder | null = null;
  if (chunked) {
    const trailer = payload !== STREAMING_PAYLOADS.signed;
    decoder = guard(new AwsChunkedDecoder({ signing: payload === STREAMING_PAYLOADS.unsignedTrailer ? null : op.auth.signing, trailer }));
    const declared = h['x-amz-trailer'];
    if (trailer && declared !== undefined) {
      const name = parseChecksumName(declared.trim().toLowerCase().replace(/^x-amz-checksum-/, ''));
      if (name === null || !declared.trim().toLowerCase().startsWith('x-amz-checksum-')) throw new S3RequestError(`the trailer \`${declared.slice(0, 60)}\` is not supported`, { s3Code: 'InvalidRequest' });
      const d = decoder;
      expectations.trailer = { name, value: () => d.trailers.get(`x-amz-checksum-${name}`) };
      echo = name;
    }
  }
  echo ??= parseChecksumName(h['x-amz-sdk-checksum-algorithm']);
  // INVARIANT: the stages are guarded from birth: the source flows into them before the
  // vault attaches (authorization and the audit record come first), and a client hanging
  // up meanwhile destroys them with an error nobody else listens to yet
  const digest = guard(new DigestStream(expectations, [...extra, ...(echo ? [echo] : [])]));

  // the body is read only from here: answer a waiting `Expect: 100-continue` now
  op.http.proceed?.();
  const source: Readable = op.http.body;
  const drain = () => {
    source.unpipe();
    // keep reading and dropping the rest, so the client can finish sending and read our error
    source.resume();
  };
  if (decoder !== null) {
    source.pipe(decoder).pipe(digest);
    decoder.on('error', (err) => {
      drain();
      destroySafely(digest, err);
    });
  } else {
    source.pipe(digest);
  }
  source.on('error', (err) => destroySafely(decoder ?? digest, err));
  digest.once('close', () => {
    if (!source.readableEnded) drain();
  });
  return {
    plaintext: digest,
    size,
    sha256: payload !== null && HEX64.test(payload) ? payload : undefined,
    echo,
    failure: () => decoder?.failure ?? digest.failure,
  };
}

/**
 * Reads a small XML request body (DeleteObjects, CompleteMultipartUpload) through the
 * same checks as an object body (aws-chunked, Content-MD5, checksums, signed SHA-256),
 * up to `limit` bytes.
 */
export async function readCheckedBody(op: S3Op, limit: number, options: { checksumHeaders?: boolean } = {}): Promise<string> {
  const body = requestBody(op, ['sha256'], options);
  if (body.size > limit) throw new S3RequestError(`the XML body is larger than ${limit} bytes`, { s3Code: 'MalformedXML' });
  const chunks: Buffer[] = [];
  let total = 0;
  try {
    for await (const chunk of body.plaintext) {
      total += (chunk as Buffer).length;
      if (total > limit) throw new S3RequestError(`the XML body is larger than ${limit} bytes`, { s3Code: 'MalformedXML' });
      chunks.push(chunk as Buffer);
    }
  } catch (err) {
    throw body.failure() ?? err;
  }
  if (total !== body.size) throw new S3RequestError('you did not provide the number of bytes specified by the Content-Length HTTP header', { s3Code: 'IncompleteBody' });
  if (body.sha256 !== undefined && Buffer.from(body.plaintext.digest.checksums.sha256 ?? '', 'base64').toString('hex') !== body.sha256) {
    throw new S3RequestError('the provided x-amz-content-sha256 header does not match what was computed', { s3Code: 'XAmzContentSHA256Mismatch' });
  }
  return Buffer.concat(chunks, total).toString('utf8');
}
