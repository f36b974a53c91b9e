import { createHmac, timingSafeEqual } from 'node:crypto';

/** Header carrying the signature: `v1=<hex HMAC-SHA256>`. */
export const SIGNATURE_HEADER = 'x-coffer-signature';
/** Header carrying the signing time, in Unix seconds. */
export const TIMESTAMP_HEADER = 'x-coffer-timestamp';

/**
 * The signature of a webhook body: `v1=` + hex HMAC-SHA256 under `secret` of
 * `<timestamp>.<body>`. Binding the timestamp lets a receiver refuse replays of old
 * deliveries.
 */
export function signWebhook(secret: string, timestamp: number, body: string): string {
  return `v1=${createHmac('sha256', secret).update(`${timestamp}.${body}`, 'utf8').digest('hex')}`;
}

/**
 * Checks a delivery as a receiver should: the signature must match (compared in
 * constant time) and the timestamp be within `toleranceSeconds` of `nowSeconds`.
 */
export function verifyWebhookSignature(secret: string, timestampHeader: string, body: string, signatureHeader: string, nowSeconds: number, toleranceSeconds = 300): boolean {
  if (!/^\d{1,12}$/.test(timestampHeader)) return false;
  const ts = Number(timestampHeader);
  if (Math.abs(nowSeconds - ts) > toleranceSeconds) return false;
  const expected = Buffer.from(signWebhook(secret, ts, body), 'utf8');
  const given = Buffer.from(signatureHeader, 'utf8');
  // constant time: a receiver must not leak how much of a forged signature was right
  return expected.length === given.length && timingSafeEqual(expected, given);
}
