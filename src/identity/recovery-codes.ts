import { createHash, randomBytes } from 'node:crypto';

const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz'; // Crockford base32: no i, l, o, u
/** Codes issued at a time. */
export const RECOVERY_CODE_COUNT = 10;

/**
 * New recovery codes: 16 base32 characters (80 bits) in groups of four. With that much
 * entropy a fast hash is right for storage (as for tokens); each code works once.
 */
export function newRecoveryCodes(count = RECOVERY_CODE_COUNT): string[] {
  return Array.from({ length: count }, () => {
    const bytes = randomBytes(16);
    const chars = [...bytes].map((b) => ALPHABET[b & 31]).join('');
    return chars.match(/.{4}/g)!.join('-');
  });
}

/** Canonical form of a typed code: lowercase, no separators, common misreadings fixed. */
export function normalizeRecoveryCode(code: string): string {
  return code.toLowerCase().replace(/[\s-]/g, '').replace(/[il]/g, '1').replace(/o/g, '0');
}

/** What the store keeps: SHA-256 hex of the canonical code. */
export function hashRecoveryCode(code: string): string {
  return createHash('sha256').update(`coffer-recovery:${normalizeRecoveryCode(code)}`).digest('hex');
}

/** True if `code` looks like a recovery code (so a login can tell it from a TOTP code). */
export function isRecoveryCodeShape(code: string): boolean {
  return /^[0-9a-z]{16}$/.test(normalizeRecoveryCode(code));
}
