import type { JWK } from 'jose';
import { NotFoundError, TokenInvalidError, ValidationError, isCofferError } from '../../domain/errors.js';
import type { Principal } from '../../domain/types.js';
import { algorithmOf, keyIdOf, verifyClientAssertion } from '../../identity/client-assertion.js';
import { checkWorkloadIssuer } from '../../identity/workload-trust.js';
import type { WorkloadIssuer } from '../../identity/workload-trust.js';
import type { Caller } from '../caller.js';
import type { RequestMeta, ServiceDeps } from '../deps.js';
import type { Gate } from '../gate.js';
import { SYSTEM, identityOf, recordEvent } from './audit.js';

export const CLIENT_ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
export const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const ID_TOKEN_TYPES = ['urn:ietf:params:oauth:token-type:id_token', 'urn:ietf:params:oauth:token-type:jwt'];

/** Parameters of the token endpoint (form or JSON), as OAuth names them. */
export interface TokenRequest {
  grant_type: string;
  client_id?: string;
  client_assertion_type?: string;
  client_assertion?: string;
  subject_token?: string;
  subject_token_type?: string;
  /** Requested lifetime in seconds (capped by the configuration, and always at most 1 hour). */
  expires_in?: string | number;
}

/** What the token endpoint answers (RFC 6749 field names). */
export interface TokenResponse {
  access_token: string;
  token_type: 'Bearer';
  expires_in: number;
  issued_token_type?: string;
}

async function serviceAccount(deps: ServiceDeps, name: string): Promise<Principal> {
  const p = await deps.store.getPrincipalByName(name);
  if (p === null || p.kind !== 'service-account') throw new NotFoundError(`service account \`${name}\` not found`);
  return p;
}

/** Registers a public key a service account signs its token requests with (`manage-principals`). */
export async function addClientKey(deps: ServiceDeps, gate: Gate, caller: Caller, name: string, jwk: JWK): Promise<{ kid: string; alg: string }> {
  await gate.checkFirst(caller, 'manage-principals', `principal/${name}/keys`, { op: 'add-key' });
  const sa = await serviceAccount(deps, name);
  const alg = algorithmOf(jwk);
  const kid = await keyIdOf(jwk);
  const permit = await gate.enter(caller, 'manage-principals', SYSTEM, `principal/${name}/keys`, null, { op: 'add-key', kid });
  const publicJwk = Object.fromEntries(Object.entries(jwk).filter(([k]) => ['kty', 'crv', 'x', 'y', 'n', 'e'].includes(k)));
  try {
    await identityOf(deps).identityStore.addClientKey({ kid, principalId: sa.id, jwk: JSON.stringify(publicJwk), createdAt: deps.clock(), revokedAt: null });
  } catch (err) {
    await permit.finish('failure', { reason: isCofferError(err) ? err.code : 'error' });
    throw err;
  }
  await permit.finish('success');
  return { kid, alg };
}

/** Keys of a service account (`manage-principals`). */
export async function listClientKeys(deps: ServiceDeps, gate: Gate, caller: Caller, name: string) {
  await gate.checkFirst(caller, 'manage-principals', `principal/${name}/keys`, { op: 'list-keys' });
  const sa = await serviceAccount(deps, name);
  const permit = await gate.enter(caller, 'manage-principals', SYSTEM, `principal/${name}/keys`, null, { op: 'list-keys' });
  const keys = await identityOf(deps).identityStore.listClientKeys(sa.id);
  await permit.finish('success');
  return keys.map((k) => ({ kid: k.kid, jwk: JSON.parse(k.jwk) as JWK, createdAt: new Date(k.createdAt).toISOString(), revokedAt: k.revokedAt === null ? null : new Date(k.revokedAt).toISOString() }));
}

/** Revokes a service account key (`manage-principals`) and the sessions it obtained (and what they minted), at once. */
export async function revokeClientKey(deps: ServiceDeps, gate: Gate, caller: Caller, name: string, kid: string): Promise<void> {
  await gate.checkFirst(caller, 'manage-principals', `principal/${name}/keys`, { op: 'revoke-key', kid });
  const sa = await serviceAccount(deps, name);
  const permit = await gate.enter(caller, 'manage-principals', SYSTEM, `principal/${name}/keys`, null, { op: 'revoke-key', kid });
  const store = identityOf(deps).identityStore;
  const key = await store.getClientKey(kid);
  const now = deps.clock();
  if (key === null || key.principalId !== sa.id || !(await store.revokeClientKey(kid, now))) {
    await permit.finish('failure', { reason: 'COFFER_NOT_FOUND' });
    throw new NotFoundError(`key \`${kid.slice(0, 64)}\` not found`);
  }
  const revoked = await identityOf(deps).lineage.revoke({ origin: `client-key:${kid}` }, now, 'client-key-revoked');
  await permit.finish('success', { details: { sessionsRevoked: revoked.session } });
}

/** Trusts a workload issuer (CI OIDC) with its bindings to service accounts (`manage-principals`). */
export async function putWorkloadIssuer(deps: ServiceDeps, gate: Gate, caller: Caller, input: WorkloadIssuer): Promise<WorkloadIssuer> {
  const w = checkWorkloadIssuer(input);
  await gate.checkFirst(caller, 'manage-principals', `workload-issuer/${w.name}`, { issuer: w.issuer });
  for (const b of w.bindings) await serviceAccount(deps, b.serviceAccount);
  const permit = await gate.enter(caller, 'manage-principals', SYSTEM, `workload-issuer/${w.name}`, null, { issuer: w.issuer, bindings: w.bindings.length });
  await identityOf(deps).identityStore.putProvider({ kind: 'workload', name: w.name, config: w as unknown as Record<string, unknown>, sealedSecret: null, updatedAt: deps.clock() });
  await permit.finish('success');
  return w;
}

