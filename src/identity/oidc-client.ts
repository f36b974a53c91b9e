import * as oidc from 'openid-client';
import { InvalidCredentialsError, ValidationError } from '../domain/errors.js';

/** An OpenID Connect provider Coffer's users sign in with (admin configuration). */
export interface SsoProviderConfig {
  name: string;
  /** Issuer URL (discovery at `/.well-known/openid-configuration`). */
  issuer: string;
  clientId: string;
  /** Claim with the user's groups (a list of strings). */
  groupsClaim: string;
  /** Claim the Coffer user name is derived from on first login. */
  usernameClaim: string;
  /** Identity provider group -> Coffer group name. Only mapped groups are synchronized. */
  groupMap: Record<string, string>;
}

/** What a finished sign-in proves. */
export interface SsoIdentity {
  issuer: string;
  subject: string;
  username: string;
  displayName: string;
  groups: string[];
}

/** True for http URLs on the loopback interface (tests, local providers): the only place plain HTTP is allowed. */
export function isLoopbackUrl(url: URL): boolean {
  return ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname);
}

/**
 * OpenID Connect authorization code flow with PKCE (S256), state and nonce, through
 * openid-client (certified relying party library). Discovery results are cached per
 * provider version. Plain HTTP issuers are accepted on loopback only.
 */
export class OidcClient {
  readonly #configs = new Map<string, Promise<oidc.Configuration>>();

  private configuration(p: SsoProviderConfig, secret: string, version: number): Promise<oidc.Configuration> {
    const key = `${p.name}:${version}`;
    let c = this.#configs.get(key);
    if (c === undefined) {
      const url = new URL(p.issuer);
      if (url.protocol !== 'https:' && !isLoopbackUrl(url)) throw new ValidationError('identity provider issuer must be https (http only on loopback)');
      c = oidc.discovery(url, p.clientId, secret, undefined, url.protocol === 'http:' ? { execute: [oidc.allowInsecureRequests], timeout: 10 } : { timeout: 10 });
      c.catch(() => this.#configs.delete(key));
      this.#configs.set(key, c);
    }
    return c;
  }

  /** Builds the authorization URL; returns it with the PKCE verifier, state and nonce to keep. */
  async begin(p: SsoProviderConfig, secret: string, version: number, redirectUri: string): Promise<{ url: string; codeVerifier: string; state: string; nonce: string }> {
    const config = await this.configuration(p, secret, version);
    const codeVerifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const nonce = oidc.randomNonce();
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: redirectUri,
      scope: ['openid', 'profile', 'email', ...(p.groupsClaim === 'groups' ? ['groups'] : [])].join(' '),
      code_challenge: await oidc.calculatePKCECodeChallenge(codeVerifier),
      code_challenge_method: 'S256',
      state,
      nonce,
    });
    return { url: url.toString(), codeVerifier, state, nonce };
  }

  /** Exchanges the code of the callback URL; verifies state, nonce, PKCE and the ID token. */
  async finish(p: SsoProviderConfig, secret: string, version: number, callbackUrl: URL, expected: { codeVerifier: string; state: string; nonce: string }): Promise<SsoIdentity> {
    const config = await this.configuration(p, secret, version);
    let claims: oidc.IDToken | undefined;
    let extra: Record<string, unknown> = {};
    try {
      const tokens = await oidc.authorizationCodeGrant(config, callbackUrl, { pkceCodeVerifier: expected.codeVerifier, expectedState: expected.state, expectedNonce: expected.nonce, idTokenExpected: true });
      claims = tokens.claims();
      // many providers put scope claims (groups, username) in userinfo only; the subject must match the ID token's
      if (claims !== undefined && (claims[p.groupsClaim] === undefined || claims[p.usernameClaim] === undefined)) {
        extra = await oidc.fetchUserInfo(config, tokens.access_token, claims.sub);
      }
    } catch (err) {
      throw new InvalidCredentialsError('single sign-on failed', { cause: err, detail: (err as Error).message });
    }
    if (claims === undefined || typeof claims.sub !== 'string') throw new InvalidCredentialsError('single sign-on failed', { detail: 'no ID token claims' });
    claims = { ...extra, ...claims } as oidc.IDToken;
    const rawGroups = claims[p.groupsClaim];
    const groups = Array.isArray(rawGroups) ? rawGroups.filter((g): g is string => typeof g === 'string') : [];
    const username = typeof claims[p.usernameClaim] === 'string' ? (claims[p.usernameClaim] as string) : claims.sub;
    const displayName = typeof claims.name === 'string' ? claims.name : username;
    return { issuer: claims.iss, subject: claims.sub, username, displayName, groups };
  }
}
