import { DeviceSignatureInvalidError, LongLivedTokenDisabledError, ValidationError } from '../domain/errors.js';
import type { Principal } from '../domain/types.js';
import type { MetadataStore } from '../store/metadata-store.js';
import type { IdentityStore } from '../store/identity-store.js';
import { looksLikeJwt } from './access-token.js';
import { authenticateToken } from './authenticate-token.js';
import { parseDevicePublicKey, verifyDeviceProof } from './device-signature.js';
import { verifyDeviceCertificate } from './device-ca.js';
import type { DeviceCa } from './device-ca.js';
import type { DeviceProof } from './device-signature.js';
import type { IdentityKeys, SecretBox, SigningKey } from './identity-keys.js';
import { LoginThrottle } from './login-throttle.js';
import { Sessions } from './sessions.js';
import { CredentialLineage, credentialMfa } from './credential-lineage.js';
import type { MfaFacts } from './credential-lineage.js';
import type { CredentialStore } from '../store/credential-store.js';
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
  /** A user's API token is not exempt from step-up (config `requireStepUpForUserTokens`). */
  requireStepUpForUserTokens?: boolean;
  /** See LineageSettings (config `mintedCredentialMaxTtlSeconds`); default 0. */
  mintedCredentialMaxTtlSeconds?: number;
}

/**
 * The session method recorded when a user holding an API token stepped up with a
 * security key (`coffer step-up` with an API token starts a session). Deliberately not
 * `token`: such a session is not exempt from step-up.
 */
export const API_TOKEN_METHOD = 'api-token';

/** Every node re-reads the identity keys this often (a signing-key rotation reaches all nodes within it). */
export const KEY_RELOAD_MS = 60_000;
/** At most this often on a token naming an unknown key. */
export const KEY_MISS_RELOAD_MS = 5_000;

/** A bearer credential, checked: who, through which session or token, with which factors and device. */
export interface AuthenticatedBearer {
  principal: Principal;
  /** API token id, or the access token's `jti`. */
  tokenId: string;
  /** The credential of the lineage that authenticated: the API token id, or the session id. */
  credentialId: string;
  /** Session of an access token; null for an API token. */
  sessionId: string | null;
  mfa: MfaFacts;
  device: { managed: boolean; id: string };
  /** An API token's creation and expiry times (absent for an access token), for the credential cache. */
  credential?: { createdAt: number; expiresAt: number | null };
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
  /** Lineage of every credential (sessions, API tokens, S3 keys): parents, inherited methods, revocation. */
  readonly lineage: CredentialLineage;
  /** Verifies workload ID tokens (keys of remote issuers cached). */
  readonly workload = new WorkloadVerifier();
  /** OpenID Connect relying party for single sign-on. */
  readonly oidc = new OidcClient();
  #keys: IdentityKeys;
  #publicUrl: string | null;
  #source: { load: () => Promise<IdentityKeys>; rotateSigning: (now: number, retireNow: boolean) => Promise<{ kid: string; previousKid: string; previousUntil: number }> } | null = null;
  #loadedAt = Number.NEGATIVE_INFINITY;