/** Trusted workload issuers (`manage-principals`). */
export async function listWorkloadIssuers(deps: ServiceDeps, gate: Gate, caller: Caller): Promise<WorkloadIssuer[]> {
  const permit = await gate.enter(caller, 'manage-principals', SYSTEM, 'workload-issuers', null);
  const items = await identityOf(deps).identityStore.listProviders('workload');
  await permit.finish('success');
  return items.map((p) => p.config as unknown as WorkloadIssuer);
}

/** Stops trusting a workload issuer (`manage-principals`); the sessions it vouched for end at once. */
export async function deleteWorkloadIssuer(deps: ServiceDeps, gate: Gate, caller: Caller, name: string): Promise<void> {
  const permit = await gate.enter(caller, 'manage-principals', SYSTEM, `workload-issuer/${name}`, null, { op: 'delete' });
  if (!(await identityOf(deps).identityStore.deleteProvider('workload', name))) {
    await permit.finish('failure', { reason: 'COFFER_NOT_FOUND' });
    throw new NotFoundError(`workload issuer \`${name}\` not found`);
  }
  // the sessions it vouched for end with the trust
  const revoked = await identityOf(deps).lineage.revoke({ origin: `workload:${name}` }, deps.clock(), 'workload-issuer-deleted');
  await permit.finish('success', { details: { sessionsRevoked: revoked.session } });
}

/**
 * The token endpoint for service accounts: `client_credentials` with a private_key_jwt
 * assertion, or RFC 8693 token exchange of an OIDC ID token from a trusted workload
 * issuer. Either way the answer is one access token of at most an hour, from a workload
 * session (revocable like any session); no refresh token.
 */
export async function tokenEndpoint(deps: ServiceDeps, meta: RequestMeta, req: TokenRequest): Promise<TokenResponse> {
  const identity = identityOf(deps);
  const now = deps.clock();
  const requested = req.expires_in === undefined ? undefined : Number(req.expires_in);
  if (requested !== undefined && (!Number.isSafeInteger(requested) || requested < 1)) throw new ValidationError('expires_in must be a positive integer');
  let principal: Principal;
  let method: string;
  /** The root of the session's lineage: the key or the issuer that vouched for it (revoking a key ends its sessions). */
  let origin: string;
  let details: Record<string, unknown>;
  try {
    if (req.grant_type === 'client_credentials') {
      if (req.client_assertion_type !== CLIENT_ASSERTION_TYPE || typeof req.client_assertion !== 'string') throw new ValidationError(`client_credentials needs a client_assertion of type ${CLIENT_ASSERTION_TYPE}`);
      const base = identity.publicUrl;
      const audiences = [identity.settings.issuer, ...(base === null ? [] : [`${base}/oauth/token`, `${base}/v1/auth/token`, base])];
      const { key, subject } = await verifyClientAssertion(identity.identityStore, req.client_assertion, { ...(req.client_id !== undefined ? { clientName: req.client_id } : {}), audiences, now });
      const p = await deps.store.getPrincipal(key.principalId);
      if (p === null || p.name !== subject) throw new TokenInvalidError('client assertion is not valid', { detail: 'subject is not the key owner' });
      principal = p;
      method = 'private_key_jwt';
      origin = `client-key:${key.kid}`;
      details = { kid: key.kid };
    } else if (req.grant_type === TOKEN_EXCHANGE) {
      if (typeof req.subject_token !== 'string' || !ID_TOKEN_TYPES.includes(req.subject_token_type ?? '')) throw new ValidationError('token exchange needs an id_token subject_token');
      const issuers = (await identity.identityStore.listProviders('workload')).map((p) => p.config as unknown as WorkloadIssuer);
      const found = await identity.workload.verify(issuers, req.subject_token, now);
      const p = await deps.store.getPrincipalByName(found.serviceAccount);
      if (p === null || p.kind !== 'service-account') throw new TokenInvalidError('identity token matches no service account');
      principal = p;
      method = 'workload_oidc';
      origin = `workload:${found.issuer.name}`;
      details = { issuer: found.issuer.name, sub: String(found.claims.sub).slice(0, 200) };
    } else {
      throw new ValidationError('unsupported grant_type: use client_credentials (private_key_jwt) or token exchange');
    }
    if (principal.disabled) throw new TokenInvalidError('service account is disabled');
  } catch (err) {
    await recordEvent(deps, meta, { actor: null, action: 'token-exchange', resource: 'coffer', allowed: false, outcome: 'denied', reason: isCofferError(err) ? err.code : 'error', details: { grant: req.grant_type.slice(0, 80) } });
    throw err;
  }
  const tokens = await identity.sessions.start(principal, { kind: 'workload', methods: { [method]: now }, origin, now, sourceIp: meta.sourceIp, userAgent: meta.userAgent, ...(requested !== undefined ? { ttlSeconds: requested } : {}) });
  await recordEvent(deps, meta, { actor: principal, action: 'token-exchange', resource: `principal/${principal.name}`, allowed: true, outcome: 'success', details: { method, sessionId: tokens.sessionId, expiresIn: tokens.expiresIn, ...details } });
  return { access_token: tokens.accessToken, token_type: 'Bearer', expires_in: tokens.expiresIn, ...(req.grant_type === TOKEN_EXCHANGE ? { issued_token_type: 'urn:ietf:params:oauth:token-type:access_token' } : {}) };
}
