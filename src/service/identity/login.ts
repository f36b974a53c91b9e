import { createHash, randomBytes } from 'node:crypto';
import { InvalidCredentialsError, TokenInvalidError, isCofferError } from '../../domain/errors.js';
import type { Principal } from '../../domain/types.js';
import { looksLikeJwt } from '../../identity/access-token.js';
import { verifyPassword } from '../../identity/password-hash.js';
import { hashRecoveryCode, isRecoveryCodeShape } from '../../identity/recovery-codes.js';
import type { SessionOrigin, TokenSet } from '../../identity/sessions.js';
import { matchTotp } from '../../identity/totp.js';
import { hashToken, parseToken } from '../../identity/token-format.js';
import type { SessionMethods } from '../../store/identity-store.js';
import type { RequestMeta, ServiceDeps } from '../deps.js';
import { identityOf, recordEvent, recordMinted } from './audit.js';
import { checkHandoffTarget, createHandoff } from './handoff.js';
import type { HandoffTarget } from './handoff.js';

/** Second factors a login can continue with. */
export type SecondFactor = 'totp' | 'webauthn' | 'recovery-code';

/** What a first login step answers. */
export type LoginResult =
  | ({ status: 'authenticated' } & TokenSet)
  | { status: 'mfa-required'; ticket: string; methods: SecondFactor[] }
  /** A browser login handed to the CLI (or a page): follow `redirect`. */
  | { status: 'handoff'; redirect: string };

const MFA_TICKET_MS = 5 * 60_000;

function ticketId(secret: string): string {
  return createHash('sha256').update(`coffer-mfa:${secret}`).digest('hex');
}

/**
 * Password login. Reserves the attempt with the throttle first (atomically, on every
 * node: a burst gets at most the free attempts verified), then checks the password
 * against its argon2id hash (a dummy hash for unknown names, so timing and the answer
 * are the same for a wrong name, a wrong password, a service account or a disabled
 * account). An account with a second factor gets a one-time MFA ticket (5 minutes)
 * instead of tokens. A failure is recorded with no actor: whoever tried is unknown, and
 * the account tried is a field (`context.target`), so no detector blames the victim.
 */
export async function passwordLogin(deps: ServiceDeps, meta: RequestMeta, input: { name: string; password: string }): Promise<LoginResult> {
  const identity = identityOf(deps);
  const now = deps.clock();
  const target = input.name.slice(0, 63);
  let reserved;
  try {
    reserved = await identity.throttle.reservePassword(input.name, meta.sourceIp, now);
  } catch (err) {
    await failedLogin(deps, meta, target, isCofferError(err) ? err.code : 'error', { method: 'password' });
    throw err;
  }
  const principal = await deps.store.getPrincipalByName(input.name);
  const hash = principal !== null && principal.kind === 'user' ? await identity.identityStore.getPasswordHash(principal.id) : null;
  const ok = await verifyPassword(hash, input.password);
  if (!ok || principal === null || principal.kind !== 'user' || principal.disabled) {
    // the attempt stays counted (it was reserved before the password was checked)
    await failedLogin(deps, meta, target, 'COFFER_AUTH_INVALID_CREDENTIALS', { method: 'password', ...(principal?.disabled ? { disabled: true } : {}) });
    throw new InvalidCredentialsError();
  }
  // INVARIANT: a correct password clears the account's password counter only, never the second-factor one
  await identity.throttle.succeeded(reserved);
  const factors = await secondFactors(deps, principal);
  if (factors.length === 0) return { status: 'authenticated', ...(await startSession(deps, meta, principal, { password: now })) };
  const secret = `mfa_${randomBytes(24).toString('base64url')}`;
  await identity.identityStore.createTicket({ id: ticketId(secret), kind: 'mfa', principalId: principal.id, sessionId: null, data: { methods: { password: now } }, expiresAt: now + MFA_TICKET_MS, consumedAt: null });
  await recordEvent(deps, meta, { actor: principal, action: 'login', resource: `principal/${principal.name}`, allowed: true, outcome: 'attempt', details: { method: 'password', next: factors } });
  return { status: 'mfa-required', ticket: secret, methods: factors };
}

/**
 * Records a failed authentication step. INVARIANT: the actor is null (an outsider can
 * type anyone's name); the account tried is `context.target`, so the monitor counts the
 * failure against the source address, never against the victim.
 */
export async function failedLogin(deps: ServiceDeps, meta: RequestMeta, target: string | null, reason: string, details: Record<string, unknown> = {}): Promise<void> {
  await recordEvent(deps, meta, { actor: null, action: 'login', resource: 'coffer', allowed: false, outcome: 'denied', reason, details: { ...(target !== null ? { target } : {}), ...details } });
}

