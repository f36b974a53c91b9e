import { randomBytes } from 'node:crypto';
import { PrincipalDisabledError, RefreshTokenReusedError, TokenExpiredError, TokenInvalidError, TokenRevokedError } from '../domain/errors.js';
import type { Principal } from '../domain/types.js';
import type { MetadataStore } from '../store/metadata-store.js';
import type { IdentityStore, SessionMethods, SessionRecord } from '../store/identity-store.js';
import { DEFAULT_ACCESS_TOKEN_SECONDS, MAX_ACCESS_TOKEN_SECONDS, signAccessToken, verifyAccessToken } from './access-token.js';
import type { AccessClaims, SigningKeyResolver } from './access-token.js';
import type { SigningKey } from './identity-keys.js';
import { generateToken, hashToken, parseToken } from './token-format.js';
import { earlierExpiry, mfaOf } from './credential-lineage.js';
import type { CredentialLineage, MfaFacts } from './credential-lineage.js';
import type { CredentialRecord } from '../store/credential-store.js';

/** Tokens handed to a client after a login or a refresh. */
export interface TokenSet {
  accessToken: string;
  tokenType: 'Bearer';
  /** Seconds until the access token expires. */
  expiresIn: number;
  /** Rotating refresh token (interactive sessions only). */
  refreshToken?: string;
  sessionId: string;
}

/** Session settings from the configuration. */
export interface SessionSettings {
  issuer: string;
  accessTokenSeconds: number;
  sessionSeconds: number;
}

/** Who an access token belongs to, once verified against its live session. */
export interface VerifiedAccess {
  principal: Principal;
  session: SessionRecord;
  /** The session's lineage row: its methods are the ones the request carries. */
  credential: CredentialRecord;
  claims: AccessClaims;
}

/** Where a new session comes from: a root authentication (a login, a service-account key), or another credential (a token that stepped up). */
export type SessionOrigin = { origin: string } | { parentId: string };

/**
 * Sessions, short-lived access tokens and rotating refresh tokens.
 * A session is the unit of revocation: every access token names its session (`sid`) and
 * every request checks the session row, so revoking a session (or all of a principal's)
 * takes effect on the next request on every node. Refresh tokens rotate: each one works
 * once; presenting a used one again means it was copied, and the whole session (the
 * token family) is revoked.
 */
export class Sessions {
  constructor(
    private readonly store: MetadataStore,
    private readonly identity: IdentityStore,
    private readonly key: () => SigningKey,
    private readonly settings: SessionSettings,
    /** Every session is a credential of the lineage: a revoked ancestor ends it. */
    private readonly lineage: CredentialLineage,
    /** Verification keys by `kid` (current and still-valid previous); default: the signing key only. */
    private readonly verificationKey: SigningKeyResolver = (kid) => (kid === key().kid ? key() : null),
  ) {}

  /**
   * Starts a session with the methods just verified and issues its first tokens. A
   * session started from another credential (`parentId`) is minted in the lineage: it
   * ends no later than its parent, and with it. Its methods are the caller's to compute
   * (never more than the parent's plus what was verified now).
   */
  async start(principal: Principal, input: { kind: SessionRecord['kind']; methods: SessionMethods; now: number; sourceIp: string; userAgent: string; ttlSeconds?: number } & SessionOrigin): Promise<TokenSet> {
    const accessSeconds = Math.min(input.ttlSeconds ?? this.settings.accessTokenSeconds, this.settings.accessTokenSeconds, MAX_ACCESS_TOKEN_SECONDS);
    const id = `ses_${randomBytes(16).toString('base64url')}`;
    // a workload session ends with its only access token; an interactive one can be refreshed until here
    let expiresAt = input.now + (input.kind === 'workload' ? accessSeconds : this.settings.sessionSeconds) * 1000;
    if ('parentId' in input) {
      const terms = await this.lineage.terms(input.parentId, input.now, principal.id);
      expiresAt = earlierExpiry(expiresAt, terms.latestExpiry)!;
      await this.lineage.mint({ id, kind: 'session', principalId: principal.id, parentId: input.parentId, origin: terms.parent.principalId === principal.id ? 'mint' : 'issue', methods: input.methods, createdAt: input.now, expiresAt });
    } else {
      await this.lineage.root({ id, kind: 'session', principalId: principal.id, origin: input.origin, methods: input.methods, createdAt: input.now, expiresAt });
    }
    const session: SessionRecord = {
      id,
      principalId: principal.id,
      kind: input.kind,
      methods: input.methods,
      createdAt: input.now,
      expiresAt,
      revokedAt: null,
      revokeReason: null,
      sourceIp: input.sourceIp,
      userAgent: input.userAgent.slice(0, 200),
    };
    await this.identity.createSession(session);
    return this.issue(session, input.now, accessSeconds);
  }

