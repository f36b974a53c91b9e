import type { ApiToken } from '../domain/types.js';
import { ID_PREFIX, newId } from '../domain/ids.js';
import type { MetadataStore } from '../store/metadata-store.js';
import { generateToken, hashToken, tokenHint } from './token-format.js';

/**
 * Creates an API token for `principalId`. Returns the secret once; only its hash is
 * stored. `ttlSeconds` 0 means no expiry.
 */
export async function issueToken(
  store: MetadataStore,
  principalId: string,
  options: { description: string; ttlSeconds: number; now: number },
): Promise<{ secret: string; token: ApiToken }> {
  const secret = generateToken('pat');
  const token: ApiToken = {
    id: newId(ID_PREFIX.token),
    principalId,
    hash: hashToken(secret),
    hint: tokenHint(secret),
    description: options.description,
    createdAt: options.now,
    expiresAt: options.ttlSeconds > 0 ? options.now + options.ttlSeconds * 1000 : null,
    revokedAt: null,
    lastUsedAt: null,
  };
  await store.createToken(token);
  return { secret, token };
}
