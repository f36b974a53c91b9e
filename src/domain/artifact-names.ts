import { InvalidNameError } from './errors.js';

/** Longest S3 object key, in bytes of UTF-8 (S3's own limit). */
export const MAX_KEY_BYTES = 1024;
/** Longest canonical artifact name: every byte of the longest key escaped as `%XX`. */
export const MAX_ARTIFACT_NAME_LENGTH = MAX_KEY_BYTES * 3;

// The characters a canonical name carries as themselves: letters, digits and the punctuation
// S3 keys commonly carry. Everything else (`%`, `@` the CLI's version separator, `\`, `?`,
// `#`, quotes, brackets, control characters, non-ASCII) is escaped as %XX of its UTF-8 bytes.
const PLAIN = /^[A-Za-z0-9._\-+=,;:!$&'()* ~]$/;
const CANONICAL_SEGMENT = /^(?:[A-Za-z0-9._\-+=,;:!$&'()* ~]|%[0-9A-F]{2})+$/;

function escapeChar(c: string): string {
  if (PLAIN.test(c)) return c;
  let out = '';
  for (const byte of Buffer.from(c, 'utf8')) out += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  return out;
}

function escapeSegment(segment: string): string {
  // a `.` or `..` segment keeps its meaning in S3 (a literal name) and loses it on a path
  if (segment === '.' || segment === '..') return segment.replaceAll('.', '%2E');
  let out = '';
  for (const c of segment) out += escapeChar(c);
  return out;
}

/**
 * The canonical artifact name of an S3 object key: the key, with every character outside
 * the plain set written `%XX` (uppercase hex of its UTF-8 bytes), `.` and `..` segments
 * escaped, and every `/` that would start an empty segment (leading, doubled, trailing:
 * `dir/`, `a//b`) escaped as `%2F`. The mapping is injective (`%` is itself escaped), and
 * {@link keyOfArtifactName} inverts it. A key made only of plain characters and non-empty
 * segments (every name valid before keys were escaped) is its own canonical name.
 * INVARIANT: a canonical name is `/`-separated non-empty segments with no `.` or `..`
 * segment and no byte outside printable ASCII: it can name no path outside a directory.
 * Throws InvalidNameError for what no name can carry: the empty key, NUL (PostgreSQL
 * text cannot hold it; S3 tools cannot list it in XML), lone surrogates, keys over 1024 bytes.
 */
export function artifactNameOfKey(key: string): string {
  assertKeyText(key);
  const segments: string[] = [];
  let current = '';
  for (let i = 0; i < key.length; i++) {
    const c = key[i]!;
    if (c !== '/') {
      current += c;
      continue;
    }
    const rest = key.slice(i + 1);
    if (current !== '' && rest !== '' && !rest.startsWith('/')) {
      segments.push(current);
      current = '';
    } else {
      current += '\u0000'; // placeholder for an escaped slash (NUL is never in a key)
    }
  }
  segments.push(current);
  return segments.map((s) => s.split('\u0000').map(escapeSegment).join('%2F')).join('/');
}

/** The S3 object key a canonical artifact name stands for (the inverse of {@link artifactNameOfKey}). */
export function keyOfArtifactName(name: string): string {
  // canonical names decode without fail; a name that does not is returned as it is
  try {
    return decodeURIComponent(name);
  } catch {
    return name;
  }
}

function assertKeyText(key: string): void {
  if (key.length === 0) throw new InvalidNameError('an object key must not be empty');
  if (key.includes('\u0000')) throw new InvalidNameError('an object key must not contain NUL');
  if (/\p{Cs}/u.test(key)) throw new InvalidNameError('an object key must be valid UTF-8');
  if (Buffer.byteLength(key, 'utf8') > MAX_KEY_BYTES) throw new InvalidNameError(`an object key must be at most ${MAX_KEY_BYTES} bytes of UTF-8`);
}

/**
 * Validates an artifact name: the canonical name of an S3 key (see {@link artifactNameOfKey}):
 * `/`-separated non-empty segments of letters, digits, `. _ - + = , ; : ! $ & ' ( ) * ~`,
 * space and `%XX` escapes, in canonical form only (so one key has exactly one name: `%41`
 * for `A` or a lowercase escape is refused), no `.` or `..` segment, standing for a key of
 * at most 1024 bytes.
 * INVARIANT: a valid artifact name can never escape a directory when used as a path.
 */
export function assertArtifactName(name: string): void {
  const bad = (why: string) =>
    new InvalidNameError(`artifact name \`${truncate(name)}\` is not valid: ${why}; use segments of letters, digits, space and . _ - + = , ; : ! $ & ' ( ) * ~ separated by /, other characters escaped %XX (as S3 keys map to names)`);
  if (name.length === 0 || name.length > MAX_ARTIFACT_NAME_LENGTH) throw bad('empty or too long');
  for (const seg of name.split('/')) {
    if (!CANONICAL_SEGMENT.test(seg) || seg === '.' || seg === '..') throw bad('an empty, `.` or `..` segment or a character that must be escaped');
  }
  let canonical: string;
  try {
    canonical = artifactNameOfKey(decodeURIComponent(name));
  } catch {
    throw bad('an escape that is not UTF-8');
  }
  if (canonical !== name) throw bad(`not in canonical form (\`${truncate(canonical)}\`)`);
}

function truncate(s: string): string {
  // never echo control characters back to a caller or a log line
  // eslint-disable-next-line no-control-regex
  const clean = s.replace(/[\u0000-\u001f\u007f]/g, '?');
  return clean.length > 80 ? `${clean.slice(0, 80)}…` : clean;
}
