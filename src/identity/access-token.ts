import { randomBytes } from 'node:crypto';
import { SignJWT, errors, jwtVerify } from 'jose';
import { TokenAudienceError, TokenExpiredError, TokenInvalidError, TokenNotYetValidError } from '../domain/errors.js';
import type { CofferError } from '../domain/errors.js';
import type { SigningKey } from './identity-keys.js';

/** An access token never lives longer than this, whatever is configured or asked. */
export const MAX_ACCESS_TOKEN_SECONDS = 3600;
/** Default access token lifetime. */
export const DEFAULT_ACCESS_TOKEN_SECONDS = 900;
/** The `aud` of Coffer access tokens. */
export const ACCESS_TOKEN_AUDIENCE = 'coffer-api';
const TYP = 'at+jwt';

/** Claims of a Coffer access token (RFC 9068 profile). */
export interface AccessClaims {
  /** Principal id. */
  sub: string;
  /** Session id: revoking the session revokes every token minted from it. */
  sid: string;
  jti: string;
  iat: number;
  nbf: number;
  exp: number;
  /** Authentication methods of the session when the token was minted (informational; the session is authoritative). */
  amr: string[];
}

/** Signs an access token valid from `now` for `ttlSeconds` (capped at one hour). */
export async function signAccessToken(key: SigningKey, input: { issuer: string; principalId: string; sessionId: string; methods: string[]; now: number; ttlSeconds: number }): Promise<{ token: string; claims: AccessClaims }> {
  const ttl = Math.max(1, Math.min(input.ttlSeconds, MAX_ACCESS_TOKEN_SECONDS));
  const iat = Math.floor(input.now / 1000);
  const claims: AccessClaims = { sub: input.principalId, sid: input.sessionId, jti: randomBytes(16).toString('base64url'), iat, nbf: iat, exp: iat + ttl, amr: input.methods };
  const token = await new SignJWT({ sid: claims.sid, amr: claims.amr })
    .setProtectedHeader({ alg: 'EdDSA', typ: TYP, kid: key.kid })
    .setIssuer(input.issuer)
    .setAudience(ACCESS_TOKEN_AUDIENCE)
    .setSubject(claims.sub)
    .setJti(claims.jti)
    .setIssuedAt(claims.iat)
    .setNotBefore(claims.nbf)
    .setExpirationTime(claims.exp)
    .sign(key.privateKey);
  return { token, claims };
}

/** True if the bearer has the shape of a compact JWS (three base64url parts). */
export function looksLikeJwt(bearer: string): boolean {
  return /^[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]*$/.test(bearer) && bearer.length <= 8192;
}

/** Finds the verification key of a token's `kid` (current or still-valid previous key); null if none. */
export type SigningKeyResolver = (kid: string, now: number) => SigningKey | null | Promise<SigningKey | null>;

/**
 * Verifies an access token: the signature first, with EdDSA as the only algorithm
 * (so `alg: none` and HS256-with-the-public-key are refused before any claim is read)
 * and the key its `kid` names (a token without `kid`, or naming no key we hold, is
 * refused), then `typ`, issuer, audience, `nbf`, `exp` and the one-hour bound on the
 * lifetime. Each failure is its catalog error; the session and revocation checks come after.
 */
export async function verifyAccessToken(keys: SigningKey | SigningKeyResolver, token: string, input: { issuer: string; now: number }): Promise<AccessClaims> {
  const resolve: SigningKeyResolver = typeof keys === 'function' ? keys : (kid) => (kid === keys.kid ? keys : null);
  let payload;
  try {
    ({ payload } = await jwtVerify(token, async (header) => {
      const key = typeof header.kid === 'string' ? await resolve(header.kid, input.now) : null;
      if (key === null) throw new TokenInvalidError(undefined, { detail: 'access token: unknown signing key' });
      return key.publicKey;
    }, {
      algorithms: ['EdDSA'],
      typ: TYP,
      issuer: input.issuer,
      audience: ACCESS_TOKEN_AUDIENCE,
      currentDate: new Date(input.now),
      requiredClaims: ['sub', 'jti', 'iat', 'nbf', 'exp'],
    }));
  } catch (err) {
    throw err instanceof TokenInvalidError ? err : mapJoseError(err);
  }
  const { sub, jti, iat, nbf, exp, sid, amr } = payload as Record<string, unknown>;
  if (typeof sub !== 'string' || typeof jti !== 'string' || typeof sid !== 'string' || typeof iat !== 'number' || typeof nbf !== 'number' || typeof exp !== 'number') {
    throw new TokenInvalidError(undefined, { detail: 'access token: missing claims' });
  }
  // INVARIANT: even a validly signed token is refused if it claims more than an hour
  if (exp - iat > MAX_ACCESS_TOKEN_SECONDS || nbf < iat) throw new TokenInvalidError(undefined, { detail: 'access token: lifetime over the limit' });
  return { sub, jti, sid, iat, nbf, exp, amr: Array.isArray(amr) ? amr.filter((m): m is string => typeof m === 'string') : [] };
}

/** Maps jose's errors to catalog errors (claims only after the signature was verified). */
export function mapJoseError(err: unknown): CofferError {
  if (err instanceof errors.JWTExpired) return new TokenExpiredError();
  if (err instanceof errors.JWTClaimValidationFailed) {
    if (err.claim === 'nbf' || err.claim === 'iat') return new TokenNotYetValidError();
    if (err.claim === 'aud') return new TokenAudienceError();
    return new TokenInvalidError(undefined, { detail: `claim ${err.claim}: ${err.reason}` });
  }
  return new TokenInvalidError(undefined, { detail: err instanceof Error ? err.name : 'jwt' });
}
