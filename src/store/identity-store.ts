/**
 * IdentityStore: credentials, MFA factors, sessions, refresh tokens, one-time tickets,
 * login throttling, federation settings, SCIM records and managed devices.
 *
 * TRUST: like MetadataStore, trusted for integrity (a database the operator runs) but
 * never given a usable secret: passwords are argon2id hashes, refresh tokens, tickets,
 * recovery codes and SCIM tokens are SHA-256 hashes of high-entropy values, TOTP and
 * client secrets are sealed by the keyring before they reach it. A reader of the
 * database can therefore not log in as anyone; a writer can (it owns the principals
 * table anyway), which is why audit does not rely on it.
 *
 * Every method rejects with a catalog error (AlreadyExistsError on a uniqueness
 * violation, NotFoundError where a row must exist, StorageError otherwise). Times are
 * epoch milliseconds.
 */

/** A WebAuthn credential (public key) registered by a user. */
export interface WebAuthnCredentialRecord {
  /** Credential id, base64url. */
  id: string;
  principalId: string;
  /** COSE public key. */
  publicKey: Uint8Array;
  counter: number;
  transports: string[];
  name: string;
  createdAt: number;
  lastUsedAt: number | null;
}

/** A one-time, short-lived ticket (ceremony challenge, MFA step, SSO state, handoff code). */
export interface TicketRecord {
  /** SHA-256 of the ticket secret, or a random id when the ticket is not a bearer secret. */
  id: string;
  kind: string;
  principalId: string | null;
  sessionId: string | null;
  /** JSON-serializable data of the ceremony. */
  data: Record<string, unknown>;
  expiresAt: number;
  consumedAt: number | null;
}

/** How a session was authenticated: method -> epoch ms of its last successful use. */
export type SessionMethods = Record<string, number>;

/** A session: an interactive login (with refresh tokens) or a workload token grant. */
export interface SessionRecord {
  id: string;
  principalId: string;
  kind: 'interactive' | 'workload';
  methods: SessionMethods;
  createdAt: number;
  /** Absolute end of the session (no refresh after it). */
  expiresAt: number;
  revokedAt: number | null;
  revokeReason: string | null;
  sourceIp: string;
  userAgent: string;
}

/** Outcome of presenting a refresh token. */
export type RefreshUse =
  | { status: 'ok'; sessionId: string }
  | { status: 'unknown' }
  /** The token was already used: the session it belongs to must be revoked. */
  | { status: 'reused'; sessionId: string };

/** Login failure counters for one key (an account name or a source address). */
export interface ThrottleRecord {
  key: string;
  failures: number;
  windowStart: number;
  blockedUntil: number;
}

/**
 * How a throttle key counts attempts: within `windowMs` of the window's start, the
 * `free`-th counted attempt and every later one block the key for `blocksMs[i]` (i = the
 * attempts past `free - 1`; the last entry for any more).
 */
export interface ThrottleCounting {
  windowMs: number;
  free: number;
  blocksMs: number[];
}

/** What reserving an attempt found: whether it was counted (the key was not blocked), and the key's state after. */
export interface ThrottleReservation {
  counted: boolean;
  failures: number;
  blockedUntil: number;
}

/** A configured external party: an SSO provider (`sso`) or a trusted workload issuer (`workload`). */
export interface ProviderRecord {
  kind: 'sso' | 'workload';
  name: string;
  config: Record<string, unknown>;
  /** Sealed client secret (SSO), or null. */
  sealedSecret: Uint8Array | null;
  updatedAt: number;
}

/** A public key a service account signs its token requests with (private_key_jwt). */
export interface ClientKeyRecord {
  kid: string;
  principalId: string;
  /** Public JWK, JSON. */
  jwk: string;
  createdAt: number;
  revokedAt: number | null;
}

