/**
 * CredentialStore: the lineage of every credential (sessions, API tokens, S3 keys, and
 * any kind added later), one row each: who holds it, which credential minted it, the
 * authentication methods it carries (inherited, never more than its parent's), when it
 * ends and whether it was revoked. The rows of each kind (hashes, wrapped secrets,
 * refresh tokens...) stay in their own tables; this one is the authority on whether a
 * credential is alive: authentication walks a credential's chain of ancestors here and
 * refuses it if any link is revoked or missing.
 *
 * TRUST: like MetadataStore, trusted for integrity and never given a secret (ids are
 * public identifiers: session ids, token ids, access key ids). Every method rejects with
 * a catalog error (AlreadyExistsError on a duplicate id, StorageError otherwise).
 */

/** Kinds of credential. `session` covers interactive and workload sessions (their access and refresh tokens name it). */
export type CredentialKind = 'session' | 'api-token' | 's3-key';

/** Authentication methods a credential carries: method -> epoch ms of its last successful use. */
export type CredentialMethods = Record<string, number>;

/** One credential's lineage row. */
export interface CredentialRecord {
  /** The credential's own id: session id, API token id, S3 access key id. */
  id: string;
  kind: CredentialKind;
  /** The principal the credential authenticates as. */
  principalId: string;
  /** The credential that minted this one; null for a root (a login, the setup token, a service-account key). */
  parentId: string | null;
  /**
   * How it came to be: for a root, what authenticated it (`login`, `setup-token`,
   * `client-key:<kid>`, `workload:<issuer>`, `pre-lineage` for rows older than
   * lineage); for a minted one, `mint` (for oneself) or `issue` (by one principal for another).
   */
  origin: string;
  methods: CredentialMethods;
  createdAt: number;
  /** Null: no expiry of its own (it still ends with its parent). */
  expiresAt: number | null;
  revokedAt: number | null;
  revokeReason: string | null;
}

/** A credential as listed: its row and a few facts about its parent. */
export interface CredentialListing extends CredentialRecord {
  parent: { id: string; kind: CredentialKind; principalId: string } | null;
}

/** What to revoke: credentials by id, every credential of a principal, or every root of an origin. Their descendants always follow. */
export interface RevokeSelector {
  ids?: string[];
  principalId?: string;
  origin?: string;
  /** Never revoked, nor walked through (the caller's own chain when it changes its password). */
  except?: string[];
}

/** How many credentials a revocation ended, by kind (already revoked ones are not counted). */
export type RevokeCounts = Record<CredentialKind, number>;

/** Chains are never longer than this; a longer one is refused (fail closed). */
export const MAX_LINEAGE_DEPTH = 16;

export interface CredentialStore {
  /**
   * Stores a credential. One with a parent is stored only if the parent exists and is
   * not revoked, read under a lock so that a concurrent revocation of the parent either
   * refuses it (TokenRevokedError) or revokes it too.
   */
  create(c: CredentialRecord): Promise<void>;
  get(id: string): Promise<CredentialRecord | null>;
  /**
   * The credential and its ancestors, nearest first, at most {@link MAX_LINEAGE_DEPTH}
   * rows (one query). Empty if the credential has no row. If the last row has a parent,
   * that parent is missing (deleted) or the chain is too long.
   */
  chain(id: string): Promise<CredentialRecord[]>;
  /** Credentials of a principal with their parents, newest first (at most 1000). */
  list(principalId: string): Promise<CredentialListing[]>;
  /**
   * Revokes the selected credentials and every descendant (whoever holds them), in one
   * transaction, also marking the rows of each kind's own table (tokens, sessions, S3
   * credentials). The first revocation of a credential is kept. Selecting a principal
   * also voids its outstanding one-time tickets (MFA steps, enrollment tickets,
   * security-key ceremonies), so none is completed after its credentials ended.
   */
  revoke(selector: RevokeSelector, at: number, reason: string): Promise<RevokeCounts>;
  /** Records `method` as used at `at` on a credential (a session's step-up). */
  touchMethod(id: string, method: string, at: number): Promise<void>;
}
