import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { base32 } from '../domain/ids.js';

/** Hash functions RFC 6238 allows. */
export type TotpAlgorithm = 'SHA1' | 'SHA256' | 'SHA512';

/** TOTP parameters: Coffer issues SHA1, 6 digits, 30 s (what every authenticator app reads). */
export interface TotpParams {
  algorithm: TotpAlgorithm;
  digits: number;
  periodSeconds: number;
}

export const DEFAULT_TOTP: TotpParams = { algorithm: 'SHA1', digits: 6, periodSeconds: 30 };

/** HOTP (RFC 4226): the dynamically truncated HMAC of an 8-byte big-endian counter. */
export function hotp(secret: Uint8Array, counter: number, digits: number, algorithm: TotpAlgorithm = 'SHA1'): string {
  const msg = Buffer.alloc(8);
  msg.writeBigUInt64BE(BigInt(counter));
  const mac = createHmac(algorithm.toLowerCase(), secret).update(msg).digest();
  const offset = mac[mac.length - 1]! & 0x0f;
  const bin = ((mac[offset]! & 0x7f) << 24) | (mac[offset + 1]! << 16) | (mac[offset + 2]! << 8) | mac[offset + 3]!;
  return String(bin % 10 ** digits).padStart(digits, '0');
}

/** The RFC 6238 time step of `nowMs`. */
export function totpStep(nowMs: number, periodSeconds = DEFAULT_TOTP.periodSeconds): number {
  return Math.floor(nowMs / 1000 / periodSeconds);
}

/** The TOTP code at `nowMs`. */
export function totp(secret: Uint8Array, nowMs: number, params: TotpParams = DEFAULT_TOTP): string {
  return hotp(secret, totpStep(nowMs, params.periodSeconds), params.digits, params.algorithm);
}

/**
 * The step a code matches, within ±`window` steps of now (clock drift), or null. Every
 * candidate is compared, constant-time, so timing does not tell which step matched.
 * The caller must refuse a step not later than the last accepted one (replay).
 */
export function matchTotp(secret: Uint8Array, code: string, nowMs: number, params: TotpParams = DEFAULT_TOTP, window = 1): number | null {
  if (!/^\d+$/.test(code) || code.length !== params.digits) return null;
  const step = totpStep(nowMs, params.periodSeconds);
  let found: number | null = null;
  for (let d = -window; d <= window; d++) {
    const expected = Buffer.from(hotp(secret, step + d, params.digits, params.algorithm));
    if (timingSafeEqual(expected, Buffer.from(code)) && found === null) found = step + d;
  }
  return found;
}

/** A new random TOTP secret (160 bits, RFC 4226's recommended length for SHA1). */
export function newTotpSecret(): Buffer {
  return randomBytes(20);
}

const B32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** RFC 4648 base32 without padding (what otpauth URIs carry). */
export function base32Encode(bytes: Uint8Array): string {
  return base32(bytes, B32);
}

/** Decodes RFC 4648 base32 (case-insensitive, padding and spaces ignored); null if invalid. */
export function base32Decode(text: string): Buffer | null {
  const clean = text.replace(/[\s=]/g, '').toUpperCase();
  const out: number[] = [];
  let bits = 0;
  let value = 0;
  for (const c of clean) {
    const i = B32.indexOf(c);
    if (i < 0) return null;
    value = (value << 5) | i;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out.push((value >>> bits) & 0xff);
    }
  }
  return Buffer.from(out);
}

/** The `otpauth://` URI an authenticator app scans (label `issuer:account`). */
export function otpauthUri(secret: Uint8Array, account: string, issuer: string, params: TotpParams = DEFAULT_TOTP): string {
  const label = encodeURIComponent(`${issuer}:${account}`);
  const q = new URLSearchParams({ secret: base32Encode(secret), issuer, algorithm: params.algorithm, digits: String(params.digits), period: String(params.periodSeconds) });
  return `otpauth://totp/${label}?${q.toString()}`;
}