/** SCIM's view of a provisioned user or group (the principal holds the rest). */
export interface ScimRecord {
  principalId: string;
  resourceType: 'User' | 'Group';
  /** `userName` of a user, `displayName` of a group, as the identity provider sent it. */
  scimName: string;
  externalId: string | null;
  active: boolean;
  /** Other attributes as sent (name, emails...), for round trips. */
  data: Record<string, unknown>;
  createdAt: number;
  updatedAt: number;
  deletedAt: number | null;
}

export interface ScimTokenRecord {
  id: string;
  hash: string;
  hint: string;
  createdAt: number;
  revokedAt: number | null;
}

export type DeviceStatus = 'pending' | 'approved' | 'rejected' | 'revoked';

/** A device key pair enrolled by a principal; only `approved` devices count as managed. */
export interface DeviceRecord {
  id: string;
  principalId: string;
  name: string;
  /** Public JWK (Ed25519), JSON. */
  publicKey: string;
  status: DeviceStatus;
  createdAt: number;
  decidedBy: string | null;
  decidedAt: number | null;
}

export interface IdentityStore {
  // ---- passwords ----
  getPasswordHash(principalId: string): Promise<string | null>;
  setPasswordHash(principalId: string, hash: string, at: number): Promise<void>;

  // ---- TOTP and recovery codes ----
  getTotp(principalId: string): Promise<{ sealedSecret: Uint8Array; confirmed: boolean; lastStep: number } | null>;
  /** Replaces the TOTP factor (unconfirmed until the first valid code). */
  putTotp(principalId: string, sealedSecret: Uint8Array, at: number): Promise<void>;
  confirmTotp(principalId: string): Promise<void>;
  /** Records `step` as used, only if it is later than the last used one (replay guard); false otherwise. */
  advanceTotpStep(principalId: string, step: number): Promise<boolean>;
  deleteTotp(principalId: string): Promise<void>;
  /** Replaces every recovery code of the principal. */
  replaceRecoveryCodes(principalId: string, codeHashes: string[]): Promise<void>;
  /** Marks a code used; false if it does not exist or was used already. */
  useRecoveryCode(principalId: string, codeHash: string, at: number): Promise<boolean>;
  countRecoveryCodes(principalId: string): Promise<number>;

  // ---- WebAuthn ----
  addWebAuthnCredential(c: WebAuthnCredentialRecord): Promise<void>;
  getWebAuthnCredential(id: string): Promise<WebAuthnCredentialRecord | null>;
  listWebAuthnCredentials(principalId: string): Promise<WebAuthnCredentialRecord[]>;
  /** Stores the new signature counter, only if greater than the stored one (or both 0); false otherwise. */
  updateWebAuthnCounter(id: string, counter: number, at: number): Promise<boolean>;
  deleteWebAuthnCredential(principalId: string, id: string): Promise<boolean>;

  // ---- tickets ----
  createTicket(t: TicketRecord): Promise<void>;
  /** Returns the ticket and marks it consumed, exactly once; null if absent, expired, of another kind or consumed. */
  consumeTicket(id: string, kind: string, at: number): Promise<TicketRecord | null>;
  /** Reads a ticket without consuming it (null if absent, expired or consumed). */
  peekTicket(id: string, kind: string, at: number): Promise<TicketRecord | null>;
  /**
   * Marks every outstanding ticket of a principal consumed (of `kind`, or of every kind
   * when null), so none of them can be completed any more; returns how many.
   */
  voidTickets(principalId: string, kind: string | null, at: number): Promise<number>;

  // ---- sessions and refresh tokens ----
  createSession(s: SessionRecord): Promise<void>;
  getSession(id: string): Promise<SessionRecord | null>;
  listSessions(principalId: string): Promise<SessionRecord[]>;
  /** Records `method` as used now on an active session. */
  touchSessionMethod(id: string, method: string, at: number): Promise<void>;
  /** Revokes one session (keeps its first revocation); false if it does not exist. */
  revokeSession(id: string, at: number, reason: string): Promise<boolean>;
  /** Revokes every active session of the principal; returns how many. */
  revokeSessionsOf(principalId: string, at: number, reason: string): Promise<number>;
  addRefreshToken(hash: string, sessionId: string, at: number): Promise<void>;
  /** Marks a refresh token used, atomically: the first use is `ok`, any later use is `reused`. */
  useRefreshToken(hash: string, at: number): Promise<RefreshUse>;
  revokeJti(jti: string, expiresAt: number): Promise<void>;
  isJtiRevoked(jti: string): Promise<boolean>;
  /** Records a one-time key (assertion jti); false if it was seen before (replay). */
  markJtiSeen(key: string, expiresAt: number): Promise<boolean>;

