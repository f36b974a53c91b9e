import { S3RequestError } from '../domain/errors.js';
import type { S3ContentHeaders } from '../store/s3-store.js';

/** The content headers S3 keeps from a write and returns on GET and HEAD. */
export const CONTENT_HEADER_NAMES = ['cache-control', 'content-disposition', 'content-encoding', 'content-language', 'expires'] as const;
/** Most bytes of one kept content header value. */
const MAX_VALUE = 2048;
/** What a header value may hold and still be written back as one (as user-metadata.ts). */
const VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

/**
 * The content headers of a write. `aws-chunked` is a transfer coding of the request
 * (aws-chunked.ts), not of the object, so it is dropped from Content-Encoding as S3 does.
 * Errors name the header, never its value.
 */
export function contentHeadersOf(headers: Record<string, string | undefined>): S3ContentHeaders {
  const out: S3ContentHeaders = {};
  for (const name of CONTENT_HEADER_NAMES) {
    let value = headers[name];
    if (value === undefined) continue;
    if (name === 'content-encoding') {
      value = value
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s !== '' && s.toLowerCase() !== 'aws-chunked')
        .join(', ');
      if (value === '') continue;
    }
    if (value.length > MAX_VALUE || !VALUE.test(value)) throw new S3RequestError(`the value of \`${name}\` is too long or holds characters a header cannot carry`, { s3Code: 'InvalidArgument' });
    out[name] = value;
  }
  return out;
}

/** The response headers of stored content headers (an entry that could not be written back is left out). */
export function contentHeadersOfObject(stored: S3ContentHeaders | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of CONTENT_HEADER_NAMES) {
    const value = stored?.[name];
    if (value !== undefined && VALUE.test(value)) out[name] = value;
  }
  return out;
}
