import { StorageError, isCofferError } from '../domain/errors.js';
import type { CofferError } from '../domain/errors.js';
import { authenticateToken } from '../identity/authenticate-token.js';
import { resolveSubject } from '../identity/resolve-subject.js';
import type { Caller } from './caller.js';
import type { RequestMeta, ServiceDeps } from './deps.js';
import type { Gate } from './gate.js';

/**
 * Turns a bearer token into a Caller with its subject (groups, grants) and the
 * request context the policies see. A failure is recorded in the audit log and
 * rethrown: failed authentications are evidence too.
 */
export async function authenticate(deps: ServiceDeps, gate: Gate, bearer: string | undefined, meta: RequestMeta): Promise<Caller> {
  const now = deps.clock();
  try {
    const { principal, token } = await authenticateToken(deps.store, bearer, now);
    const subject = await resolveSubject(deps.store, principal, now);
    // lastUsedAt is advisory: never fail a request for it
    deps.store.touchToken(token.id, now).catch(() => undefined);
    return {
      subject,
      meta,
      tokenId: token.id,
      context: {
        sourceIp: meta.sourceIp,
        now,
        mfa: { methods: ['token'], ageSeconds: Math.max(0, Math.floor((now - token.createdAt) / 1000)) },
        device: { managed: false, id: '' },
      },
    };
  } catch (err) {
    // INVARIANT: any failure here is a refusal, never an anonymous pass
    const e: CofferError = isCofferError(err) ? err : new StorageError(undefined, { cause: err });
    return gate.refuse(null, meta, 'authenticate', 'coffer', e);
  }
}
