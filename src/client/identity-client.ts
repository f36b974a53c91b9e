import { callApi } from './coffer-client.js';

/** Tokens of a session, as the server hands them out. */
export interface SessionTokens {
  accessToken: string;
  tokenType: 'Bearer';
  expiresIn: number;
  refreshToken?: string;
  sessionId: string;
}

/** Answer of a login step. */
export type LoginAnswer =
  | ({ status: 'authenticated' } & SessionTokens)
  | { status: 'mfa-required'; ticket: string; methods: ('totp' | 'webauthn' | 'recovery-code')[] }
  | { status: 'handoff'; redirect: string };

/** Facts of the current session. */
export interface SessionInfo {
  principal: string;
  sessionId: string | null;
  mfa: { methods: string[]; ageSeconds: number };
  device: { managed: boolean; id: string };
}

/**
 * Client of the identity API (login, sessions, factors, service-account tokens,
 * federation, SCIM tokens, devices). Errors are CofferApiError with the server's code.
 */
export class IdentityClient {
  constructor(private readonly options: { baseUrl: string; token?: string | undefined; userAgent?: string }) {}

  /** The same client with another bearer token. */
  withToken(token: string): IdentityClient {
    return new IdentityClient({ ...this.options, token });
  }

  private call<T>(method: string, path: string, body?: unknown, auth = true): Promise<T> {
    return callApi<T>(this.options, method, path, { body, auth, redirect: 'manual' });
  }


  // ---- login and tokens (no bearer) ----
  login(name: string, password: string) { return this.call<LoginAnswer>('POST', '/v1/auth/login', { name, password }, false); }
  loginMfa(ticket: string, code: string) { return this.call<LoginAnswer>('POST', '/v1/auth/login/mfa', { ticket, code }, false); }
  refresh(refreshToken: string) { return this.call<SessionTokens>('POST', '/v1/auth/refresh', { refreshToken }, false); }
  exchangeHandoff(code: string, verifier: string) { return this.call<SessionTokens>('POST', '/v1/auth/handoff/exchange', { code, verifier }, false); }
  /** Sets a first password with an enrollment ticket (no bearer: the ticket is the credential). */
  enroll(ticket: string, password: string) { return this.call<{ principal: string }>('POST', '/v1/auth/enroll', { ticket, password }, false); }
  /** Revokes a token one holds (access, refresh or API token; RFC 7009 style). */
  revokeToken(token: string) { return this.call<void>('POST', '/v1/auth/revoke', { token }, false); }
  ssoProviders() { return this.call<{ items: { name: string; issuer: string }[] }>('GET', '/v1/auth/sso/providers', undefined, false); }
  jwks() { return this.call<{ keys: Record<string, string>[] }>('GET', '/v1/auth/jwks', undefined, false); }
  /** The token endpoint (service accounts): private_key_jwt or workload ID token exchange. */
  serviceToken(fields: Record<string, string>) { return this.call<{ access_token: string; token_type: string; expires_in: number }>('POST', '/v1/auth/token', fields, false); }

  // ---- the caller's session ----
  session() { return this.call<SessionInfo>('GET', '/v1/auth/session'); }
  sessions(principal?: string) { return this.call<{ items: Record<string, unknown>[] }>('GET', `/v1/auth/sessions${principal ? `?principal=${encodeURIComponent(principal)}` : ''}`); }
  revokeSession(id: string) { return this.call<void>('DELETE', `/v1/auth/sessions/${encodeURIComponent(id)}`); }
  revokeAllSessions(input: { principal?: string; tokens?: boolean }) { return this.call<{ sessions: number; tokens: number }>('POST', '/v1/auth/sessions/revoke-all', input); }
  logout() { return this.call<void>('POST', '/v1/auth/logout'); }
  setPassword(input: { principal?: string; password: string; currentPassword?: string }) { return this.call<void>('PUT', '/v1/auth/password', input); }
  /** A one-time enrollment ticket for a user (admins). */
  enrollmentTicket(name: string, ttlSeconds?: number) { return this.call<{ principal: string; ticket: string; hint: string; expiresAt: string }>('POST', `/v1/principals/${encodeURIComponent(name)}/enrollment-tickets`, ttlSeconds === undefined ? {} : { ttlSeconds }); }
  totpEnroll() { return this.call<{ secret: string; uri: string }>('POST', '/v1/auth/totp'); }
  totpConfirm(code: string) { return this.call<{ recoveryCodes: string[] }>('POST', '/v1/auth/totp/confirm', { code }); }
  totpDisable() { return this.call<void>('DELETE', '/v1/auth/totp'); }
  recoveryCodes() { return this.call<{ recoveryCodes: string[] }>('POST', '/v1/auth/recovery-codes'); }
  /** Starts registering a security key (session with a recent second factor, if any is set up). */
  webauthnRegisterBegin() { return this.call<{ ceremonyId: string; options: Record<string, unknown> }>('POST', '/v1/auth/webauthn/registrations'); }
  /** Finishes registering a security key with the browser's attestation response. */
  webauthnRegisterFinish(ceremonyId: string, response: unknown, name?: string) { return this.call<{ id: string; name: string; recoveryCodes?: string[] }>('POST', '/v1/auth/webauthn/registrations/finish', { ceremonyId, response, ...(name !== undefined ? { name } : {}) }); }
  securityKeys() { return this.call<{ items: { id: string; name: string; createdAt: string; lastUsedAt: string | null }[] }>('GET', '/v1/auth/webauthn/credentials'); }
  deleteSecurityKey(id: string) { return this.call<void>('DELETE', `/v1/auth/webauthn/credentials/${encodeURIComponent(id)}`); }
  /** Starts a step-up; with an API token, `handoff` (loopback redirect + PKCE challenge) receives the new session. */
  stepUp(handoff?: { redirect: string; challenge: string }) { return this.call<{ ceremonyId: string; url: string | null }>('POST', handoff === undefined ? '/v1/auth/step-up' : '/v1/auth/step-up/handoff', handoff); }

