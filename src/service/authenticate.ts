import { StorageError, isCofferError } from '../domain/errors.js';
import type { CofferError } from '../domain/errors.js';
import { authenticateToken } from '../identity/authenticate-token.js';
import type { AuthenticatedBearer } from '../identity/identity.js';
import { AuthRequiredError } from '../domain/errors.js';
import { resolveSubject } from '../identity/resolve-subject.js';
import { parseToken } from '../identity/token-format.js';
import { CredentialCache, type CachedCredential } from './credential-cache.js';
import type { Caller } from './caller.js';
import type { RequestMeta, ServiceDeps } from './deps.js';
import type { Gate } from './gate.js';

/**
 * Turns a bearer credential into a Caller with its subject (groups, grants) and the
 * request context the policies see. Accepted: JWT access tokens of a session (the
 * session's methods and the age of its strongest factor go into `context.mfa`) and API
 * tokens (`coffer_pat_`, `mfa.methods = ["token"]`). A valid proof from an approved
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
  const auth: AuthenticatedBearer = deps.identity
    ? await deps.identity.authenticate(bearer, now, meta.device, meta.clientCertificate)
    : await patOnly(deps, bearer, now);
  const subject = await resolveSubject(deps.store, auth.principal, now);
  if (cacheable && auth.credential !== undefined && auth.sessionId === null) {
    cache.set(key, version, { auth: deepFreeze(auth), subject: deepFreeze(subject) }, auth.credential);
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

async function patOnly(deps: ServiceDeps, bearer: string, now: number): Promise<AuthenticatedBearer> {
  const { principal, token } = await authenticateToken(deps.store, bearer, now);
  return { principal, tokenId: token.id, sessionId: null, mfa: { methods: ['token'], ageSeconds: Math.max(0, Math.floor((now - token.createdAt) / 1000)) }, device: { managed: false, id: '' }, credential: { createdAt: token.createdAt, expiresAt: token.expiresAt } };
}