  constructor(
    readonly store: MetadataStore,
    readonly identityStore: IdentityStore,
    keys: IdentityKeys,
    readonly settings: IdentitySettings,
    credentialStore: CredentialStore,
  ) {
    this.#keys = keys;
    this.#publicUrl = settings.publicUrl;
    this.lineage = new CredentialLineage(credentialStore, { mintedCredentialMaxTtlSeconds: settings.mintedCredentialMaxTtlSeconds ?? 0 });
    this.sessions = new Sessions(store, identityStore, () => this.#keys.signing, settings, this.lineage, (kid, now) => this.verificationKey(kid, now));
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

  /** Replaces the keys after a keyring rotation rewrapped them (or a signing-key rotation). */
  setKeys(keys: IdentityKeys): void {
    this.#keys = keys;
  }

  /**
   * How this node re-reads the keys from the shared database: another node may have
   * rotated the signing key. Used every {@link KEY_RELOAD_MS} and when a token names a
   * key this node does not know (at most once per {@link KEY_MISS_RELOAD_MS}, so random
   * `kid`s cannot make every request reload).
   */
  setKeySource(source: { load: () => Promise<IdentityKeys>; rotateSigning: (now: number, retireNow: boolean) => Promise<{ kid: string; previousKid: string; previousUntil: number }> }): void {
    this.#source = source;
  }

  /** Rotates the signing key in the shared database (see rotateSigningKey) and uses the new keys at once on this node. */
  async rotateSigningKey(now: number, retireNow: boolean): Promise<{ kid: string; previousKid: string; previousUntil: number }> {
    if (this.#source === null) throw new ValidationError('signing-key rotation is not available on this node');
    const r = await this.#source.rotateSigning(now, retireNow);
    this.setKeys(await this.#source.load());
    return r;
  }

  /** Re-reads the keys from the shared database now (another node rotated them: change feed `identity-keys`). */
  refreshKeys(now: number): Promise<void> {
    return this.reloadKeys(now, 0);
  }

  private async reloadKeys(now: number, minAgeMs: number): Promise<void> {
    if (this.#source === null || now - this.#loadedAt < minAgeMs) return;
    this.#loadedAt = now;
    try {
      this.#keys = await this.#source.load();
    } catch {
      // keep the keys in hand: a failed reload must not stop verification with known keys
    }
  }

  /** The verification key of `kid`: the current key, or the previous one until its tokens have expired. */
  private async verificationKey(kid: string, now: number): Promise<SigningKey | null> {
    const find = () => {
      if (kid === this.#keys.signing.kid) return this.#keys.signing;
      const p = this.#keys.previous;
      return p !== null && p.key.kid === kid && now < p.until ? p.key : null;
    };
    const found = find();
    if (found !== null) return found;
    await this.reloadKeys(now, KEY_MISS_RELOAD_MS);
    return find();
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

  /** The JWKS document: the current signing key, and the previous one while tokens it signed may live. */
  jwks(now: number): { keys: SigningKey['publicJwk'][] } {
    const p = this.#keys.previous;
    return { keys: [this.#keys.signing.publicJwk, ...(p !== null && now < p.until && p.key.kid !== this.#keys.signing.kid ? [p.key.publicJwk] : [])] };
  }

  /** The device CA (certificate PEM for clients; the key never leaves this object). */
  get deviceCa(): DeviceCa {
    return this.#keys.deviceCa;
  }

  /**
   * Checks a bearer: a JWT access token (signature, claims, live session, revocation) or
   * an API token (`coffer_pat_`), then a device proof if one was sent: a signature
   * header set, or a TLS client certificate of the device CA. A device proof that does
   * not verify refuses the request: it is never silently ignored. A client certificate
   * of another CA proves nothing and is ignored.
   */
  async authenticate(bearer: string, now: number, device?: DeviceProof, clientCertificate?: Uint8Array): Promise<AuthenticatedBearer> {
    await this.reloadKeys(now, KEY_RELOAD_MS);
    let result: AuthenticatedBearer;
    const requireStepUp = this.settings.requireStepUpForUserTokens === true;
    if (looksLikeJwt(bearer)) {
      const { principal, session, credential, claims } = await this.sessions.verify(bearer, now);
      result = { principal, tokenId: claims.jti, credentialId: session.id, sessionId: session.id, mfa: credentialMfa(credential, principal, now, requireStepUp), device: { managed: false, id: '' } };
    } else {
      const { principal, token } = await authenticateToken(this.store, bearer, now);
      // INVARIANT: the token and every credential it was minted from are alive; its methods are its lineage's
      const credential = await this.lineage.check(token.id, now);
      if (principal.kind === 'service-account') {
        const max = this.settings.servicePatMaxTtlSeconds;
        // service accounts get short-lived tokens; a long-lived one works only where enabled, and always expires
        if (max === 0) throw new LongLivedTokenDisabledError();
        if (token.expiresAt === null || token.expiresAt - token.createdAt > max * 1000) throw new LongLivedTokenDisabledError('token lifetime exceeds the limit for service accounts');
      }
      result = { principal, tokenId: token.id, credentialId: token.id, sessionId: null, mfa: credentialMfa(credential, principal, now, requireStepUp), device: { managed: false, id: '' }, credential: { createdAt: token.createdAt, expiresAt: token.expiresAt } };
    }
    if (device !== undefined) {
      const d = await this.identityStore.getDevice(device.id.slice(0, 64));
      // INVARIANT: managed only with an approved device of this very principal and a valid signature
      if (d === null || d.status !== 'approved' || d.principalId !== result.principal.id) throw new DeviceSignatureInvalidError();
      verifyDeviceProof(d.publicKey, device, bearer, now);
      result.device = { managed: true, id: d.id };
    }
    const cert = clientCertificate === undefined ? null : verifyDeviceCertificate(this.#keys.deviceCa, clientCertificate, now);
    if (cert !== null) {
      const d = await this.identityStore.getDevice(cert.deviceId);
      // INVARIANT: a certificate counts only for an approved (not revoked) device of this very principal, for the key it enrolled
      if (d === null || d.status !== 'approved' || d.principalId !== result.principal.id) throw new DeviceSignatureInvalidError(undefined, { detail: 'device certificate: device not approved or of another principal' });
      if (!parseDevicePublicKey(JSON.parse(d.publicKey)).equals(cert.publicKey)) throw new DeviceSignatureInvalidError(undefined, { detail: 'device certificate: key is not the enrolled one' });
      if (result.device.managed && result.device.id !== d.id) throw new DeviceSignatureInvalidError(undefined, { detail: 'device certificate and signature name different devices' });
      result.device = { managed: true, id: d.id };
    }
    return result;
  }
}