  // ---- administration ----
  deletePrincipal(name: string) { return this.call<void>('DELETE', `/v1/principals/${encodeURIComponent(name)}`); }
  addClientKey(serviceAccount: string, jwk: Record<string, unknown>) { return this.call<{ kid: string; alg: string }>('POST', `/v1/service-accounts/${encodeURIComponent(serviceAccount)}/keys`, { jwk }); }
  listClientKeys(serviceAccount: string) { return this.call<{ items: { kid: string; createdAt: string; revokedAt: string | null }[] }>('GET', `/v1/service-accounts/${encodeURIComponent(serviceAccount)}/keys`); }
  revokeClientKey(serviceAccount: string, kid: string) { return this.call<void>('DELETE', `/v1/service-accounts/${encodeURIComponent(serviceAccount)}/keys/${encodeURIComponent(kid)}`); }
  putWorkloadIssuer(name: string, body: { issuer: string; jwksUri?: string; audience: string; bindings: { serviceAccount: string; claims: Record<string, string> }[] }) { return this.call<Record<string, unknown>>('PUT', `/v1/identity/workload-issuers/${encodeURIComponent(name)}`, body); }
  listWorkloadIssuers() { return this.call<{ items: { name: string; issuer: string; audience: string; bindings: unknown[] }[] }>('GET', '/v1/identity/workload-issuers'); }
  deleteWorkloadIssuer(name: string) { return this.call<void>('DELETE', `/v1/identity/workload-issuers/${encodeURIComponent(name)}`); }
  putSsoProvider(name: string, body: { issuer: string; clientId: string; clientSecret: string; groupsClaim?: string; usernameClaim?: string; groupMap?: Record<string, string> }) { return this.call<{ redirectUri: string }>('PUT', `/v1/identity/sso-providers/${encodeURIComponent(name)}`, body); }
  createScimToken() { return this.call<{ token: string; id: string; hint: string }>('POST', '/v1/identity/scim-tokens'); }
  listScimTokens() { return this.call<{ items: { id: string; hint: string; createdAt: string; revokedAt: string | null }[] }>('GET', '/v1/identity/scim-tokens'); }
  revokeScimToken(id: string) { return this.call<void>('DELETE', `/v1/identity/scim-tokens/${encodeURIComponent(id)}`); }
  enrolDevice(name: string, publicKey: Record<string, unknown>) { return this.call<{ id: string; status: string }>('POST', '/v1/devices', { name, publicKey }); }
  listDevices(all = false) { return this.call<{ items: { id: string; name: string; principalId: string; status: string; createdAt: string }[] }>('GET', `/v1/devices${all ? '?all=true' : ''}`); }
  decideDevice(id: string, verb: 'approve' | 'reject' | 'revoke') { return this.call<{ id: string; status: string }>('POST', `/v1/devices/${encodeURIComponent(id)}/${verb}`); }
  rotateSigningKey(retireNow = false) { return this.call<{ kid: string; previousKid: string; previousValidUntil: string }>('POST', '/v1/identity/signing-key/rotate', { retireNow }); }
  certifyDevice(id: string) { return this.call<{ deviceId: string; certificate: string; serial: string; notAfter: string; caCertificate: string }>('POST', `/v1/devices/${encodeURIComponent(id)}/certificate`); }
}
