import { randomBytes } from 'node:crypto';
import { generateAuthenticationOptions, generateRegistrationOptions, verifyAuthenticationResponse, verifyRegistrationResponse } from '@simplewebauthn/server';
import type { AuthenticationResponseJSON, AuthenticatorTransport, PublicKeyCredentialCreationOptionsJSON, PublicKeyCredentialRequestOptionsJSON, RegistrationResponseJSON } from '@simplewebauthn/server';
import { InvalidCredentialsError, ValidationError } from '../domain/errors.js';
import type { Principal } from '../domain/types.js';
import type { IdentityStore, WebAuthnCredentialRecord } from '../store/identity-store.js';

/** The relying party: Coffer as browsers see it. */
export interface RelyingParty {
  name: string;
  /** Registrable domain (or `localhost`), from the public URL's host. */
  id: string;
  /** Exact origin pages are served from, e.g. `https://coffer.example.com`. */
  origin: string;
}

/** Ceremonies expire after five minutes. */
const CEREMONY_MS = 5 * 60_000;

/** Derives the relying party from Coffer's public URL. */
export function relyingPartyOf(publicUrl: string, name = 'Coffer'): RelyingParty {
  const u = new URL(publicUrl);
  return { name, id: u.hostname, origin: u.origin };
}

/**
 * WebAuthn/FIDO2 registration and authentication (@simplewebauthn/server), user
 * verification required on both. Challenges are one-time tickets in the identity store
 * (any node can finish a ceremony another started), bound to the principal and, for
 * step-up, to the session. Signature counters must grow (cloned authenticators are
 * refused). Failures are one InvalidCredentialsError.
 */
export class WebAuthn {
  constructor(
    private readonly identity: IdentityStore,
    private readonly rp: () => RelyingParty,
  ) {}

  /** Starts a registration for `principal`; returns the ceremony id and the browser options. */
  async beginRegistration(principal: Principal, sessionId: string | null, now: number): Promise<{ ceremonyId: string; options: PublicKeyCredentialCreationOptionsJSON }> {
    const existing = await this.identity.listWebAuthnCredentials(principal.id);
    const rp = this.rp();
    const options = await generateRegistrationOptions({
      rpName: rp.name,
      rpID: rp.id,
      userName: principal.name,
      userDisplayName: principal.displayName,
      userID: new TextEncoder().encode(principal.id),
      attestationType: 'none',
      excludeCredentials: existing.map((c) => ({ id: c.id, transports: c.transports })),
      authenticatorSelection: { residentKey: 'preferred', userVerification: 'required' },
    });
    const ceremonyId = await this.ticket('webauthn-register', principal.id, sessionId, options.challenge, now, { options });
    return { ceremonyId, options };
  }

  /** Verifies the browser's attestation and stores the credential. */
  async finishRegistration(principal: Principal, ceremonyId: string, response: unknown, name: string, now: number): Promise<WebAuthnCredentialRecord> {
    const t = await this.identity.consumeTicket(ceremonyId, 'webauthn-register', now);
    if (t === null || t.principalId !== principal.id) throw new InvalidCredentialsError('security key registration failed');
    const rp = this.rp();
    let result;
    try {
      result = await verifyRegistrationResponse({ response: response as RegistrationResponseJSON, expectedChallenge: String(t.data.challenge), expectedOrigin: rp.origin, expectedRPID: rp.id, requireUserVerification: true });
    } catch (err) {
      throw new InvalidCredentialsError('security key registration failed', { cause: err, detail: (err as Error).message });
    }
    if (!result.verified) throw new InvalidCredentialsError('security key registration failed');
    const c = result.registrationInfo.credential;
    const record: WebAuthnCredentialRecord = { id: c.id, principalId: principal.id, publicKey: c.publicKey, counter: c.counter, transports: c.transports ?? [], name: name.slice(0, 100) || 'security key', createdAt: now, lastUsedAt: null };
    await this.identity.addWebAuthnCredential(record);
    return record;
  }

