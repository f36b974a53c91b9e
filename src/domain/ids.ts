import { randomBytes } from 'node:crypto';
import { InvalidNameError } from './errors.js';

export { assertArtifactName } from './artifact-names.js';

const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz'; // Crockford base32, lowercase

/**
 * A new identifier: `prefix_` + 48 bits of time + 80 random bits in base32, so ids
 * sort by creation time (as ULIDs do) and cannot be guessed.
 */
export function newId(prefix: string): string {
  const bytes = randomBytes(16);
  const ms = Date.now();
  bytes.writeUIntBE(ms, 0, 6);
  return `${prefix}_${base32(bytes, ALPHABET)}`;
}

/**
 * The creation time (epoch ms) an id made by {@link newId} carries, or null if `id` is
 * not such an id. The clock is that of the node that made it.
 */
export function idTime(id: string): number | null {
  const m = /^[a-z0-9]+_([0-9a-hjkmnp-tv-z]{26})$/.exec(id);
  if (m === null) return null;
  // the first 10 characters hold 50 bits: the 48 bits of time and 2 random bits
  let value = 0;
  for (const c of m[1]!.slice(0, 10)) value = value * 32 + ALPHABET.indexOf(c);
  return Math.floor(value / 4);
}

/** `bytes` in base32 over the 32-character `alphabet`, big-endian, unpadded (the last group zero-filled). */
export function base32(bytes: Uint8Array, alphabet: string): string {
  let out = '';
  let bits = 0;
  let value = 0;
  for (const b of bytes) {
    value = (value << 8) | b;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out += alphabet[(value >>> bits) & 31];
    }
  }
  if (bits > 0) out += alphabet[(value << (5 - bits)) & 31];
  return out;
}

/** Id prefixes, one per entity type. */
export const ID_PREFIX = {
  principal: 'prn',
  project: 'prj',
  artifact: 'art',
  version: 'ver',
  grant: 'grt',
  token: 'tok',
} as const;

const SIMPLE_NAME = /^[a-z0-9][a-z0-9._-]{0,62}$/;

/**
 * Validates a project or principal name: lowercase letters, digits, `.`, `_`, `-`,
 * starting with a letter or digit, at most 63 characters.
 */
export function assertSimpleName(kind: string, name: string): void {
  if (!SIMPLE_NAME.test(name)) {
    throw new InvalidNameError(`${kind} name \`${truncate(name)}\` is not valid: use 1-63 of a-z 0-9 . _ - starting with a letter or digit`);
  }
}

function truncate(s: string): string {
  // never echo control characters back to a caller or a log line
  // eslint-disable-next-line no-control-regex
  const clean = s.replace(/[\u0000-\u001f\u007f]/g, '?');
  return clean.length > 80 ? `${clean.slice(0, 80)}…` : clean;
}
