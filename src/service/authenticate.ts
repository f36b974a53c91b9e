import { StorageError, isCofferError } from '../domain/errors.js';
import type { CofferError } from '../domain/errors.js';
import { authenticateToken } from '../identity/authenticate-token.js';
import type { AuthenticatedBearer } from '../identity/identity.js';
import { AuthRequiredError } from '../domain/errors.js';
import { resolveSubject } from '../identity/resolve-subject.js';
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
export async function authenticate(deps: ServiceDeps, gate: Gate, bearer: string | undefined, meta: RequestMeta): Promise<Caller> {
  const now = deps.clock();
  try {
    if (bearer === undefined || bearer === '') throw new AuthRequiredError();
    const auth: AuthenticatedBearer = deps.identity
      ? await deps.identity.authenticate(bearer, now, meta.device, meta.clientCertificate)
      : await patOnly(deps, bearer, now);
    const subject = await resolveSubject(deps.store, auth.principal, now);
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

async function patOnly(deps: ServiceDeps, bearer: string, now: number): Promise<AuthenticatedBearer> {
  const { principal, token } = await authenticateToken(deps.store, bearer, now);
  return { principal, tokenId: token.id, sessionId: null, mfa: { methods: ['token'], ageSeconds: Math.max(0, Math.floor((now - token.createdAt) / 1000)) }, device: { managed: false, id: '' } };
}
