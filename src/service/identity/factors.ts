import { ForbiddenError, InvalidCredentialsError, NotFoundError, ValidationError } from '../../domain/errors.js';
import { hashRecoveryCode, newRecoveryCodes } from '../../identity/recovery-codes.js';
import { base32Encode, matchTotp, newTotpSecret, otpauthUri } from '../../identity/totp.js';
import type { Caller } from '../caller.js';
import type { RequestMeta, ServiceDeps } from '../deps.js';
import type { Gate } from '../gate.js';
import { SYSTEM, identityOf, recordEvent } from './audit.js';
import { secondFactors, startSession, throttledAssertion } from './login.js';
import { checkHandoffTarget, createHandoff } from './handoff.js';
import type { HandoffTarget } from './handoff.js';
import { API_TOKEN_METHOD } from '../../identity/identity.js';
import { STEP_UP_ENFORCED, mfaOf } from '../../identity/credential-lineage.js';

/** Factor changes need this much: a factor of strength 2+ (TOTP, WebAuthn) within 15 minutes, once any is set up. */
const CHANGE_MAX_AGE_SECONDS = 900;

/**
 * Adding or removing a factor is as sensitive as the factor itself: once an account has
 * a second factor, changes need a session that used one recently. API tokens cannot
 * change factors (they never saw one).
 */
async function assertMayChangeFactors(deps: ServiceDeps, caller: Caller): Promise<void> {
  if (caller.sessionId === undefined) throw new ForbiddenError('second factors are managed from a login session, not with an API token');
  if ((await secondFactors(deps, caller.subject.principal)).length === 0) return;
  const { methods, ageSeconds } = caller.context.mfa;
  if (!(methods.includes('totp') || methods.includes('webauthn') || methods.includes('recovery-code')) || ageSeconds > CHANGE_MAX_AGE_SECONDS) {
    throw new ForbiddenError('changing second factors needs a login with a second factor in the last 15 minutes');
  }
}

async function selfPermit(gate: Gate, caller: Caller, op: string) {
  return gate.enter(caller, 'read-metadata', SYSTEM, `principal/${caller.subject.principal.name}/factors`, null, { op });
}

/** Starts TOTP enrolment: a new secret (sealed at rest), shown once as base32 and otpauth URI. */
export async function enrollTotp(deps: ServiceDeps, gate: Gate, caller: Caller): Promise<{ secret: string; uri: string }> {
  await assertMayChangeFactors(deps, caller);
  const identity = identityOf(deps);
  const permit = await selfPermit(gate, caller, 'totp-enroll');
  const p = caller.subject.principal;
  const secret = newTotpSecret();
  try {
    await identity.identityStore.putTotp(p.id, identity.box.seal(`totp:${p.id}`, secret), deps.clock());
    await permit.finish('success');
    return { secret: base32Encode(secret), uri: otpauthUri(secret, p.name, 'Coffer') };
  } finally {
    secret.fill(0);
  }
}

/** Confirms TOTP with a first code; returns fresh recovery codes (shown once). */
export async function confirmTotp(deps: ServiceDeps, gate: Gate, caller: Caller, code: string): Promise<{ recoveryCodes: string[] }> {
  const identity = identityOf(deps);
  const p = caller.subject.principal;
  const totp = await identity.identityStore.getTotp(p.id);
  if (totp === null) throw new NotFoundError('no TOTP enrolment is pending');
  const permit = await selfPermit(gate, caller, 'totp-confirm');
  const now = deps.clock();
  const secret = identity.box.open(`totp:${p.id}`, totp.sealedSecret);
  const step = matchTotp(secret, code.trim(), now);
  secret.fill(0);
  if (step === null || !(await identity.identityStore.advanceTotpStep(p.id, step))) {
    await permit.finish('failure', { reason: 'COFFER_AUTH_INVALID_CREDENTIALS' });
    throw new InvalidCredentialsError('code is not valid');
  }
  await identity.identityStore.confirmTotp(p.id);
  const codes = newRecoveryCodes();
  await identity.identityStore.replaceRecoveryCodes(p.id, codes.map(hashRecoveryCode));
  if (caller.sessionId !== undefined) await identity.sessions.addMethod(caller.sessionId, 'totp', now);
  await permit.finish('success');
  return { recoveryCodes: codes };
}

