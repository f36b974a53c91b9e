import { calculateJwkThumbprint, decodeProtectedHeader, importJWK, jwtVerify } from 'jose';
import type { JWK } from 'jose';
import { TokenInvalidError, ValidationError } from '../domain/errors.js';
import type { ClientKeyRecord, IdentityStore } from '../store/identity-store.js';
import { mapJoseError } from './access-token.js';

/** Signature algorithms a service account key may use, by JWK type. */
const ALG_OF: Record<string, string> = { 'OKP:Ed25519': 'EdDSA', 'EC:P-256': 'ES256', 'EC:P-384': 'ES384', RSA: 'RS256' };
/** An assertion must not live longer than this (RFC 7523 asks for short lifetimes). */
export const MAX_ASSERTION_SECONDS = 300;

/** The algorithm a public JWK signs with; ValidationError for anything else (private keys included). */
export function algorithmOf(jwk: JWK): string {
  if (typeof jwk !== 'object' || jwk === null || jwk.d !== undefined || jwk.p !== undefined || jwk.k !== undefined) throw new ValidationError('key must be a public JWK (Ed25519, P-256, P-384 or RSA)');
  const alg = ALG_OF[jwk.kty === 'RSA' ? 'RSA' : `${jwk.kty}:${jwk.crv}`];
  if (alg === undefined) throw new ValidationError('key must be a public JWK (Ed25519, P-256, P-384 or RSA)');
  if (jwk.kty === 'RSA' && Buffer.from(String(jwk.n ?? ''), 'base64url').length < 256) throw new ValidationError('RSA keys must have at least 2048 bits');
  return alg;
}

/** The key id of a public JWK: RFC 7638 thumbprint. */
export async function keyIdOf(jwk: JWK): Promise<string> {
  algorithmOf(jwk);
  return calculateJwkThumbprint(jwk, 'sha256');
}

/**
 * Verifies a private_key_jwt client assertion (RFC 7523): the header's `kid` names a
 * registered, unrevoked key of the service account; the signature uses that key's one
 * algorithm; `iss` = `sub` = the service account's name; `aud` is one of Coffer's
 * token endpoint URLs or its issuer; the assertion lives at most five minutes and its
 * `jti` is used once. Returns the key record.
 */
export async function verifyClientAssertion(identity: IdentityStore, assertion: string, input: { clientName?: string; audiences: string[]; now: number }): Promise<{ key: ClientKeyRecord; subject: string }> {
  let kid: string | undefined;
  try {
    kid = decodeProtectedHeader(assertion).kid;
  } catch {
    throw new TokenInvalidError('client assertion is not valid');
  }
  const key = typeof kid === 'string' ? await identity.getClientKey(kid.slice(0, 128)) : null;
  if (key === null || key.revokedAt !== null) throw new TokenInvalidError('client assertion is not valid', { detail: 'unknown or revoked key id' });
  const jwk = JSON.parse(key.jwk) as JWK;
  const alg = algorithmOf(jwk);
  let payload;
  try {
    ({ payload } = await jwtVerify(assertion, await importJWK(jwk, alg), { algorithms: [alg], audience: input.audiences, currentDate: new Date(input.now), requiredClaims: ['iss', 'sub', 'exp', 'jti'] }));
  } catch (err) {
    throw mapJoseError(err);
  }
  const { iss, sub, exp, iat, jti } = payload;
  if (iss !== sub || typeof sub !== 'string' || (input.clientName !== undefined && input.clientName !== sub)) throw new TokenInvalidError('client assertion is not valid', { detail: 'iss/sub/client_id mismatch' });
  const issuedAt = typeof iat === 'number' ? iat : Math.floor(input.now / 1000);
  if (typeof exp !== 'number' || exp - issuedAt > MAX_ASSERTION_SECONDS || exp * 1000 - input.now > MAX_ASSERTION_SECONDS * 1000) throw new TokenInvalidError('client assertion lives too long', { detail: `max ${MAX_ASSERTION_SECONDS} s` });
  // INVARIANT: an assertion works once (its jti is remembered until it expires)
  if (!(await identity.markJtiSeen(`assertion:${key.kid}:${String(jti)}`, exp * 1000))) throw new TokenInvalidError('client assertion was already used');
  return { key, subject: sub };
}
