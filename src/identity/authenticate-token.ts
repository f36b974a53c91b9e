import type { ApiToken, Principal } from '../domain/types.js';
import { AuthRequiredError, PrincipalDisabledError, TokenExpiredError, TokenInvalidError, TokenRevokedError } from '../domain/errors.js';
import type { MetadataStore } from '../store/metadata-store.js';
import { hashToken, parseToken } from './token-format.js';

/** Who a bearer token belongs to, once checked. */
export interface Authenticated {
  principal: Principal;
  token: ApiToken;
}

/**
 * Checks a bearer token: format and checksum first (no database work for garbage),
 * then lookup by SHA-256, expiry, revocation and the principal's state.
 * Every failure is a catalog auth error; nothing about the token is logged.
 */
export async function authenticateToken(store: MetadataStore, bearer: string | undefined, now: number): Promise<Authenticated> {
  if (bearer === undefined || bearer === '') throw new AuthRequiredError();
  if (parseToken(bearer) !== 'pat') throw new TokenInvalidError();
  // INVARIANT: lookup is by hash of the whole token, so the stored value never equals a usable secret
  const token = await store.getTokenByHash(hashToken(bearer));
  if (token === null) throw new TokenInvalidError();
  if (token.revokedAt !== null) throw new TokenRevokedError();
  if (token.expiresAt !== null && token.expiresAt <= now) throw new TokenExpiredError();
  const principal = await store.getPrincipal(token.principalId);
  if (principal === null || principal.kind === 'group') throw new TokenInvalidError();
  if (principal.disabled) throw new PrincipalDisabledError();
  return { principal, token };
}
