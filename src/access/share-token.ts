import { generateToken, hashToken, parseToken, tokenHint } from '../identity/token-format.js';

/**
 * Share link secrets use Coffer's token format with kind `share`
 * (`coffer_share_` + 32 base62 + 6 base62 CRC32): scanners find leaked links, typos and
 * tampered links are rejected without a database lookup, and only the SHA-256 is stored.
 */
export function generateShareToken(): { token: string; hash: string; hint: string } {
  const token = generateToken('share');
  return { token, hash: hashToken(token), hint: tokenHint(token) };
}

/** The SHA-256 of a well-formed share token with a valid checksum, else null. */
export function shareTokenHash(token: string): string | null {
  return parseToken(token) === 'share' ? hashToken(token) : null;
}