  // ---- throttling ----
  getThrottle(key: string): Promise<ThrottleRecord | null>;
  putThrottle(t: ThrottleRecord): Promise<void>;
  deleteThrottle(key: string): Promise<void>;
  /**
   * Counts one attempt on `key` in ONE statement (atomic on every node of the database),
   * unless the key is blocked at `now`: then nothing is counted. An attempt that reaches
   * the free count sets the block itself, so concurrent attempts find the key blocked
   * before any of them is verified (reserve before verifying).
   */
  reserveThrottle(key: string, now: number, counting: ThrottleCounting): Promise<ThrottleReservation>;
  /** Gives back one counted attempt (it succeeded); lifts the block only if it is still the one `blockedUntil` set. */
  releaseThrottle(key: string, blockedUntil: number): Promise<void>;

  // ---- federation ----
  getExternalPrincipal(issuer: string, subject: string): Promise<string | null>;
  linkExternal(issuer: string, subject: string, principalId: string): Promise<void>;
  putProvider(p: ProviderRecord): Promise<void>;
  getProvider(kind: ProviderRecord['kind'], name: string): Promise<ProviderRecord | null>;
  listProviders(kind: ProviderRecord['kind']): Promise<ProviderRecord[]>;
  deleteProvider(kind: ProviderRecord['kind'], name: string): Promise<boolean>;
  addClientKey(k: ClientKeyRecord): Promise<void>;
  getClientKey(kid: string): Promise<ClientKeyRecord | null>;
  listClientKeys(principalId: string): Promise<ClientKeyRecord[]>;
  revokeClientKey(kid: string, at: number): Promise<boolean>;

  // ---- SCIM ----
  putScim(r: ScimRecord): Promise<void>;
  getScim(principalId: string): Promise<ScimRecord | null>;
  findScim(resourceType: ScimRecord['resourceType'], attribute: 'scimName' | 'externalId', value: string): Promise<ScimRecord | null>;
  listScim(resourceType: ScimRecord['resourceType'], options: { offset: number; limit: number }): Promise<{ items: ScimRecord[]; total: number }>;
  addScimToken(t: ScimTokenRecord): Promise<void>;
  getScimTokenByHash(hash: string): Promise<ScimTokenRecord | null>;
  listScimTokens(): Promise<ScimTokenRecord[]>;
  revokeScimToken(id: string, at: number): Promise<boolean>;

  // ---- devices ----
  addDevice(d: DeviceRecord): Promise<void>;
  getDevice(id: string): Promise<DeviceRecord | null>;
  listDevices(principalId?: string): Promise<DeviceRecord[]>;
  /** Changes the status (pending -> approved/rejected, approved -> revoked); false if the transition is not allowed. */
  decideDevice(id: string, from: DeviceStatus[], to: DeviceStatus, by: string, at: number): Promise<boolean>;

  // ---- accounts ----
  /**
   * Deletes a principal and everything attached to it (memberships, tokens, grants,
   * sessions, credentials, devices) in one transaction. NotFoundError if absent.
   */
  deletePrincipal(id: string): Promise<void>;
  /** Deletes every grant held by the principal; returns how many. */
  deleteGrantsOf(principalId: string): Promise<number>;
  /** Revokes every API token of the principal; returns how many. */
  revokeTokensOf(principalId: string, at: number): Promise<number>;
  /** Drops expired tickets, revoked-jti and seen-jti entries. */
  sweep(now: number): Promise<void>;
}
