import { TokenExpiredError, TokenInvalidError, TokenRevokedError, ValidationError } from '../domain/errors.js';
import type { Principal } from '../domain/types.js';
import { MAX_LINEAGE_DEPTH } from '../store/credential-store.js';
import type { CredentialKind, CredentialListing, CredentialMethods, CredentialRecord, CredentialStore, RevokeCounts, RevokeSelector } from '../store/credential-store.js';

/** Strength of each authentication method; step-up policies read the strongest one's age. */
export const METHOD_STRENGTH: Record<string, number> = { webauthn: 3, totp: 2, 'recovery-code': 2, private_key_jwt: 2, workload_oidc: 2, password: 1, sso: 1 };

/**
 * The flag in `context.mfa.methods` that withdraws the API-token exemption of the
 * step-up policies (src/policy/baseline/identity.cedar): set next to `token` for a
 * user's credential when `requireStepUpForUserTokens` is on. Set only at
 * authentication, never stored, never sent by a client.
 */
export const STEP_UP_ENFORCED = 'step-up-enforced';

/**
 * Methods that are not a person at a keyboard: the setup token's lineage (`token`) and
 * service-account keys or workload identities. Every other method (password, SSO,
 * TOTP, recovery code, WebAuthn, `api-token`) proves who a person is.
 */
export const MACHINE_METHODS: ReadonlySet<string> = new Set(['token', 'private_key_jwt', 'workload_oidc']);

/** The MFA facts the policy context carries. */
export interface MfaFacts {
  methods: string[];
  /** Seconds since the last use of the strongest method (through the credential's lineage). */
  ageSeconds: number;
}

/** Lineage settings from the configuration. */
export interface LineageSettings {
  /**
   * 0 (default): a credential minted by another never outlives it. N > 0: it may be
   * given a life of up to N seconds from its minting even past its parent's expiry
   * (config `mintedCredentialMaxTtlSeconds`). Revocation of the parent ends it either way.
   */
  mintedCredentialMaxTtlSeconds: number;
}

/** What a credential minted now may be: its parent, the methods it carries and its latest end. */
export interface MintTerms {
  parent: CredentialRecord;
  methods: CredentialMethods;
  /** Latest allowed expiry (epoch ms); null = the parent has none. */
  latestExpiry: number | null;
}

/** The MFA facts of a set of methods: their names and the age of the strongest (unknown methods are weakest). */
export function mfaOf(methods: CredentialMethods, now: number, since: number): MfaFacts {
  const names = Object.keys(methods).sort();
  let strongest: string | null = null;
  for (const m of names) {
    if (strongest === null || (METHOD_STRENGTH[m] ?? 0) > (METHOD_STRENGTH[strongest] ?? 0)) strongest = m;
  }
  const at = strongest === null ? since : methods[strongest]!;
  return { methods: names, ageSeconds: Math.max(0, Math.floor((now - at) / 1000)) };
}

/**
 * The MFA facts a request authenticated by `credential` carries: the methods of its
 * lineage, and, for a user whose lineage rests on an API token (`token`) while
 * `requireStepUpForUserTokens` is on, the {@link STEP_UP_ENFORCED} flag that withdraws
 * the token exemption. Service accounts keep it (they have no second factor).
 */
export function credentialMfa(credential: CredentialRecord, principal: Principal, now: number, requireStepUpForUserTokens: boolean): MfaFacts {
  const facts = mfaOf(credential.methods, now, credential.createdAt);
  // INVARIANT: only a user's token lineage loses the exemption
  if (requireStepUpForUserTokens && principal.kind === 'user' && facts.methods.includes('token')) facts.methods = [...facts.methods, STEP_UP_ENFORCED];
  return facts;
}

/** The earlier of two expiries (null = none). */
export function earlierExpiry(a: number | null, b: number | null): number | null {
  if (a === null) return b;
  if (b === null) return a;
  return Math.min(a, b);
}

/**
 * Credential lineage: the one model every credential follows (docs/security.md,
 * "Credential lineage"). A credential is a root (a login, the setup token, a
 * service-account key or workload identity) or is minted by another credential, its
 * parent. A minted credential
 *  - carries its parent's authentication methods with their times, never more, so
 *    minting cannot turn a password-only session into an exempt API token, nor make an
 *    old authentication look fresh;
 *  - ends no later than its parent (unless `mintedCredentialMaxTtlSeconds` allows);
 *  - is refused as soon as any ancestor is revoked or missing (the chain is read at
 *    every authentication), and revocation marks the whole subtree revoked at once.
 */
export class CredentialLineage {
  constructor(
    readonly store: CredentialStore,
    private readonly settings: LineageSettings,
  ) {}

