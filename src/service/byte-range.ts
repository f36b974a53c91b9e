/**
 * Parses a single HTTP byte range (RFC 9110 14.1.2): `bytes=a-b`, `bytes=a-`, `bytes=-n`.
 * Anything else (multiple ranges, other units, garbage) yields undefined and the whole
 * object is served, as the RFC allows. The one parser of the REST API, share links and
 * the S3 endpoint; `resolveRange` (metered-plaintext.ts) then fits it to a size, after
 * authorization. Numbers have at most 15 digits, so every value is a safe integer.
 */
export function parseRange(header: string | undefined): { start?: number; end?: number; suffix?: number } | undefined {
  if (header === undefined) return undefined;
  const m = /^bytes=(\d{0,15})-(\d{0,15})$/.exec(header.trim());
  if (!m) return undefined;
  const [, a, b] = m as unknown as [string, string, string];
  if (a === '' && b === '') return undefined;
  if (a === '') return { suffix: Number(b) };
  const start = Number(a);
  if (b === '') return { start };
  const end = Number(b);
  return end < start ? undefined : { start, end };
}