  /** Starts an assertion for `principal` (its registered credentials are allowed); `extra` is kept with the ceremony for its finisher. */
  async beginAuthentication(principal: Principal, sessionId: string | null, purpose: string, now: number, extra: Record<string, unknown> = {}): Promise<{ ceremonyId: string; options: PublicKeyCredentialRequestOptionsJSON }> {
    const creds = await this.identity.listWebAuthnCredentials(principal.id);
    if (creds.length === 0) throw new ValidationError('no security key is registered for this account');
    const options = await generateAuthenticationOptions({ rpID: this.rp().id, allowCredentials: creds.map((c) => ({ id: c.id, transports: c.transports as AuthenticatorTransport[] })), userVerification: 'required' });
    const ceremonyId = await this.ticket('webauthn-auth', principal.id, sessionId, options.challenge, now, { extra, purpose, options });
    return { ceremonyId, options };
  }

  /**
   * Verifies an assertion for the ceremony; returns the ceremony's principal, session
   * and purpose. The credential must belong to that principal, user verification must
   * have happened and the counter must grow.
   */
  async finishAuthentication(ceremonyId: string, response: unknown, now: number): Promise<{ principalId: string; sessionId: string | null; purpose: string; credentialId: string; extra: Record<string, unknown> }> {
    const t = await this.identity.consumeTicket(ceremonyId, 'webauthn-auth', now);
    const fail = (detail: string, cause?: unknown) => new InvalidCredentialsError('security key verification failed', { detail, cause });
    if (t === null || t.principalId === null) throw fail('unknown or used ceremony');
    const body = response as AuthenticationResponseJSON;
    const cred = typeof body?.id === 'string' ? await this.identity.getWebAuthnCredential(body.id) : null;
    // INVARIANT: an assertion counts only with a key registered to the ceremony's own principal
    if (cred === null || cred.principalId !== t.principalId) throw fail('credential of another principal or unknown');
    const rp = this.rp();
    let result;
    try {
      result = await verifyAuthenticationResponse({
        response: body,
        expectedChallenge: String(t.data.challenge),
        expectedOrigin: rp.origin,
        expectedRPID: rp.id,
        credential: { id: cred.id, publicKey: new Uint8Array(cred.publicKey), counter: cred.counter, transports: cred.transports },
        requireUserVerification: true,
      });
    } catch (err) {
      throw fail((err as Error).message, err);
    }
    if (!result.verified || !result.authenticationInfo.userVerified) throw fail('not verified');
    if (!(await this.identity.updateWebAuthnCounter(cred.id, result.authenticationInfo.newCounter, now))) throw fail('signature counter did not grow: possible cloned authenticator');
    const extra = typeof t.data.extra === 'object' && t.data.extra !== null ? (t.data.extra as Record<string, unknown>) : {};
    return { principalId: t.principalId, sessionId: t.sessionId, purpose: (typeof t.data.purpose === 'string' ? t.data.purpose : ''), credentialId: cred.id, extra };
  }

  /**
   * The browser options of a pending ceremony, for a page that finishes it (the CLI hands
   * the ceremony id to the browser). The id is the capability; the options hold no secret.
   */
  async ceremony(ceremonyId: string, now: number): Promise<{ kind: 'register' | 'authenticate'; options: unknown; purpose: string } | null> {
    for (const kind of ['webauthn-auth', 'webauthn-register'] as const) {
      const t = await this.identity.peekTicket(ceremonyId, kind, now);
      if (t !== null) return { kind: kind === 'webauthn-auth' ? 'authenticate' : 'register', options: t.data.options, purpose: (typeof t.data.purpose === 'string' ? t.data.purpose : '') };
    }
    return null;
  }

  private async ticket(kind: string, principalId: string, sessionId: string | null, challenge: string, now: number, extra: Record<string, unknown> = {}): Promise<string> {
    const id = `wac_${randomBytes(18).toString('base64url')}`;
    await this.identity.createTicket({ id, kind, principalId, sessionId, data: { challenge, ...extra }, expiresAt: now + CEREMONY_MS, consumedAt: null });
    return id;
  }
}