  /** Registers a root credential (its kind row is the caller's to write). */
  async root(input: { id: string; kind: CredentialKind; principalId: string; origin: string; methods: CredentialMethods; createdAt: number; expiresAt: number | null }): Promise<CredentialRecord> {
    const record: CredentialRecord = { ...input, parentId: null, revokedAt: null, revokeReason: null };
    await this.store.create(record);
    return record;
  }

  /**
   * Checks a credential and every ancestor: each must have a row and none may be
   * revoked; the credential itself must not be expired (its expiry was capped by its
   * parent's when it was minted). Returns its record, whose methods are the ones to use.
   */
  async check(id: string, now: number): Promise<CredentialRecord> {
    return (await this.checkChain(id, now))[0]!;
  }

  /** Like {@link check}; returns the whole chain, the credential first. */
  private async checkChain(id: string, now: number): Promise<CredentialRecord[]> {
    const chain = await this.store.chain(id);
    const self = chain[0];
    if (self === undefined) throw new TokenInvalidError(undefined, { detail: 'credential has no lineage' });
    for (const link of chain) {
      // INVARIANT: a revoked ancestor kills every descendant, whoever holds it
      if (link.revokedAt !== null) throw new TokenRevokedError(undefined, { detail: link === self ? `revoked: ${link.revokeReason ?? ''}` : `ancestor ${link.kind} revoked: ${link.revokeReason ?? ''}` });
    }
    // a chain that ends on a parent id is missing its parent (deleted) or too long: fail closed
    if (chain[chain.length - 1]!.parentId !== null) throw new TokenRevokedError(undefined, { detail: 'ancestor missing' });
    if (self.expiresAt !== null && self.expiresAt <= now) throw new TokenExpiredError();
    return chain;
  }

  /**
   * The terms of a credential for `principalId` minted now by `parentId` (which must be
   * alive). For the parent's own principal: the parent's methods. For another principal
   * (an administrator issuing a token for a service account or a user): only the
   * parent's machine methods ({@link MACHINE_METHODS}); a person's factors prove who the
   * parent's holder is, never who the new holder is, so they do not pass across.
   */
  async terms(parentId: string, now: number, principalId: string): Promise<MintTerms> {
    const chain = await this.checkChain(parentId, now);
    // a child one link deeper than the limit could never be checked: refuse it here, clearly
    if (chain.length >= MAX_LINEAGE_DEPTH) throw new ValidationError(`credentials can be minted at most ${MAX_LINEAGE_DEPTH - 1} links from a login: mint from an earlier credential`);
    const parent = chain[0]!;
    const extra = this.settings.mintedCredentialMaxTtlSeconds;
    const latestExpiry = parent.expiresAt === null ? null : extra > 0 ? Math.max(parent.expiresAt, now + extra * 1000) : parent.expiresAt;
    const methods: CredentialMethods = {};
    for (const [m, at] of Object.entries(parent.methods)) {
      // INVARIANT: never more than the parent; across principals, no person's factor
      if (parent.principalId === principalId || MACHINE_METHODS.has(m)) methods[m] = at;
    }
    return { parent, methods, latestExpiry };
  }

  /**
   * Registers a minted credential (its terms from {@link terms}). The store refuses it if
   * the parent was revoked in the meantime; a revocation of an older ancestor that races
   * it takes it along (the cascade locks each level before reading the next), and
   * authentication reads the whole chain anyway.
   */
  async mint(record: Omit<CredentialRecord, 'revokedAt' | 'revokeReason'> & { parentId: string }): Promise<CredentialRecord> {
    const full: CredentialRecord = { ...record, revokedAt: null, revokeReason: null };
    await this.store.create(full);
    return full;
  }

  /** Revokes the selected credentials and all their descendants. */
  revoke(selector: RevokeSelector, at: number, reason: string): Promise<RevokeCounts> {
    return this.store.revoke(selector, at, reason);
  }

  /** Revokes every credential of a principal (and every descendant, whoever holds it), except `except` (and what it rests on). */
  async revokePrincipal(principalId: string, at: number, reason: string, except?: string): Promise<RevokeCounts> {
    const keep = except === undefined ? [] : (await this.store.chain(except)).map((c) => c.id);
    return this.store.revoke({ principalId, except: keep }, at, reason);
  }

  /** Credentials of a principal with their parents. */
  list(principalId: string): Promise<CredentialListing[]> {
    return this.store.list(principalId);
  }

  /** Records a factor used now on a live credential (a session's step-up). */
  touchMethod(id: string, method: string, at: number): Promise<void> {
    return this.store.touchMethod(id, method, at);
  }
}

/** The sum of revocation counts. */
export function totalRevoked(c: RevokeCounts): number {
  return c.session + c['api-token'] + c['s3-key'];
}
