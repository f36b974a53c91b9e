/**
 * AWS's UriEncode (SigV4): every byte but `A-Z a-z 0-9 - . _ ~` as `%XX` (uppercase
 * hex, UTF-8); `/` kept as is when `keepSlash` (object key paths).
 */
export function awsUriEncode(text: string, keepSlash: boolean): string {
  let out = '';
  for (const byte of Buffer.from(text, 'utf8')) {
    const c = String.fromCharCode(byte);
    if ((byte >= 0x41 && byte <= 0x5a) || (byte >= 0x61 && byte <= 0x7a) || (byte >= 0x30 && byte <= 0x39) || c === '-' || c === '.' || c === '_' || c === '~' || (keepSlash && c === '/')) {
      out += c;
    } else {
      out += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
    }
  }
  return out;
}

/** Decodes percent-escapes; a malformed escape yields null (the request is then refused). */
export function percentDecode(text: string): string | null {
  try {
    return decodeURIComponent(text);
  } catch {
    return null;
  }
}

/** One `name=value` pair of a raw query string, decoded. */
export interface QueryParam {
  name: string;
  value: string;
}

/** Splits and decodes a raw query string (without `?`); null if an escape is malformed. `+` stays `+`. */
export function parseQuery(raw: string): QueryParam[] | null {
  const out: QueryParam[] = [];
  if (raw === '') return out;
  for (const part of raw.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const name = percentDecode(eq < 0 ? part : part.slice(0, eq));
    const value = percentDecode(eq < 0 ? '' : part.slice(eq + 1));
    if (name === null || value === null) return null;
    out.push({ name, value });
  }
  return out;
}