/** The second factors a user has set up. */
export async function secondFactors(deps: ServiceDeps, principal: Principal): Promise<SecondFactor[]> {
  const store = identityOf(deps).identityStore;
  const out: SecondFactor[] = [];
  if ((await store.getTotp(principal.id))?.confirmed) out.push('totp');
  if ((await store.listWebAuthnCredentials(principal.id)).length > 0) out.push('webauthn');
  if (out.length > 0 && (await store.countRecoveryCodes(principal.id)) > 0) out.push('recovery-code');
  return out;
}

/**
 * Second step with a TOTP or recovery code. The ticket is spent by any attempt, right
 * or wrong, so each guess costs a new password check; and every guess is reserved with
 * the principal's second-factor throttle first, which only a successful second factor
 * clears (never the correct password that got the ticket).
 */
export async function completeMfa(deps: ServiceDeps, meta: RequestMeta, input: { ticket: string; code: string }): Promise<LoginResult> {
  const identity = identityOf(deps);
  const now = deps.clock();
  const t = await identity.identityStore.consumeTicket(ticketId(input.ticket), 'mfa', now);
  const principal = t?.principalId ? await deps.store.getPrincipal(t.principalId) : null;
  if (t === null || principal === null || principal.disabled) {
    await failedLogin(deps, meta, principal?.name ?? null, 'COFFER_AUTH_INVALID_CREDENTIALS', { method: 'mfa', ticket: 'unknown-or-used' });
    throw new InvalidCredentialsError();
  }
  let reserved;
  try {
    reserved = await identity.throttle.reserveSecondFactor(principal.id, meta.sourceIp, now);
  } catch (err) {
    await failedLogin(deps, meta, principal.name, isCofferError(err) ? err.code : 'error', { method: 'mfa' });
    throw err;
  }
  let method: string | null = null;
  if (isRecoveryCodeShape(input.code)) {
    if (await identity.identityStore.useRecoveryCode(principal.id, hashRecoveryCode(input.code), now)) method = 'recovery-code';
  } else {
    const totp = await identity.identityStore.getTotp(principal.id);
    if (totp?.confirmed) {
      const secret = identity.box.open(`totp:${principal.id}`, totp.sealedSecret);
      const step = matchTotp(secret, input.code.trim(), now);
      secret.fill(0);
      // INVARIANT: a TOTP code is accepted once (its step must be later than the last accepted one)
      if (step !== null && (await identity.identityStore.advanceTotpStep(principal.id, step))) method = 'totp';
    }
  }
  if (method === null) {
    await failedLogin(deps, meta, principal.name, 'COFFER_AUTH_INVALID_CREDENTIALS', { method: 'mfa' });
    throw new InvalidCredentialsError();
  }
  await identity.throttle.succeeded(reserved);
  const methods = { ...(t.data.methods as SessionMethods), [method]: now };
  return { status: 'authenticated', ...(await startSession(deps, meta, principal, methods)) };
}

/**
 * Runs a security-key verification under the second-factor throttle of the ceremony's
 * principal (read before verifying): blocked principals are refused before any check,
 * failures stay counted, a success clears the counter. `failure` records the refusal.
 */
export async function throttledAssertion<T>(deps: ServiceDeps, meta: RequestMeta, ceremonyId: string, verify: () => Promise<T>, failure: (err: unknown) => Promise<void>): Promise<T> {
  const identity = identityOf(deps);
  const now = deps.clock();
  const ceremony = await identity.identityStore.peekTicket(ceremonyId.slice(0, 200), 'webauthn-auth', now);
  let reserved = null;
  try {
    if (ceremony?.principalId) reserved = await identity.throttle.reserveSecondFactor(ceremony.principalId, meta.sourceIp, now);
    const done = await verify();
    if (reserved !== null) await identity.throttle.succeeded(reserved);
    return done;
  } catch (err) {
    await failure(err);
    throw err;
  }
}

/** Starts a WebAuthn second step for an MFA ticket (the ticket stays valid until it finishes). */
export async function beginWebAuthnLogin(deps: ServiceDeps, input: { ticket: string }) {
  const identity = identityOf(deps);
  const now = deps.clock();
  const t = await identity.identityStore.peekTicket(ticketId(input.ticket), 'mfa', now);
  const principal = t?.principalId ? await deps.store.getPrincipal(t.principalId) : null;
  if (t === null || principal === null) throw new InvalidCredentialsError();
  return identity.webauthn.beginAuthentication(principal, null, `login:${t.id}`, now);
}

