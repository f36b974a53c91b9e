import { EnrollmentRequiredError, ForbiddenError, InvalidCredentialsError, NotFoundError, ValidationError, isCofferError } from '../../domain/errors.js';
import type { Principal } from '../../domain/types.js';
import { hashPassword, verifyPassword } from '../../identity/password-hash.js';
import { checkPasswordPolicy } from '../../identity/password-policy.js';
import { Sessions } from '../../identity/sessions.js';
import { totalRevoked } from '../../identity/credential-lineage.js';
import type { Caller } from '../caller.js';
import type { ServiceDeps } from '../deps.js';
import type { Gate } from '../gate.js';
import { SYSTEM, identityOf } from './audit.js';

async function principalByName(deps: ServiceDeps, name: string): Promise<Principal> {
  const p = await deps.store.getPrincipalByName(name);
  if (p === null) throw new NotFoundError(`principal \`${name}\` not found`);
  return p;
}

/**
 * Sets a password. For oneself: the current password is required; with none set yet, a
 * recent second factor (a first password otherwise comes with an enrollment ticket,
 * src/service/identity/enrollment.ts). For another user: `manage-principals` (an admin
 * setting an initial password). The policy
 * (length, breached and guessable patterns) applies either way. Every credential of the
 * user (sessions, API tokens, S3 keys) and everything minted from them is revoked when
 * the password changes, except the caller's own credential and what it rests on (it
 * just proved the old password).
 */
export async function setPassword(deps: ServiceDeps, gate: Gate, caller: Caller, input: { principal?: string; password: string; currentPassword?: string }): Promise<void> {
  const identity = identityOf(deps);
  const self = input.principal === undefined || input.principal === caller.subject.principal.name;
  if (!self) await gate.checkFirst(caller, 'manage-principals', `principal/${input.principal!}/password`);
  const target = self ? caller.subject.principal : await principalByName(deps, input.principal!);
  if (target.kind !== 'user') throw new ValidationError('only users have passwords');
  const permit = await gate.enter(caller, self ? 'read-metadata' : 'manage-principals', SYSTEM, `principal/${target.name}/password`, null);
  try {
    if (self) {
      const stored = await identity.identityStore.getPasswordHash(target.id);
      if (stored !== null && !(await verifyPassword(stored, input.currentPassword ?? ''))) throw new InvalidCredentialsError('current password is not correct');
      // INVARIANT: a first password is never enrolled with a bearer credential alone (a stolen token must not become
      // a password, then a session, then the thief's security key): an enrollment ticket, or a recent second factor
      if (stored === null && !hasRecentSecondFactor(caller)) throw new EnrollmentRequiredError(undefined, { detail: 'no password yet and no recent second factor in the lineage' });
    }
    checkPasswordPolicy(input.password, { names: [target.name, target.displayName] });
    const now = deps.clock();
    await identity.identityStore.setPasswordHash(target.id, await hashPassword(input.password), now);
    // INVARIANT: a password change ends every credential of the user and what was minted from them
    const revoked = await identity.lineage.revokePrincipal(target.id, now, 'password-changed', self ? caller.credentialId : undefined);
    await permit.finish('success', { details: { sessionsRevoked: revoked.session, credentialsRevoked: totalRevoked(revoked) } });
  } catch (err) {
    await permit.finish('failure', { reason: isCofferError(err) ? err.code : 'error' });
    throw err;
  }
}

/** Factor changes and first enrollments accept a second factor used this recently (15 minutes). */
export const RECENT_FACTOR_SECONDS = 900;

/** True when the caller's credential lineage carries a TOTP or security-key use within {@link RECENT_FACTOR_SECONDS}. */
export function hasRecentSecondFactor(caller: Caller): boolean {
  const { methods, ageSeconds } = caller.context.mfa;
  return (methods.includes('webauthn') || methods.includes('totp')) && ageSeconds <= RECENT_FACTOR_SECONDS;
}

/**
 * Cuts a principal off at once: disabled, every session and API token revoked, every
 * grant deleted, client keys and devices revoked. Used by SCIM deactivation and by
 * account deletion; the next request of the principal is refused on every node.
 */
export async function deprovision(deps: ServiceDeps, principalId: string, now: number, reason: string): Promise<{ sessions: number; tokens: number; s3Keys: number; grants: number }> {
  const identity = identityOf(deps);
  const store = identity.identityStore;
  await deps.store.setPrincipalDisabled(principalId, true);
  // every credential of the principal and everything minted from them, whoever holds it
  const revoked = await identity.lineage.revokePrincipal(principalId, now, reason);
  const grants = await store.deleteGrantsOf(principalId);
  for (const k of await store.listClientKeys(principalId)) await store.revokeClientKey(k.kid, now);
  for (const d of await store.listDevices(principalId)) await store.decideDevice(d.id, ['pending', 'approved'], 'revoked', 'system', now);
  return { sessions: revoked.session, tokens: revoked['api-token'], s3Keys: revoked['s3-key'], grants };
}

