import type { Caller } from '../caller.js';
import type { ServiceDeps } from '../deps.js';
import type { Gate } from '../gate.js';
import { SYSTEM, identityOf } from './audit.js';

/**
 * Rotates the access-token signing key (`rotate-keys`): a new Ed25519 key signs from now
 * on; the previous one stays in the JWKS and keeps verifying until every token it signed
 * has expired (one hour and two minutes), unless `retireNow` (a key believed
 * compromised): then its tokens stop working at once and clients refresh.
 */
export async function rotateSigningKey(deps: ServiceDeps, gate: Gate, caller: Caller, input: { retireNow: boolean }) {
  const permit = await gate.enter(caller, 'rotate-keys', SYSTEM, 'identity/signing-key', null, { retireNow: input.retireNow });
  try {
    const r = await identityOf(deps).rotateSigningKey(deps.clock(), input.retireNow);
    await permit.finish('success', { details: { kid: r.kid, previousKid: r.previousKid } });
    return { kid: r.kid, previousKid: r.previousKid, previousValidUntil: new Date(r.previousUntil).toISOString() };
  } catch (err) {
    await permit.finish('failure', { reason: (err as { code?: string }).code ?? 'error' });
    throw err;
  }
}