/** Removes TOTP (and the recovery codes if no other factor is left). */
export async function disableTotp(deps: ServiceDeps, gate: Gate, caller: Caller): Promise<void> {
  await assertMayChangeFactors(deps, caller);
  const identity = identityOf(deps);
  const permit = await selfPermit(gate, caller, 'totp-disable');
  await identity.identityStore.deleteTotp(caller.subject.principal.id);
  if ((await identity.identityStore.listWebAuthnCredentials(caller.subject.principal.id)).length === 0) await identity.identityStore.replaceRecoveryCodes(caller.subject.principal.id, []);
  await permit.finish('success');
}

/** New recovery codes (the old ones stop working). */
export async function regenerateRecoveryCodes(deps: ServiceDeps, gate: Gate, caller: Caller): Promise<{ recoveryCodes: string[] }> {
  await assertMayChangeFactors(deps, caller);
  if ((await secondFactors(deps, caller.subject.principal)).length === 0) throw new ValidationError('recovery codes need a second factor first');
  const permit = await selfPermit(gate, caller, 'recovery-codes');
  const codes = newRecoveryCodes();
  await identityOf(deps).identityStore.replaceRecoveryCodes(caller.subject.principal.id, codes.map(hashRecoveryCode));
  await permit.finish('success');
  return { recoveryCodes: codes };
}

/** Starts registering a security key. */
export async function beginWebAuthnRegistration(deps: ServiceDeps, gate: Gate, caller: Caller) {
  await assertMayChangeFactors(deps, caller);
  const permit = await selfPermit(gate, caller, 'webauthn-register-begin');
  const r = await identityOf(deps).webauthn.beginRegistration(caller.subject.principal, caller.sessionId ?? null, deps.clock());
  await permit.finish('success');
  return r;
}

/** Finishes registering a security key; the first key also brings recovery codes. */
export async function finishWebAuthnRegistration(deps: ServiceDeps, gate: Gate, caller: Caller, input: { ceremonyId: string; response: unknown; name?: string }): Promise<{ id: string; name: string; recoveryCodes?: string[] }> {
  const identity = identityOf(deps);
  const p = caller.subject.principal;
  const permit = await selfPermit(gate, caller, 'webauthn-register');
  let record;
  try {
    record = await identity.webauthn.finishRegistration(p, input.ceremonyId, input.response, input.name ?? 'security key', deps.clock());
  } catch (err) {
    await permit.finish('failure', { reason: (err as { code?: string }).code ?? 'error' });
    throw err;
  }
  let recoveryCodes: string[] | undefined;
  if ((await identity.identityStore.countRecoveryCodes(p.id)) === 0) {
    recoveryCodes = newRecoveryCodes();
    await identity.identityStore.replaceRecoveryCodes(p.id, recoveryCodes.map(hashRecoveryCode));
  }
  await permit.finish('success', { details: { credential: record.id.slice(0, 16) } });
  return { id: record.id, name: record.name, ...(recoveryCodes ? { recoveryCodes } : {}) };
}

/** The caller's security keys. */
export async function listWebAuthn(deps: ServiceDeps, gate: Gate, caller: Caller) {
  const permit = await selfPermit(gate, caller, 'webauthn-list');
  const items = await identityOf(deps).identityStore.listWebAuthnCredentials(caller.subject.principal.id);
  await permit.finish('success');
  return items.map((c) => ({ id: c.id, name: c.name, createdAt: new Date(c.createdAt).toISOString(), lastUsedAt: c.lastUsedAt === null ? null : new Date(c.lastUsedAt).toISOString() }));
}

/** Removes one of the caller's security keys. */
export async function deleteWebAuthn(deps: ServiceDeps, gate: Gate, caller: Caller, id: string): Promise<void> {
  await assertMayChangeFactors(deps, caller);
  const permit = await selfPermit(gate, caller, 'webauthn-delete');
  if (!(await identityOf(deps).identityStore.deleteWebAuthnCredential(caller.subject.principal.id, id))) {
    await permit.finish('failure', { reason: 'COFFER_NOT_FOUND' });
    throw new NotFoundError('security key not found');
  }
  await permit.finish('success');
}

/**
 * Step-up: starts a WebAuthn assertion bound to the caller's session. The ceremony can
 * be finished by a browser page (the CLI hands it the ceremony id); a valid assertion
 * adds `webauthn` (now) to the session, so the caller's next request passes step-up.
 *
 * A user calling with an API token that is not exempt from step-up (minted by a
 * session, or its exemption withdrawn by `requireStepUpForUserTokens`) has no session
 * to add the assertion to: the ceremony then carries a hand-off target (loopback
 * listener of the CLI + PKCE challenge), and a valid assertion starts a new session,
 * minted by the token (its child in the lineage: it ends with the token), with the
 * token's methods, `api-token` and `webauthn`, whose tokens only the client holding the
 * verifier can collect.
 */