  /** Rotates a refresh token: the old one is spent, a new one and a new access token are returned. */
  async refresh(refreshToken: string, now: number): Promise<TokenSet> {
    if (parseToken(refreshToken) !== 'refresh') throw new TokenInvalidError();
    const use = await this.identity.useRefreshToken(hashToken(refreshToken), now);
    if (use.status === 'unknown') throw new TokenInvalidError();
    if (use.status === 'reused') {
      // INVARIANT: a second use of a refresh token revokes its whole family (the session, and what it minted)
      await this.lineage.revoke({ ids: [use.sessionId] }, now, 'refresh-token-reuse');
      throw new RefreshTokenReusedError();
    }
    const { session } = await this.liveSession(use.sessionId, now);
    await this.livePrincipal(session.principalId);
    return this.issue(session, now, this.settings.accessTokenSeconds);
  }

  /** Verifies an access token and its session, principal and revocation state. */
  async verify(token: string, now: number): Promise<VerifiedAccess> {
    const claims = await verifyAccessToken(this.verificationKey, token, { issuer: this.settings.issuer, now });
    const { session, credential } = await this.liveSession(claims.sid, now);
    if (session.principalId !== claims.sub) throw new TokenInvalidError(undefined, { detail: 'access token: subject is not the session owner' });
    if (await this.identity.isJtiRevoked(claims.jti)) throw new TokenRevokedError();
    const principal = await this.livePrincipal(claims.sub);
    return { principal, session, credential, claims };
  }

  /**
   * Issues fresh tokens for a live session (a login finished in a browser and handed to
   * the CLI through a one-time code: tokens are minted at hand-off, never stored).
   */
  async resume(sessionId: string, now: number): Promise<TokenSet> {
    const { session } = await this.liveSession(sessionId, now);
    await this.livePrincipal(session.principalId);
    return this.issue(session, now, this.settings.accessTokenSeconds);
  }

  /** Records a factor verified now on a live session (step-up); the lineage row is the one authentication reads. */
  async addMethod(sessionId: string, method: string, now: number): Promise<void> {
    await this.liveSession(sessionId, now);
    await this.lineage.touchMethod(sessionId, method, now);
    await this.identity.touchSessionMethod(sessionId, method, now);
  }

  /** Revokes one access token by its id (until it would have expired anyway). */
  async revokeAccessToken(claims: AccessClaims): Promise<void> {
    await this.identity.revokeJti(claims.jti, claims.exp * 1000);
  }

  /** The MFA facts of a session for the policy context. */
  static mfaOf(session: SessionRecord, now: number): MfaFacts {
    return mfaOf(session.methods, now, session.createdAt);
  }

  private async issue(session: SessionRecord, now: number, accessSeconds: number): Promise<TokenSet> {
    const remaining = Math.floor((session.expiresAt - now) / 1000);
    const ttl = Math.max(1, Math.min(accessSeconds, remaining));
    const { token } = await signAccessToken(this.key(), { issuer: this.settings.issuer, principalId: session.principalId, sessionId: session.id, methods: Object.keys(session.methods).sort(), now, ttlSeconds: ttl });
    const set: TokenSet = { accessToken: token, tokenType: 'Bearer', expiresIn: ttl, sessionId: session.id };
    if (session.kind === 'interactive') {
      const refreshToken = generateToken('refresh');
      await this.identity.addRefreshToken(hashToken(refreshToken), session.id, now);
      set.refreshToken = refreshToken;
    }
    return set;
  }

  private async liveSession(id: string, now: number): Promise<{ session: SessionRecord; credential: CredentialRecord }> {
    const session = await this.identity.getSession(id);
    if (session === null) throw new TokenInvalidError(undefined, { detail: 'session not found' });
    if (session.revokedAt !== null) throw new TokenRevokedError();
    if (session.expiresAt <= now) throw new TokenExpiredError();
    // INVARIANT: the session and every credential it rests on are alive
    const credential = await this.lineage.check(id, now);
    return { session, credential };
  }

  private async livePrincipal(id: string): Promise<Principal> {
    const principal = await this.store.getPrincipal(id);
    if (principal === null || principal.kind === 'group') throw new TokenInvalidError();
    if (principal.disabled) throw new PrincipalDisabledError();
    return principal;
  }
}

/** Default settings (15-minute access tokens, 12-hour sessions). */
export const DEFAULT_SESSION_SETTINGS: Omit<SessionSettings, 'issuer'> = { accessTokenSeconds: DEFAULT_ACCESS_TOKEN_SECONDS, sessionSeconds: 12 * 3600 };
