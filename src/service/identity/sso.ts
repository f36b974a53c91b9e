import { randomBytes } from 'node:crypto';
import { InvalidCredentialsError, NotFoundError, ValidationError, isCofferError } from '../../domain/errors.js';
import { ID_PREFIX, newId } from '../../domain/ids.js';
import type { Principal } from '../../domain/types.js';
import { principalNameFor } from '../../identity/scim-protocol.js';
import type { SsoProviderConfig } from '../../identity/oidc-client.js';
import type { Caller } from '../caller.js';
import type { RequestMeta, ServiceDeps } from '../deps.js';
import type { Gate } from '../gate.js';
import { SYSTEM, identityOf, recordEvent } from './audit.js';
import { checkHandoffTarget, createHandoff } from './handoff.js';
import type { HandoffTarget } from './handoff.js';
import { startSession } from './login.js';

const STATE_MS = 10 * 60_000;

/** The callback path registered with identity providers. */
export const SSO_CALLBACK_PATH = '/v1/auth/sso/callback';

function callbackUrl(deps: ServiceDeps): string {
  const base = identityOf(deps).publicUrl;
  if (base === null) throw new ValidationError('single sign-on needs the server public URL (config publicUrl)');
  return `${base}${SSO_CALLBACK_PATH}`;
}

/** Configures an OpenID provider (`manage-principals`); the client secret is sealed at rest. */
export async function putSsoProvider(deps: ServiceDeps, gate: Gate, caller: Caller, input: SsoProviderConfig & { clientSecret: string }): Promise<SsoProviderConfig & { redirectUri: string }> {
  const { clientSecret, ...config } = input;
  for (const group of Object.values(config.groupMap)) {
    const g = await deps.store.getPrincipalByName(group);
    if (g === null || g.kind !== 'group') throw new ValidationError(`\`${group}\` is not a Coffer group`);
  }
  try {
    new URL(config.issuer);
  } catch {
    throw new ValidationError('issuer must be a URL');
  }
  const permit = await gate.enter(caller, 'manage-principals', SYSTEM, `sso-provider/${config.name}`, null, { issuer: config.issuer, groups: Object.keys(config.groupMap).length });
  const identity = identityOf(deps);
  await identity.identityStore.putProvider({ kind: 'sso', name: config.name, config: config, sealedSecret: identity.box.seal(`sso:${config.name}`, Buffer.from(clientSecret)), updatedAt: deps.clock() });
  await permit.finish('success');
  return { ...config, redirectUri: callbackUrl(deps) };
}

/** Configured providers (names and settings, never secrets); public so the login page can list them. */
export async function listSsoProviders(deps: ServiceDeps): Promise<{ name: string; issuer: string }[]> {
  return (await identityOf(deps).identityStore.listProviders('sso')).map((p) => ({ name: p.name, issuer: String(p.config.issuer) }));
}

async function provider(deps: ServiceDeps, name: string) {
  const identity = identityOf(deps);
  const p = await identity.identityStore.getProvider('sso', name.slice(0, 63));
  if (p === null || p.sealedSecret === null) throw new NotFoundError(`identity provider \`${name.slice(0, 63)}\` not found`);
  const secret = identity.box.open(`sso:${p.name}`, p.sealedSecret).toString('utf8');
  return { config: p.config as unknown as SsoProviderConfig, secret, version: p.updatedAt };
}

/**
 * Starts browser sign-in: a state ticket (PKCE verifier sealed, nonce, where to hand the
 * session to) and the provider's authorization URL to redirect to.
 */
export async function startSso(deps: ServiceDeps, name: string, handoff: HandoffTarget): Promise<string> {
  const target = checkHandoffTarget(deps, handoff);
  const identity = identityOf(deps);
  const { config, secret, version } = await provider(deps, name);
  const begun = await identity.oidc.begin(config, secret, version, callbackUrl(deps));
  const now = deps.clock();
  await identity.identityStore.createTicket({
    id: `sso:${begun.state}`,
    kind: 'sso-state',
    principalId: null,
    sessionId: null,
    data: { provider: config.name, nonce: begun.nonce, verifier: identity.box.seal(`sso-state:${begun.state}`, Buffer.from(begun.codeVerifier)).toString('base64'), handoff: target },
    expiresAt: now + STATE_MS,
    consumedAt: null,
  });
  return begun.url;
}

