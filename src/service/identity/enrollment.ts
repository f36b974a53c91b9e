import { InvalidCredentialsError, NotFoundError, ValidationError, isCofferError } from '../../domain/errors.js';
import { totalRevoked } from '../../identity/credential-lineage.js';
import { hashPassword } from '../../identity/password-hash.js';
import { checkPasswordPolicy } from '../../identity/password-policy.js';
import { generateToken, hashToken, parseToken, tokenHint } from '../../identity/token-format.js';
import type { Caller } from '../caller.js';
import type { RequestMeta, ServiceDeps } from '../deps.js';
import type { Gate } from '../gate.js';
import { SYSTEM, identityOf, recordEvent } from './audit.js';

/** Default life of an enrollment ticket (one hour), and the longest (a day). */
export const ENROLLMENT_DEFAULT_SECONDS = 3600;
export const ENROLLMENT_MAX_SECONDS = 24 * 3600;
const KIND = 'enrollment';

function ticketId(secret: string): string {
  return `enroll:${hashToken(secret)}`;
}

/**
 * Issues an enrollment ticket for a user (`manage-principals`, so a user's session
 * needs a fresh security key): a one-time `coffer_enroll_` secret, shown once, stored as
 * its SHA-256, valid `ttlSeconds` (default an hour, at most a day), with which that user
 * sets a first password (`POST /v1/auth/enroll`, `coffer enroll`). Issuing one voids the
 * user's earlier tickets; setting a password, and anything that ends the user's
 * credentials (password change, disable, lock, deletion), voids them all. A bearer token of the
 * user is not enough for that (docs/security.md, "Enrollment"): a stolen token must not
 * become a password, then a session, then a security key of the thief's.
 */
export async function issueEnrollmentTicket(deps: ServiceDeps, gate: Gate, caller: Caller, name: string, input: { ttlSeconds?: number }): Promise<{ principal: string; ticket: string; hint: string; expiresAt: string }> {
  const ttl = input.ttlSeconds ?? ENROLLMENT_DEFAULT_SECONDS;
  if (!Number.isSafeInteger(ttl) || ttl < 60 || ttl > ENROLLMENT_MAX_SECONDS) throw new ValidationError(`enrollment ticket lifetime must be between 60 and ${ENROLLMENT_MAX_SECONDS} seconds`);
  const target = await deps.store.getPrincipalByName(name);
  const permit = await gate.enter(caller, 'manage-principals', SYSTEM, `principal/${name.slice(0, 63)}/enrollment`, null, { op: 'issue', ttlSeconds: ttl });
  if (target === null || target.kind !== 'user') {
    await permit.finish('failure', { reason: target === null ? 'COFFER_NOT_FOUND' : 'COFFER_VALIDATION_FAILED' });
    if (target === null) throw new NotFoundError(`principal \`${name.slice(0, 63)}\` not found`);
    throw new ValidationError('only users enroll a password');
  }
  const now = deps.clock();
  const secret = generateToken('enroll');
  const expiresAt = now + ttl * 1000;
  // INVARIANT: one outstanding ticket per user: a new one voids those issued before (lost, or sent to the wrong place)
  await identityOf(deps).identityStore.voidTickets(target.id, KIND, now);
  // INVARIANT: only the hash is stored; the secret is shown once
  await identityOf(deps).identityStore.createTicket({ id: ticketId(secret), kind: KIND, principalId: target.id, sessionId: null, data: { issuedBy: caller.subject.principal.id }, expiresAt, consumedAt: null });
  await permit.finish('success', { details: { hint: tokenHint(secret), expiresAt } });
  return { principal: target.name, ticket: secret, hint: tokenHint(secret), expiresAt: new Date(expiresAt).toISOString() };
}

/**
 * Sets a user's password with an enrollment ticket (no other credential needed: the
 * ticket is the administrator's word). The ticket works once; a weak password does not
 * spend it; the user's other tickets are void once a password is set. Over an existing password it is a reset: like any password change, every
 * credential the user had ends.
 */
export async function enrollWithTicket(deps: ServiceDeps, meta: RequestMeta, input: { ticket: string; password: string }): Promise<{ principal: string }> {
  const identity = identityOf(deps);
  const now = deps.clock();
  const refuse = async (err: Error & { code: string }, target: string | null = null): Promise<never> => {
    await recordEvent(deps, meta, { actor: null, action: 'enroll', resource: 'coffer', allowed: false, outcome: 'denied', reason: err.code, details: target === null ? {} : { target } });
    throw err;
  };
  if (parseToken(input.ticket) !== 'enroll') return refuse(new InvalidCredentialsError('enrollment ticket is not valid'));
  const id = ticketId(input.ticket);
  const peeked = await identity.identityStore.peekTicket(id, KIND, now);
  const principal = peeked?.principalId ? await deps.store.getPrincipal(peeked.principalId) : null;
  if (peeked === null || principal === null || principal.kind !== 'user' || principal.disabled) return refuse(new InvalidCredentialsError('enrollment ticket is not valid'));
  try {
    checkPasswordPolicy(input.password, { names: [principal.name, principal.displayName] });
  } catch (err) {
    return refuse(isCofferError(err) ? err : new ValidationError('password is not acceptable'), principal.name);
  }
  // INVARIANT: one use: of concurrent presentations, exactly one consumes it
  const t = await identity.identityStore.consumeTicket(id, KIND, now);
  if (t === null) return refuse(new InvalidCredentialsError('enrollment ticket is not valid'), principal.name);
  await recordEvent(deps, meta, { actor: principal, action: 'enroll', resource: `principal/${principal.name}`, allowed: true, outcome: 'attempt', details: { hint: tokenHint(input.ticket), issuedBy: t.data.issuedBy } });
  const had = (await identity.identityStore.getPasswordHash(principal.id)) !== null;
  await identity.identityStore.setPasswordHash(principal.id, await hashPassword(input.password), now);
  // INVARIANT: once a password is set, no other enrollment ticket of the user can replace it
  await identity.identityStore.voidTickets(principal.id, KIND, now);
  // a ticket over an existing password is a reset: like any password change, every credential ends
  const revoked = had ? totalRevoked(await identity.lineage.revokePrincipal(principal.id, now, 'password-reset')) : 0;
  await recordEvent(deps, meta, { actor: principal, action: 'enroll', resource: `principal/${principal.name}`, allowed: true, outcome: 'success', details: { reset: had, credentialsRevoked: revoked } });
  return { principal: principal.name };
}
