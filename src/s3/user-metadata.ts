import { S3RequestError } from '../domain/errors.js';
import type { S3UserMetadata } from '../store/s3-store.js';

/** Header prefix of user-defined metadata. */
export const USER_METADATA_PREFIX = 'x-amz-meta-';
/** Most bytes of user-defined metadata (names without the prefix plus values), as S3: 2 KB. */
export const MAX_USER_METADATA_BYTES = 2048;

/** A header name (RFC 9110 token), lower case. */
const TOKEN = /^[!#$%&'*+.^_`|~0-9a-z-]+$/;
/**
 * What a header value may hold and still be written back as one (Node's rule): tab,
 * visible ASCII, and the bytes 0x80-0xFF (header values arrive decoded as latin1, one
 * character per byte received, so UTF-8 text round-trips byte for byte).
 */
const VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

/**
 * The user-defined metadata of a write: every `x-amz-meta-*` header, the name lower-cased
 * without the prefix, the value as received (a repeated header arrives as one value, joined by the transport).
 * At most 2 KB (names and values, in bytes received), else MetadataTooLarge.
 * Errors name the header, never its value: values are the user's and stay out of
 * audit records and logs.
 */
export function userMetadataOf(headers: Record<string, string>): S3UserMetadata {
  const entries: Array<[string, string]> = [];
  let bytes = 0;
  for (const [header, value] of Object.entries(headers)) {
    const lower = header.toLowerCase();
    if (!lower.startsWith(USER_METADATA_PREFIX)) continue;
    const name = lower.slice(USER_METADATA_PREFIX.length);
    // a bare `x-amz-meta-` names nothing that could be returned
    if (name === '') continue;
    if (!TOKEN.test(name)) throw new S3RequestError(`the metadata header name \`${USER_METADATA_PREFIX}${name.slice(0, 100)}\` is not valid`, { s3Code: 'InvalidArgument' });
    if (!VALUE.test(value)) throw new S3RequestError(`the value of \`${USER_METADATA_PREFIX}${name.slice(0, 100)}\` holds characters a header cannot carry`, { s3Code: 'InvalidArgument' });
    // both are one character per byte received (ASCII names, latin1-decoded values)
    bytes += name.length + value.length;
    entries.push([name, value]);
  }
  if (bytes > MAX_USER_METADATA_BYTES) {
    throw new S3RequestError(`your metadata headers exceed the maximum allowed metadata size: ${bytes} bytes, at most ${MAX_USER_METADATA_BYTES}`, { s3Code: 'MetadataTooLarge' });
  }
  entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  // fromEntries defines own properties, so a name such as `__proto__` is kept as any other
  return Object.fromEntries(entries);
}

/**
 * The `x-amz-meta-*` response headers of an object's user metadata. An entry that could
 * not be written as a header (only a row altered outside Coffer could hold one) is left out
 * rather than failing the whole answer.
 */
export function userMetadataHeaders(metadata: S3UserMetadata | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(metadata ?? {})) {
    if (TOKEN.test(name) && VALUE.test(value)) out[`${USER_METADATA_PREFIX}${name}`] = value;
  }
  return out;
}