/**
 * The provider redirected back: one-time state, code exchange (PKCE, nonce, ID token
 * checks), then the Coffer user linked to (issuer, subject), created at first sign-in,
 * and its mapped groups synchronized from the groups claim. Hands the new session to the
 * waiting client; returns the redirect.
 */
export async function finishSso(deps: ServiceDeps, meta: RequestMeta, query: string): Promise<string> {
  const identity = identityOf(deps);
  const now = deps.clock();
  // the redirect URI registered with the provider, with the parameters it sent back
  const callback = new URL(callbackUrl(deps));
  callback.search = query;
  const state = callback.searchParams.get('state') ?? '';
  const t = await identity.identityStore.consumeTicket(`sso:${state.slice(0, 200)}`, 'sso-state', now);
  try {
    if (t === null) throw new InvalidCredentialsError('single sign-on failed', { detail: 'unknown or used state' });
    const { config, secret, version } = await provider(deps, String(t.data.provider));
    const verifier = identity.box.open(`sso-state:${state}`, Buffer.from(String(t.data.verifier), 'base64')).toString('utf8');
    const who = await identity.oidc.finish(config, secret, version, callback, { codeVerifier: verifier, state, nonce: String(t.data.nonce) });
    const principal = await linkedUser(deps, who, now);
    if (principal.disabled) throw new InvalidCredentialsError('single sign-on failed', { detail: 'account disabled' });
    const synced = await syncGroups(deps, principal, config, who.groups);
    const tokens = await startSession(deps, meta, principal, { sso: now }, { origin: `sso:${config.name}` });
    await recordEvent(deps, meta, { actor: principal, action: 'sso-login', resource: `principal/${principal.name}`, allowed: true, outcome: 'success', details: { provider: config.name, subject: who.subject.slice(0, 200), ...synced } });
    return createHandoff(deps, tokens.sessionId, t.data.handoff as HandoffTarget);
  } catch (err) {
    await recordEvent(deps, meta, { actor: null, action: 'sso-login', resource: 'coffer', allowed: false, outcome: 'denied', reason: isCofferError(err) ? err.code : 'error', details: { detail: isCofferError(err) ? err.detail : undefined } });
    throw err;
  }
}

async function linkedUser(deps: ServiceDeps, who: { issuer: string; subject: string; username: string; displayName: string }, now: number): Promise<Principal> {
  const store = identityOf(deps).identityStore;
  const id = await store.getExternalPrincipal(who.issuer, who.subject);
  if (id !== null) {
    const p = await deps.store.getPrincipal(id);
    if (p !== null) return p;
  }
  // first sign-in: a new user, never an existing account matched by name (that would let the provider take it over)
  const base = principalNameFor(who.username);
  let name = base;
  for (let i = 2; (await deps.store.getPrincipalByName(name)) !== null; i++) name = `${base}-${i}`;
  const p: Principal = { id: newId(ID_PREFIX.principal), kind: 'user', name, displayName: who.displayName.slice(0, 200), ownerId: null, disabled: false, createdAt: now };
  await deps.store.createPrincipal(p);
  await store.linkExternal(who.issuer, who.subject, p.id);
  return p;
}

/** Mapped groups follow the provider: added when the claim has them, removed when it does not. */
async function syncGroups(deps: ServiceDeps, principal: Principal, config: SsoProviderConfig, groups: string[]): Promise<{ added: string[]; removed: string[] }> {
  const added: string[] = [];
  const removed: string[] = [];
  const current = new Set(await deps.store.listGroupsOf(principal.id));
  for (const [idpGroup, cofferGroup] of Object.entries(config.groupMap)) {
    const g = await deps.store.getPrincipalByName(cofferGroup);
    if (g === null || g.kind !== 'group') continue;
    const member = current.has(g.id);
    if (groups.includes(idpGroup) && !member) {
      await deps.store.addMember(g.id, principal.id);
      added.push(cofferGroup);
    } else if (!groups.includes(idpGroup) && member && !Object.entries(config.groupMap).some(([other, cg]) => cg === cofferGroup && groups.includes(other))) {
      await deps.store.removeMember(g.id, principal.id);
      removed.push(cofferGroup);
    }
  }
  return { added, removed };
}

/** A fresh random value for tests and callers that need one. */
export function randomHandoffVerifier(): string {
  return randomBytes(32).toString('base64url');
}
