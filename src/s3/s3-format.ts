/** Quoted ETag as S3 sends it. */
export function quoteEtag(etag: string): string {
  return `"${etag}"`;
}

/** An ETag from a request header (quotes and `W/` removed). */
export function unquoteEtag(text: string): string {
  return text.trim().replace(/^W\//, '').replace(/^"(.*)"$/, '$1');
}

/** HTTP date (Last-Modified). */
export function httpDate(ms: number): string {
  return new Date(ms).toUTCString();
}

/** ISO date with milliseconds (XML listings). */
export function isoDate(ms: number): string {
  return new Date(ms).toISOString();
}

/** The ETag of a version without S3 facts (pushed through the REST API): stable, derived from its SHA-256. */
export function fallbackEtag(sha256: string): string {
  return sha256.slice(0, 32);
}
