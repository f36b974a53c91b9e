import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { crc32 } from 'node:zlib';

/**
 * Token format (stable, v1): `coffer_<kind>_` + 32 random base62 characters + 6 base62
 * characters of CRC32 over everything before them. The identifiable prefix lets secret
 * scanners find leaked tokens; the checksum lets them (and us) reject typos and random
 * strings without a database lookup. ~190 bits of entropy.
 */
export const TOKEN_KINDS = ['pat', 'setup', 'share', 'refresh', 'scim', 'enroll'] as const;
export type TokenKind = (typeof TOKEN_KINDS)[number];

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const RANDOM_LENGTH = 32;
const CHECKSUM_LENGTH = 6;
const TOKEN_RE = /^coffer_(pat|setup|share|refresh|scim|enroll)_([0-9A-Za-z]{32})([0-9A-Za-z]{6})$/;

function base62(bytes: Buffer, length: number): string {
  // rejection sampling keeps the characters uniform
  let out = '';
  let i = 0;
  while (out.length < length) {
    if (i >= bytes.length) {
      bytes = randomBytes(length * 2);
      i = 0;
    }
    const b = bytes[i++]!;
    if (b < 248) out += BASE62[b % 62];
  }
  return out;
}

function checksum(body: string): string {
  let n = crc32(Buffer.from(body, 'utf8'));
  let out = '';
  for (let i = 0; i < CHECKSUM_LENGTH; i++) {
    out = BASE62[n % 62]! + out;
    n = Math.floor(n / 62);
  }
  return out;
}

/** A new token of `kind`. The caller shows it once and stores only {@link hashToken}. */
export function generateToken(kind: TokenKind, random: Buffer = randomBytes(RANDOM_LENGTH * 2)): string {
  const body = `coffer_${kind}_${base62(random, RANDOM_LENGTH)}`;
  return body + checksum(body);
}

/** The token's kind if it is well formed with a valid checksum, else null. */
export function parseToken(token: string): TokenKind | null {
  const m = TOKEN_RE.exec(token);
  if (!m) return null;
  const body = token.slice(0, token.length - CHECKSUM_LENGTH);
  const expected = Buffer.from(checksum(body));
  const given = Buffer.from(m[3]!);
  // not secret, but keep every comparison of token material constant-time
  if (!timingSafeEqual(expected, given)) return null;
  return m[1] as TokenKind;
}

/** SHA-256 hex of a token: what the server stores and looks up. Tokens carry enough entropy that a fast hash is right. */
export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** A non-secret hint for listings: the prefix and the last 4 characters. */
export function tokenHint(token: string): string {
  const kind = parseToken(token) ?? 'pat';
  return `coffer_${kind}_…${token.slice(-4)}`;
}

/** Finds Coffer tokens with valid checksums in text (for `coffer token scan`). */
export function findTokens(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(/coffer_(?:pat|setup|share|refresh|scim|enroll)_[0-9A-Za-z]{38}(?![0-9A-Za-z])/g)) {
    if (parseToken(m[0]) !== null) out.push(m[0]);
  }
  return out;
}
