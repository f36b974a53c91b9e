import { StorageError, isCofferError } from '../domain/errors.js';
import type { CofferError } from '../domain/errors.js';
import type { AuthenticatedBearer } from '../identity/identity.js';
import { AuthRequiredError, ValidationError } from '../domain/errors.js';
import { resolveSubject } from '../identity/resolve-subject.js';
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
export async function authenticate(deps: ServiceDeps, gate: Gate, bearer: string | undefined, meta: RequestMeta): Promise<Caller> {
  const now = deps.clock();
  try {
    if (bearer === undefined || bearer === '') throw new AuthRequiredError();
    // fail closed: without the identity module there is no credential lineage to check
    if (deps.identity === undefined) throw new ValidationError('identity features are not enabled on this server');
    const auth: AuthenticatedBearer = await deps.identity.authenticate(bearer, now, meta.device, meta.clientCertificate);
    const subject = await resolveSubject(deps.store, auth.principal, now);
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

