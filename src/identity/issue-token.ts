import type { ApiToken } from '../domain/types.js';
import { ID_PREFIX, newId } from '../domain/ids.js';
import type { MetadataStore } from '../store/metadata-store.js';
import type { CredentialLineage } from './credential-lineage.js';
import { earlierExpiry } from './credential-lineage.js';
import { generateToken, hashToken, tokenHint } from './token-format.js';

/** Where a new API token comes from: the setup token (the one root token), or a live credential that mints it. */
export type TokenSource = { root: 'setup-token' } | { parentId: string };

/**
 * Creates an API token for `principalId`. Returns the secret once; only its hash is
 * stored. `ttlSeconds` 0 means no expiry of its own. A token minted by a credential
 * carries that credential's methods and ends no later than it (credential lineage);
 * the one root token is the bootstrap's, whose method is `token`.
 */
export async function issueToken(
  store: MetadataStore,
  lineage: CredentialLineage,
  principalId: string,
  options: { description: string; ttlSeconds: number; now: number; source: TokenSource },
): Promise<{ secret: string; token: ApiToken }> {
  const secret = generateToken('pat');
  const id = newId(ID_PREFIX.token);
  let expiresAt = options.ttlSeconds > 0 ? options.now + options.ttlSeconds * 1000 : null;
  if ('root' in options.source) {
    await lineage.root({ id, kind: 'api-token', principalId, origin: options.source.root, methods: { token: options.now }, createdAt: options.now, expiresAt });
  } else {
    const terms = await lineage.terms(options.source.parentId, options.now, principalId);
    // INVARIANT: never stronger, never longer than what minted it
    expiresAt = earlierExpiry(expiresAt, terms.latestExpiry);
    await lineage.mint({ id, kind: 'api-token', principalId, parentId: options.source.parentId, origin: terms.parent.principalId === principalId ? 'mint' : 'issue', methods: terms.methods, createdAt: options.now, expiresAt });
  }
  const token: ApiToken = {
    id,
    principalId,
    hash: hashToken(secret),
    hint: tokenHint(secret),
    description: options.description,
    createdAt: options.now,
    expiresAt,
    revokedAt: null,
    lastUsedAt: null,
  };
  await store.createToken(token);
  return { secret, token };
}