/** Finishes a WebAuthn login step: the assertion, then the MFA ticket it belongs to. */
export async function finishWebAuthnLogin(deps: ServiceDeps, meta: RequestMeta, input: { ceremonyId: string; response: unknown; handoff?: HandoffTarget }): Promise<LoginResult> {
  const identity = identityOf(deps);
  const now = deps.clock();
  const handoff = input.handoff === undefined ? undefined : checkHandoffTarget(deps, input.handoff);
  const done = await throttledAssertion(deps, meta, input.ceremonyId, () => identity.webauthn.finishAuthentication(input.ceremonyId, input.response, now), (err) =>
    failedLogin(deps, meta, null, isCofferError(err) ? err.code : 'error', { method: 'webauthn', detail: isCofferError(err) ? err.detail : undefined }),
  );
  if (!done.purpose.startsWith('login:')) throw new InvalidCredentialsError();
  const t = await identity.identityStore.consumeTicket(done.purpose.slice('login:'.length), 'mfa', now);
  const principal = await deps.store.getPrincipal(done.principalId);
  if (t === null || t.principalId !== done.principalId || principal === null || principal.disabled) throw new InvalidCredentialsError();
  const tokens = await startSession(deps, meta, principal, { ...(t.data.methods as SessionMethods), webauthn: now });
  if (handoff !== undefined) return { status: 'handoff', redirect: await createHandoff(deps, tokens.sessionId, handoff) };
  return { status: 'authenticated', ...tokens };
}

/**
 * Starts an interactive session (recorded before the tokens are handed out): a root of
 * the lineage (`origin`: what authenticated it), or minted by another credential
 * (`parentId`: an API token that stepped up).
 */
export async function startSession(deps: ServiceDeps, meta: RequestMeta, principal: Principal, methods: SessionMethods, from: SessionOrigin = { origin: 'login' }): Promise<TokenSet> {
  const identity = identityOf(deps);
  const now = deps.clock();
  const tokens = await identity.sessions.start(principal, { kind: 'interactive', methods, now, sourceIp: meta.sourceIp, userAgent: meta.userAgent, ...from });
  await recordEvent(deps, meta, { actor: principal, action: 'login', resource: `principal/${principal.name}`, allowed: true, outcome: 'success', details: { methods: Object.keys(methods).sort(), sessionId: tokens.sessionId, ...from } });
  return tokens;
}

/** Rotates a refresh token (reuse revokes the session and is recorded). */
export async function refresh(deps: ServiceDeps, meta: RequestMeta, refreshToken: string): Promise<TokenSet> {
  const identity = identityOf(deps);
  let tokens: TokenSet;
  try {
    tokens = await identity.sessions.refresh(refreshToken, deps.clock());
  } catch (err) {
    await recordEvent(deps, meta, { actor: null, action: 'refresh', resource: 'coffer', allowed: false, outcome: 'denied', reason: isCofferError(err) ? err.code : 'error' });
    throw err;
  }
  // fail closed: tokens are handed out only once their minting is on record
  await recordMinted(deps, meta, 'refresh', tokens.sessionId);
  return tokens;
}


/**
 * Revokes a token (RFC 7009 style, no authentication needed: holding a token is the
 * right to revoke it): an access token (its `jti`), a refresh token (its whole session)
 * or an API token; what a session or token minted goes with it. Unknown tokens are ignored, as RFC 7009 asks.
 */
export async function revokePresentedToken(deps: ServiceDeps, meta: RequestMeta, token: string): Promise<void> {
  const identity = identityOf(deps);
  const now = deps.clock();
  if (looksLikeJwt(token)) {
    try {
      const { claims, principal } = await identity.sessions.verify(token, now);
      await recordEvent(deps, meta, { actor: principal, action: 'revoke-token', resource: `session/${claims.sid}`, allowed: true, outcome: 'success', details: { jti: claims.jti } });
      await identity.sessions.revokeAccessToken(claims);
    } catch (err) {
      if (!(err instanceof TokenInvalidError) && !isCofferError(err)) throw err;
    }
    return;
  }
  if (parseToken(token) === 'refresh') {
    const use = await identity.identityStore.useRefreshToken(hashToken(token), now);
    if (use.status !== 'unknown') {
      await recordEvent(deps, meta, { actor: null, action: 'revoke-token', resource: `session/${use.sessionId}`, allowed: true, outcome: 'success', details: { kind: 'refresh' } });
      await identity.lineage.revoke({ ids: [use.sessionId] }, now, 'revoked-by-holder');
    }
    return;
  }
  if (parseToken(token) === 'pat') {
    const t = await deps.store.getTokenByHash(hashToken(token));
    if (t !== null) {
      await recordEvent(deps, meta, { actor: null, action: 'revoke-token', resource: `token/${t.id}`, allowed: true, outcome: 'success', details: { kind: 'pat', hint: t.hint } });
      await identity.lineage.revoke({ ids: [t.id] }, now, 'revoked-by-holder');
    }
  }
}
