import type { AuthenticatedBearer } from '../identity/identity.js';
import type { ResolvedSubject } from '../identity/resolve-subject.js';
import { hashToken } from '../identity/token-format.js';

/** Credentials kept at most (oldest dropped first). */
const CACHE_LIMIT = 10_000;

/** What one API token authenticated as, and its principal's subject, at one store version. */
export interface CachedCredential {
  auth: AuthenticatedBearer;
  subject: ResolvedSubject;
}

interface Entry {
  value: CachedCredential;
  version: number;
  /** The entry serves only before this time (epoch ms): the token's expiry or a grant's. */
  validUntil: number;
  /** When the token's authentication methods were proven (epoch ms), for the MFA age the policies see. */
  createdAt: number;
}

/**
 * The subject and grants of an API token, kept per token (by the SHA-256 of the whole
 * token: the cache never holds a usable secret) and tagged with the store's change
 * version read BEFORE the store was read (see StoreChanges). An entry serves only while
 * the store still reports that version, so a revocation, a disabled or locked principal,
 * a membership, grant or token change (by this process or another writing the same
 * database) makes the next request take the full path; it also stops serving at the
 * token's expiry and at the first expiry of one of its grants.
 *
 * INVARIANT: a store whose version is null (cannot tell) caches nothing.
 */
export class CredentialCache {
  readonly #entries = new Map<string, Entry>();

  /** The key of `bearer` (hash of the whole token). */
  static keyOf(bearer: string): string {
    return hashToken(bearer);
  }

  /**
   * The cached credential of `key` if it is still current at `version` and `now`, with
   * the MFA age recomputed for `now`; null otherwise.
   */
  get(key: string, version: number | null, now: number): CachedCredential | null {
    if (version === null) return null;
    const e = this.#entries.get(key);
    if (e === undefined) return null;
    if (e.version !== version || now >= e.validUntil) {
      this.#entries.delete(key);
      return null;
    }
    const auth: AuthenticatedBearer = { ...e.value.auth, mfa: { ...e.value.auth.mfa, ageSeconds: Math.max(0, Math.floor((now - e.createdAt) / 1000)) } };
    return { auth, subject: e.value.subject };
  }

  /**
   * Keeps what the full path found, tagged with `version` (read before that path read
   * the store). `token.createdAt`: when its methods were proven (the MFA age grows from
   * it); `token.expiresAt`: the token's expiry.
   */
  set(key: string, version: number | null, value: CachedCredential, token: { createdAt: number; expiresAt: number | null }): void {
    if (version === null) return;
    let validUntil = token.expiresAt ?? Number.POSITIVE_INFINITY;
    for (const g of value.subject.grants) {
      if (g.expiresAt !== null) validUntil = Math.min(validUntil, g.expiresAt);
    }
    this.#entries.delete(key);
    if (this.#entries.size >= CACHE_LIMIT) {
      const oldest = this.#entries.keys().next();
      if (oldest.done !== true) this.#entries.delete(oldest.value);
    }
    this.#entries.set(key, { value, version, validUntil, createdAt: token.createdAt });
  }
}
