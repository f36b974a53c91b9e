import { StorageError, isCofferError } from '../domain/errors.js';
import type { CofferError } from '../domain/errors.js';
import type { AuthenticatedBearer } from '../identity/identity.js';
import { AuthRequiredError, ValidationError } from '../domain/errors.js';
import { resolveSubject } from '../identity/resolve-subject.js';
import { parseToken } from '../identity/token-format.js';
import { CredentialCache, type CachedCredential } from './credential-cache.js';
import type { Caller } from './caller.js';
import type { RequestMeta, ServiceDeps } from './deps.js';
import type { Gate } from './gate.js';

/**
 * Turns a bearer credential into a Caller with its subject (groups, grants) and the
 * request context the policies see. Accepted: JWT access tokens of a session and API
 * tokens (`coffer_pat_`); either way `context.mfa` holds the methods of the
 * credential's lineage and the age of the strongest (src/identity/credential-lineage.ts),
 * so a token carries what the credential that minted it had, never more. A valid proof from an approved
 * device of the same principal (signature headers, or a TLS client certificate of the
 * device CA) sets `context.device.managed`; nothing else can. A
 * failure is recorded in the audit log and rethrown: failed authentications are
 * evidence too.
 */
export async function authenticate(deps: ServiceDeps, gate: Gate, bearer: string | undefined, meta: RequestMeta, cache?: CredentialCache): Promise<Caller> {
  const now = deps.clock();
  try {
    if (bearer === undefined || bearer === '') throw new AuthRequiredError();
    const { auth, subject } = await authenticateCached(deps, bearer, meta, now, cache);
    if (auth.sessionId === null) {
      // lastUsedAt is advisory: never fail a request for it
      deps.store.touchToken(auth.tokenId, now).catch(() => undefined);
    }
    return {
      subject,
      meta,
      tokenId: auth.tokenId,
      credentialId: auth.credentialId,
      ...(auth.sessionId !== null ? { sessionId: auth.sessionId } : {}),
      context: { sourceIp: meta.sourceIp, now, mfa: auth.mfa, device: auth.device },
    };
  } catch (err) {
    // INVARIANT: any failure here is a refusal, never an anonymous pass
    const e: CofferError = isCofferError(err) ? err : new StorageError(undefined, { cause: err });
    return gate.refuse(null, meta, 'authenticate', 'coffer', e);
  }
}

/**
 * The full path (identity, then the subject's groups and grants), or the CredentialCache
 * when the bearer is an API token without a device proof and nothing relevant changed
 * in the store since it was cached.
 */
async function authenticateCached(deps: ServiceDeps, bearer: string, meta: RequestMeta, now: number, cache: CredentialCache | undefined): Promise<CachedCredential> {
  // a device proof or a client certificate is checked on every request, so those requests never use the cache
  const cacheable = cache !== undefined && meta.device === undefined && meta.clientCertificate === undefined && parseToken(bearer) === 'pat';
  const key = cacheable ? CredentialCache.keyOf(bearer) : '';
  // INVARIANT: the version is read before the store is, so a change racing this request invalidates what it caches
  const version = cacheable ? (deps.store.changeVersion?.() ?? null) : null;
  const hit = cacheable ? cache.get(key, version, now) : null;
  if (hit !== null) return hit;
  // fail closed: without the identity module there is no credential lineage to check
  if (deps.identity === undefined) throw new ValidationError('identity features are not enabled on this server');
  const auth: AuthenticatedBearer = await deps.identity.authenticate(bearer, now, meta.device, meta.clientCertificate);
  const subject = await resolveSubject(deps.store, auth.principal, now);
  if (cacheable && auth.credential !== undefined && auth.sessionId === null) {
    // INVARIANT: the MFA age a cache hit reports grows from when the methods were proven (the
    // lineage's, often a login long before the token was minted), never from the token's
    // creation, and errs older (fail closed): a hit never looks fresher than the full path
    const provenAt = now - auth.mfa.ageSeconds * 1000 - 999;
    cache.set(key, version, { auth: deepFreeze(auth), subject: deepFreeze(subject) }, { createdAt: provenAt, expiresAt: auth.credential.expiresAt });
  }
  return { auth, subject };
}

/** Freezes `value` and everything it holds (cached objects are shared by requests: nobody may change them). */
function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}
