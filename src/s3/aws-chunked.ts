import { createHash, createHmac, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { S3RequestError, S3SignatureMismatchError } from '../domain/errors.js';
import { EMPTY_SHA256, hexEqual, sha256Hex, type SigV4Context } from './sigv4.js';

/** The `x-amz-content-sha256` values that announce an aws-chunked body. */
export const STREAMING_PAYLOADS = {
  signed: 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD',
  signedTrailer: 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER',
  unsignedTrailer: 'STREAMING-UNSIGNED-PAYLOAD-TRAILER',
} as const;

/** Longest chunk header or trailer line accepted (the framing is tiny; anything longer is garbage). */
const MAX_LINE = 4096;
/** Most trailer lines accepted. */
const MAX_TRAILERS = 16;

type State = 'header' | 'data' | 'data-crlf' | 'trailer' | 'done';

const incomplete = (message: string) => new S3RequestError(message, { s3Code: 'IncompleteBody' });
const badChunk = (message: string) => new S3RequestError(message, { s3Code: 'InvalidChunkSizeError' });

/**
 * Decodes an `aws-chunked` body into the plain object bytes, streaming: the framing
 * never reaches the vault. With a SigV4 context every chunk signature is verified
 * (chained from the request's seed signature) and, for the signed-trailer variant, the
 * trailer signature; a mismatch fails the stream (SignatureDoesNotMatch), so the vault
 * publishes nothing. Trailer headers (`x-amz-checksum-*`) are kept for the checksum check.
 */
export class AwsChunkedDecoder extends Transform {
  private state: State = 'header';
  private line = Buffer.alloc(0);
  private remaining = 0;
  private chunkHash: Hash | null = null;
  private chunkSignature: string | null = null;
  private previousSignature: string;
  private trailerCount = 0;
  private trailerSignature: string | null = null;
  private readonly trailerLines: string[] = [];
  /** Trailer headers, lowercase names. */
  readonly trailers = new Map<string, string>();
  /** Decoded bytes emitted. */
  decoded = 0;
  /** The error this decoder failed with, if any. */
  failure: Error | null = null;

  constructor(private readonly options: { signing: SigV4Context | null; trailer: boolean }) {
    super();
    this.previousSignature = options.signing?.seedSignature ?? '';
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    try {
      this.consume(chunk);
      callback();
    } catch (err) {
      callback(this.fail(err as Error));
    }
  }

  override _flush(callback: TransformCallback): void {
    if (this.state !== 'done') {
      callback(this.fail(incomplete('the aws-chunked body ended before its final chunk')));
      return;
    }
    callback();
  }

  private consume(buf: Buffer): void {
    let i = 0;
    while (i < buf.length) {
      switch (this.state) {
        case 'data': {
          const n = Math.min(this.remaining, buf.length - i);
          const piece = buf.subarray(i, i + n);
          this.chunkHash?.update(piece);
          this.decoded += n;
          this.push(piece);
          this.remaining -= n;
          i += n;
          if (this.remaining === 0) this.state = 'data-crlf';
          break;
        }
        case 'data-crlf': {
          const got = this.takeLine(buf, i);
          i = got.next;
          if (got.line === null) break;
          if (got.line.length !== 0) throw badChunk('chunk data is not followed by CRLF');
          this.endChunk(false);
          this.state = 'header';
          break;
        }
        case 'header': {
          const got = this.takeLine(buf, i);
          i = got.next;
          if (got.line !== null) this.startChunk(got.line.toString('latin1'));
          break;
        }
        case 'trailer': {
          const got = this.takeLine(buf, i);
          i = got.next;
          if (got.line !== null) this.trailerLine(got.line.toString('latin1'));
          break;
        }
        case 'done':
          // a CRLF after the last empty line is tolerated; anything else is not
          if (buf.subarray(i).every((b) => b === 0x0d || b === 0x0a)) return;
          throw badChunk('data after the end of the aws-chunked body');
      }
    }
  }

  /** Accumulates up to CRLF; returns the line (without CRLF) once complete. */
  private takeLine(buf: Buffer, from: number): { line: Buffer | null; next: number } {
    const lf = buf.indexOf(0x0a, from);
    if (lf < 0) {
      this.line = Buffer.concat([this.line, buf.subarray(from)]);
      if (this.line.length > MAX_LINE) throw badChunk('aws-chunked header line too long');
      return { line: null, next: buf.length };
    }
    const whole = Buffer.concat([this.line, buf.subarray(from, lf)]);
    this.line = Buffer.alloc(0);
    if (whole.length > MAX_LINE) throw badChunk('aws-chunked header line too long');
    if (whole.length === 0 || whole[whole.length - 1] !== 0x0d) throw badChunk('aws-chunked line does not end with CRLF');
    return { line: whole.subarray(0, whole.length - 1), next: lf + 1 };
  }

  private startChunk(text: string): void {
    const [sizeText, ...extensions] = text.split(';');
    if (!/^[0-9a-fA-F]{1,16}$/.test(sizeText ?? '')) throw badChunk('chunk size is not hexadecimal');
    const size = Number.parseInt(sizeText!, 16);
    if (!Number.isSafeInteger(size)) throw badChunk('chunk size is too large');
    let signature: string | null = null;
    for (const ext of extensions) {
      const eq = ext.indexOf('=');
      if (eq > 0 && ext.slice(0, eq).trim() === 'chunk-signature') signature = ext.slice(eq + 1).trim();
    }
    if (this.options.signing !== null) {
      if (signature === null || !/^[0-9a-f]{64}$/.test(signature)) throw new S3SignatureMismatchError('a chunk of the aws-chunked body has no valid chunk-signature');
      this.chunkSignature = signature;
      this.chunkHash = createHash('sha256');
    }
    this.remaining = size;
    if (size === 0) {
      this.endChunk(true);
      // the final chunk is followed by the trailer lines (if any) and an empty line
      this.state = 'trailer';
      return;
    }
    this.state = 'data';
  }

  /** Verifies the signature of the chunk just read (the empty final chunk included). */
  private endChunk(final: boolean): void {
    const signing = this.options.signing;
    if (signing === null) return;
    const dataHash = final ? EMPTY_SHA256 : this.chunkHash!.digest('hex');
    const stringToSign = `AWS4-HMAC-SHA256-PAYLOAD\n${signing.amzDate}\n${signing.scope}\n${this.previousSignature}\n${EMPTY_SHA256}\n${dataHash}`;
    const expected = createHmac('sha256', signing.signingKey).update(stringToSign, 'utf8').digest('hex');
    if (!hexEqual(expected, this.chunkSignature ?? '')) throw new S3SignatureMismatchError('the chunk signature we calculated does not match the one you provided');
    this.previousSignature = expected;
    this.chunkHash = null;
    this.chunkSignature = null;
  }

  private trailerLine(text: string): void {
    if (text === '') {
      this.finishTrailer();
      this.state = 'done';
      return;
    }
    if (!this.options.trailer) throw new S3RequestError('trailing headers were not announced with x-amz-trailer', { s3Code: 'MalformedTrailerError' });
    if (++this.trailerCount > MAX_TRAILERS) throw new S3RequestError('too many trailing headers', { s3Code: 'MalformedTrailerError' });
    const colon = text.indexOf(':');
    if (colon <= 0) throw new S3RequestError('a trailing header is malformed', { s3Code: 'MalformedTrailerError' });
    const name = text.slice(0, colon).trim().toLowerCase();
    const value = text.slice(colon + 1).trim();
    if (name === 'x-amz-trailer-signature') {
      this.trailerSignature = value;
      return;
    }
    this.trailers.set(name, value);
    this.trailerLines.push(`${name}:${value}`);
  }

  private finishTrailer(): void {
    const signing = this.options.signing;
    if (signing === null || !this.options.trailer) return;
    if (this.trailerSignature === null) throw new S3SignatureMismatchError('the signed trailer has no x-amz-trailer-signature');
    const canonical = this.trailerLines.map((l) => `${l}\n`).join('');
    const stringToSign = `AWS4-HMAC-SHA256-TRAILER\n${signing.amzDate}\n${signing.scope}\n${this.previousSignature}\n${sha256Hex(canonical)}`;
    const expected = createHmac('sha256', signing.signingKey).update(stringToSign, 'utf8').digest('hex');
    if (!hexEqual(expected, this.trailerSignature)) throw new S3SignatureMismatchError('the trailer signature we calculated does not match the one you provided');
  }

  private fail(err: Error): Error {
    this.failure ??= err;
    return err;
  }
}