export async function beginStepUp(deps: ServiceDeps, gate: Gate, caller: Caller, input: { handoff?: HandoffTarget } = {}) {
  const identity = identityOf(deps);
  let purpose = 'step-up';
  let handoff: HandoffTarget | undefined;
  if (caller.sessionId === undefined) {
    // INVARIANT: only a user whose token is not exempt from step-up (minted by a session, or exemption withdrawn) may turn it into a session
    const methods = caller.context.mfa.methods;
    const exempt = methods.includes('token') && !methods.includes(STEP_UP_ENFORCED);
    if (caller.subject.principal.kind !== 'user' || exempt) throw new ForbiddenError('step-up needs a login session, not an API token');
    if (input.handoff === undefined) throw new ValidationError('step-up with an API token needs a hand-off target (use `coffer step-up`)');
    handoff = checkHandoffTarget(deps, input.handoff);
    purpose = 'token-step-up';
  }
  const permit = await selfPermit(gate, caller, purpose === 'step-up' ? 'step-up-begin' : 'token-step-up-begin');
  // the session a token step-up starts is minted by the token (its parent in the lineage)
  const r = await identity.webauthn.beginAuthentication(caller.subject.principal, caller.sessionId ?? null, purpose, deps.clock(), handoff === undefined ? {} : { handoff: { ...handoff }, parentId: caller.credentialId });
  await permit.finish('success');
  const url = identity.publicUrl === null ? null : `${identity.publicUrl}/login/#ceremony=${encodeURIComponent(r.ceremonyId)}`;
  return { ...r, url };
}

/**
 * Finishes a step-up ceremony (from the browser): records `webauthn` on the bound
 * session, or (API-token step-up) starts a session and answers the hand-off redirect.
 */
export async function finishStepUp(deps: ServiceDeps, meta: RequestMeta, input: { ceremonyId: string; response: unknown }): Promise<{ sessionId: string; mfa: { methods: string[]; ageSeconds: number }; redirect?: string }> {
  const identity = identityOf(deps);
  const now = deps.clock();
  const done = await throttledAssertion(deps, meta, input.ceremonyId, () => identity.webauthn.finishAuthentication(input.ceremonyId, input.response, now), (err) =>
    recordEvent(deps, meta, { actor: null, action: 'step-up', resource: 'coffer', allowed: false, outcome: 'denied', reason: (err as { code?: string }).code ?? 'error' }),
  );
  const principal = await deps.store.getPrincipal(done.principalId);
  if (done.purpose === 'token-step-up') {
    const target = done.extra.handoff as HandoffTarget | undefined;
    if (principal === null || principal.disabled || principal.kind !== 'user' || target === undefined) throw new InvalidCredentialsError('security key verification failed');
    const parentId = typeof done.extra.parentId === 'string' ? done.extra.parentId : null;
    if (parentId === null) throw new InvalidCredentialsError('security key verification failed');
    // the token's lineage, with `token` renamed so the new session is not exempt from step-up, plus the key just used
    const terms = await identity.lineage.terms(parentId, now, principal.id);
    if (terms.parent.principalId !== principal.id) throw new InvalidCredentialsError('security key verification failed');
    const methods: Record<string, number> = { [API_TOKEN_METHOD]: terms.parent.createdAt };
    for (const [m, at] of Object.entries(terms.methods)) if (m !== 'token') methods[m] = at;
    methods.webauthn = now;
    const tokens = await startSession(deps, meta, principal, methods, { parentId });
    await recordEvent(deps, meta, { actor: principal, action: 'step-up', resource: `session/${tokens.sessionId}`, allowed: true, outcome: 'success', details: { method: 'webauthn', from: 'api-token', parentId } });
    return { sessionId: tokens.sessionId, mfa: mfaOf(methods, now, now), redirect: await createHandoff(deps, tokens.sessionId, target) };
  }
  if (done.purpose !== 'step-up' || done.sessionId === null) throw new InvalidCredentialsError('security key verification failed');
  await recordEvent(deps, meta, { actor: principal, action: 'step-up', resource: `session/${done.sessionId}`, allowed: true, outcome: 'success', details: { method: 'webauthn' } });
  await identity.sessions.addMethod(done.sessionId, 'webauthn', now);
  const credential = await identity.lineage.store.get(done.sessionId);
  return { sessionId: done.sessionId, mfa: credential === null ? { methods: [], ageSeconds: 0 } : mfaOf(credential.methods, now, credential.createdAt) };
}