/** Deletes a user or service account and everything attached to it (`manage-principals`). */
export async function deletePrincipal(deps: ServiceDeps, gate: Gate, caller: Caller, name: string): Promise<void> {
  await gate.checkFirst(caller, 'manage-principals', `principal/${name}`, { op: 'delete' });
  const target = await principalByName(deps, name);
  if (target.id === caller.subject.principal.id) throw new ValidationError('you cannot delete your own account');
  const permit = await gate.enter(caller, 'manage-principals', SYSTEM, `principal/${name}`, null, { op: 'delete', kind: target.kind });
  try {
    const now = deps.clock();
    // revoke first: if the delete fails half-way, the principal is at least cut off
    const cut = await deprovision(deps, target.id, now, 'deleted');
    await identityOf(deps).identityStore.deletePrincipal(target.id);
    await permit.finish('success', { details: { principalId: target.id, ...cut } });
  } catch (err) {
    await permit.finish('failure', { reason: isCofferError(err) ? err.code : 'error' });
    throw err;
  }
}

/** The caller's session: id, methods and the age of its strongest factor. */
export async function currentSession(deps: ServiceDeps, gate: Gate, caller: Caller) {
  const permit = await gate.enter(caller, 'read-metadata', SYSTEM, `principal/${caller.subject.principal.name}/session`, null);
  await permit.finish('success');
  return { principal: caller.subject.principal.name, sessionId: caller.sessionId ?? null, mfa: caller.context.mfa, device: caller.context.device };
}

/** Sessions of a principal (oneself, or anyone with `manage-principals`). */
export async function listSessions(deps: ServiceDeps, gate: Gate, caller: Caller, name?: string) {
  const self = name === undefined || name === caller.subject.principal.name;
  if (!self) await gate.checkFirst(caller, 'manage-principals', `principal/${name}/sessions`);
  const target = self ? caller.subject.principal : await principalByName(deps, name);
  const permit = await gate.enter(caller, self ? 'read-metadata' : 'manage-principals', SYSTEM, `principal/${target.name}/sessions`, null);
  const now = deps.clock();
  const items = await identityOf(deps).identityStore.listSessions(target.id);
  await permit.finish('success');
  return items.map((s) => ({
    id: s.id,
    kind: s.kind,
    current: s.id === caller.sessionId,
    active: s.revokedAt === null && s.expiresAt > now,
    mfa: Sessions.mfaOf(s, now),
    createdAt: new Date(s.createdAt).toISOString(),
    expiresAt: new Date(s.expiresAt).toISOString(),
    revokedAt: s.revokedAt === null ? null : new Date(s.revokedAt).toISOString(),
    revokeReason: s.revokeReason,
    sourceIp: s.sourceIp,
  }));
}

/** Revokes one session and everything minted from it (one's own, or any with `manage-principals`); effective on the next request. */
export async function revokeSession(deps: ServiceDeps, gate: Gate, caller: Caller, sessionId: string): Promise<void> {
  const store = identityOf(deps).identityStore;
  const s = await store.getSession(sessionId);
  const own = s !== null && s.principalId === caller.subject.principal.id;
  const permit = await gate.enter(caller, own ? 'read-metadata' : 'manage-principals', SYSTEM, `session/${sessionId.slice(0, 64)}`, null, { op: 'revoke' });
  if (s === null) {
    await permit.finish('failure', { reason: 'COFFER_NOT_FOUND' });
    throw new NotFoundError('session not found');
  }
  const revoked = await identityOf(deps).lineage.revoke({ ids: [s.id] }, deps.clock(), own ? 'logout' : `revoked-by:${caller.subject.principal.name}`);
  await permit.finish('success', { details: { credentialsRevoked: totalRevoked(revoked) } });
}

/**
 * Revokes every session of a principal (oneself, or anyone with `manage-principals`),
 * and what was minted from them; API tokens (and their descendants) optionally too.
 */
export async function revokeAllSessions(deps: ServiceDeps, gate: Gate, caller: Caller, input: { principal?: string; tokens?: boolean }): Promise<{ sessions: number; tokens: number }> {
  const self = input.principal === undefined || input.principal === caller.subject.principal.name;
  if (!self) await gate.checkFirst(caller, 'manage-principals', `principal/${input.principal!}/sessions`, { op: 'revoke-all' });
  const target = self ? caller.subject.principal : await principalByName(deps, input.principal!);
  if (target.kind === 'group') throw new ValidationError('groups have no sessions');
  const permit = await gate.enter(caller, self ? 'read-metadata' : 'manage-principals', SYSTEM, `principal/${target.name}/sessions`, null, { op: 'revoke-all', tokens: input.tokens === true });
  const now = deps.clock();
  const lineage = identityOf(deps).lineage;
  const reason = self ? 'logout-everywhere' : `revoked-by:${caller.subject.principal.name}`;
  const listed = await lineage.list(target.id);
  const pick = (kind: string) => listed.filter((c) => c.kind === kind && c.revokedAt === null).map((c) => c.id);
  const fromSessions = await lineage.revoke({ ids: pick('session') }, now, reason);
  const fromTokens = input.tokens ? await lineage.revoke({ ids: pick('api-token') }, now, reason) : null;
  const sessions = fromSessions.session + (fromTokens?.session ?? 0);
  const tokens = fromSessions['api-token'] + (fromTokens?.['api-token'] ?? 0);
  await permit.finish('success', { details: { sessions, tokens } });
  return { sessions, tokens };
}

/** Refuses an operation that needs a session rather than an API token. */
export function requireSession(caller: Caller): string {
  if (caller.sessionId === undefined) throw new ForbiddenError('this needs a login session');
  return caller.sessionId;
}
