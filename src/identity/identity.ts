import { DeviceSignatureInvalidError, LongLivedTokenDisabledError, ValidationError } from '../domain/errors.js';
import type { Principal } from '../domain/types.js';
import type { MetadataStore } from '../store/metadata-store.js';
import type { IdentityStore } from '../store/identity-store.js';
import { looksLikeJwt } from './access-token.js';
import { authenticateToken } from './authenticate-token.js';
import { verifyDeviceProof } from './device-signature.js';
import type { DeviceProof } from './device-signature.js';
import type { IdentityKeys, SecretBox, SigningKey } from './identity-keys.js';
import { LoginThrottle } from './login-throttle.js';
import { Sessions } from './sessions.js';
import type { MfaFacts } from './sessions.js';
import { WebAuthn, relyingPartyOf } from './webauthn.js';
import { WorkloadVerifier } from './workload-trust.js';
import { OidcClient } from './oidc-client.js';
import type { RelyingParty } from './webauthn.js';

/** Identity settings from the configuration. */
export interface IdentitySettings {
  /** `iss` of access tokens. */
  issuer: string;
  /** External base URL (WebAuthn origin and RP id, SSO redirect); null until known. */
  publicUrl: string | null;
  accessTokenSeconds: number;
  sessionSeconds: number;
  /** Longest lifetime of a service account API token; 0 = service accounts get no long-lived token. */
  servicePatMaxTtlSeconds: number;
}

/** A bearer credential, checked: who, through which session or token, with which factors and device. */
export interface AuthenticatedBearer {
  principal: Principal;
  /** API token id, or the access token's `jti`. */
  tokenId: string;
  /** Session of an access token; null for an API token. */
  sessionId: string | null;
  mfa: MfaFacts;
  device: { managed: boolean; id: string };
}

/**
 * The identity module's runtime: sessions and tokens, WebAuthn, login throttling, the
 * keys (signing, sealing). Built once by the composition root; every node builds the
 * same from the shared database, so any node verifies any token.
 */
export class Identity {
  readonly sessions: Sessions;
  readonly webauthn: WebAuthn;
  readonly throttle: LoginThrottle;
  /** Verifies workload ID tokens (keys of remote issuers cached). */
  readonly workload = new WorkloadVerifier();
  /** OpenID Connect relying party for single sign-on. */
  readonly oidc = new OidcClient();
  #keys: IdentityKeys;
  #publicUrl: string | null;

  constructor(
    readonly store: MetadataStore,
    readonly identityStore: IdentityStore,
    keys: IdentityKeys,
    readonly settings: IdentitySettings,
  ) {
    this.#keys = keys;
    this.#publicUrl = settings.publicUrl;
    this.sessions = new Sessions(store, identityStore, () => this.#keys.signing, settings);
    this.webauthn = new WebAuthn(identityStore, () => this.relyingParty());
    this.throttle = new LoginThrottle(identityStore);
  }

  /** The signing key (for JWKS). */
  get signingKey(): SigningKey {
    return this.#keys.signing;
  }

  /** Seals TOTP and client secrets. */
  get box(): SecretBox {
    return this.#keys.box;
  }

  /** Replaces the keys after a keyring rotation rewrapped them. */
  setKeys(keys: IdentityKeys): void {
    this.#keys = keys;
  }

  /** The public URL: configured, or learned from the listener at start. */
  get publicUrl(): string | null {
    return this.#publicUrl;
  }

  /** Sets the public URL when it was not configured (the server knows it once listening). */
  learnPublicUrl(url: string): void {
    this.#publicUrl ??= url;
  }

  /** The WebAuthn relying party (from the public URL). */
  relyingParty(): RelyingParty {
    if (this.#publicUrl === null) throw new ValidationError('webauthn is not available: the server has no public URL (config publicUrl)');
    return relyingPartyOf(this.#publicUrl);
  }

  /** The JWKS document of the access-token signing keys. */
  jwks(): { keys: SigningKey['publicJwk'][] } {
    return { keys: [this.#keys.signing.publicJwk] };
  }

  /**
   * Checks a bearer: a JWT access token (signature, claims, live session, revocation) or
   * an API token (`coffer_pat_`), then a device proof if one was sent. A device proof
   * that does not verify refuses the request: it is never silently ignored.
   */
  async authenticate(bearer: string, now: number, device?: DeviceProof): Promise<AuthenticatedBearer> {
    let result: AuthenticatedBearer;
    if (looksLikeJwt(bearer)) {
      const { principal, session, claims } = await this.sessions.verify(bearer, now);
      result = { principal, tokenId: claims.jti, sessionId: session.id, mfa: Sessions.mfaOf(session, now), device: { managed: false, id: '' } };
    } else {
      const { principal, token } = await authenticateToken(this.store, bearer, now);
      if (principal.kind === 'service-account') {
        const max = this.settings.servicePatMaxTtlSeconds;
        // service accounts get short-lived tokens; a long-lived one works only where enabled, and always expires
        if (max === 0) throw new LongLivedTokenDisabledError();
        if (token.expiresAt === null || token.expiresAt - token.createdAt > max * 1000) throw new LongLivedTokenDisabledError('token lifetime exceeds the limit for service accounts');
      }
      result = { principal, tokenId: token.id, sessionId: null, mfa: { methods: ['token'], ageSeconds: Math.max(0, Math.floor((now - token.createdAt) / 1000)) }, device: { managed: false, id: '' } };
    }
    if (device !== undefined) {
      const d = await this.identityStore.getDevice(device.id.slice(0, 64));
      // INVARIANT: managed only with an approved device of this very principal and a valid signature
      if (d === null || d.status !== 'approved' || d.principalId !== result.principal.id) throw new DeviceSignatureInvalidError();
      verifyDeviceProof(d.publicKey, device, bearer, now);
      result.device = { managed: true, id: d.id };
    }
    return result;
  }
}
