import type { Caller } from '../caller.js';
import type { RequestMeta, ServiceDeps } from '../deps.js';
import type { Gate } from '../gate.js';
import * as accounts from './accounts.js';
import { identityOf } from './audit.js';
import * as factors from './factors.js';
import * as handoff from './handoff.js';
import * as login from './login.js';
import * as serviceTokens from './service-tokens.js';
import * as scim from './scim.js';
import * as signingKeys from './signing-keys.js';
import * as devices from './devices.js';
import * as enrollment from './enrollment.js';
import * as sso from './sso.js';
import type { SsoProviderConfig } from '../../identity/oidc-client.js';
import type { WorkloadIssuer } from '../../identity/workload-trust.js';
import type { JWK } from 'jose';

/**
 * Identity use cases (login, sessions, factors, accounts), each running
 * authenticate -> authorize -> audit -> act like the core ones; unauthenticated flows
 * (login, refresh, hand-off, step-up completion) record their events themselves.
 */
export class IdentityService {
  constructor(
    readonly deps: ServiceDeps,
    readonly gate: Gate,
  ) {}

  /** The JWKS of access-token signing keys. */
  jwks() {
    return identityOf(this.deps).jwks(this.deps.clock());
  }

  login(meta: RequestMeta, input: { name: string; password: string }) {
    return login.passwordLogin(this.deps, meta, input);
  }
  loginMfa(meta: RequestMeta, input: { ticket: string; code: string }) {
    return login.completeMfa(this.deps, meta, input);
  }
  loginWebAuthnBegin(input: { ticket: string }) {
    return login.beginWebAuthnLogin(this.deps, input);
  }
  loginWebAuthnFinish(meta: RequestMeta, input: { ceremonyId: string; response: unknown; handoff?: handoff.HandoffTarget }) {
    return login.finishWebAuthnLogin(this.deps, meta, input);
  }
  refresh(meta: RequestMeta, refreshToken: string) {
    return login.refresh(this.deps, meta, refreshToken);
  }
  revokePresented(meta: RequestMeta, token: string) {
    return login.revokePresentedToken(this.deps, meta, token);
  }
  exchangeHandoff(meta: RequestMeta, code: string, verifier: string) {
    return handoff.exchangeHandoff(this.deps, meta, code, verifier);
  }
  /** Options of a pending WebAuthn ceremony (for the browser page). */
  ceremony(id: string) {
    return identityOf(this.deps).webauthn.ceremony(id, this.deps.clock());
  }
  stepUpFinish(meta: RequestMeta, input: { ceremonyId: string; response: unknown }) {
    return factors.finishStepUp(this.deps, meta, input);
  }
  token(meta: RequestMeta, req: serviceTokens.TokenRequest) {
    return serviceTokens.tokenEndpoint(this.deps, meta, req);
  }
  enroll(meta: RequestMeta, input: { ticket: string; password: string }) {
    return enrollment.enrollWithTicket(this.deps, meta, input);
  }

  // ---- authenticated ----
  session(caller: Caller) {
    return accounts.currentSession(this.deps, this.gate, caller);
  }
  sessions(caller: Caller, principal?: string) {
    return accounts.listSessions(this.deps, this.gate, caller, principal);
  }
  revokeSession(caller: Caller, id: string) {
    return accounts.revokeSession(this.deps, this.gate, caller, id);
  }
  revokeAllSessions(caller: Caller, input: { principal?: string; tokens?: boolean }) {
    return accounts.revokeAllSessions(this.deps, this.gate, caller, input);
  }
  logout(caller: Caller) {
    return accounts.revokeSession(this.deps, this.gate, caller, accounts.requireSession(caller));
  }
  issueEnrollmentTicket(caller: Caller, name: string, input: { ttlSeconds?: number }) {
    return enrollment.issueEnrollmentTicket(this.deps, this.gate, caller, name, input);
  }
  setPassword(caller: Caller, input: { principal?: string; password: string; currentPassword?: string }) {
    return accounts.setPassword(this.deps, this.gate, caller, input);
  }
  deletePrincipal(caller: Caller, name: string) {
    return accounts.deletePrincipal(this.deps, this.gate, caller, name);
  }
  totpEnroll(caller: Caller) {
    return factors.enrollTotp(this.deps, this.gate, caller);
  }
  totpConfirm(caller: Caller, code: string) {
    return factors.confirmTotp(this.deps, this.gate, caller, code);
  }
  totpDisable(caller: Caller) {
    return factors.disableTotp(this.deps, this.gate, caller);
  }
  recoveryCodes(caller: Caller) {
    return factors.regenerateRecoveryCodes(this.deps, this.gate, caller);
  }
  webauthnRegisterBegin(caller: Caller) {
    return factors.beginWebAuthnRegistration(this.deps, this.gate, caller);
  }
  webauthnRegisterFinish(caller: Caller, input: { ceremonyId: string; response: unknown; name?: string }) {
    return factors.finishWebAuthnRegistration(this.deps, this.gate, caller, input);
  }
  webauthnList(caller: Caller) {
    return factors.listWebAuthn(this.deps, this.gate, caller);
  }
  webauthnDelete(caller: Caller, id: string) {
    return factors.deleteWebAuthn(this.deps, this.gate, caller, id);
  }
  stepUpBegin(caller: Caller, input: { handoff?: { redirect: string; challenge: string } } = {}) {
    return factors.beginStepUp(this.deps, this.gate, caller, input);
  }
  addClientKey(caller: Caller, name: string, jwk: JWK) {
    return serviceTokens.addClientKey(this.deps, this.gate, caller, name, jwk);
  }
  listClientKeys(caller: Caller, name: string) {
    return serviceTokens.listClientKeys(this.deps, this.gate, caller, name);
  }
  revokeClientKey(caller: Caller, name: string, kid: string) {
    return serviceTokens.revokeClientKey(this.deps, this.gate, caller, name, kid);
  }
  putWorkloadIssuer(caller: Caller, input: WorkloadIssuer) {
    return serviceTokens.putWorkloadIssuer(this.deps, this.gate, caller, input);
  }
  listWorkloadIssuers(caller: Caller) {
    return serviceTokens.listWorkloadIssuers(this.deps, this.gate, caller);
  }
  deleteWorkloadIssuer(caller: Caller, name: string) {
    return serviceTokens.deleteWorkloadIssuer(this.deps, this.gate, caller, name);
  }
  createScimToken(caller: Caller) {
    return scim.createScimToken(this.deps, this.gate, caller);
  }
  listScimTokens(caller: Caller) {
    return scim.listScimTokens(this.deps, this.gate, caller);
  }
  revokeScimToken(caller: Caller, id: string) {
    return scim.revokeScimToken(this.deps, this.gate, caller, id);
  }
  enrolDevice(caller: Caller, input: { name: string; publicKey: unknown }) {
    return devices.enrolDevice(this.deps, this.gate, caller, input);
  }
  listDevices(caller: Caller, all: boolean) {
    return devices.listDevices(this.deps, this.gate, caller, all);
  }
  decideDevice(caller: Caller, id: string, verb: 'approve' | 'reject' | 'revoke') {
    return devices.decideDevice(this.deps, this.gate, caller, id, verb);
  }
  certifyDevice(caller: Caller, id: string) {
    return devices.certifyDevice(this.deps, this.gate, caller, id);
  }
  rotateSigningKey(caller: Caller, input: { retireNow: boolean }) {
    return signingKeys.rotateSigningKey(this.deps, this.gate, caller, input);
  }
  putSsoProvider(caller: Caller, input: SsoProviderConfig & { clientSecret: string }) {
    return sso.putSsoProvider(this.deps, this.gate, caller, input);
  }
  ssoProviders() {
    return sso.listSsoProviders(this.deps);
  }
  ssoStart(name: string, handoff: { redirect: string; challenge: string }) {
    return sso.startSso(this.deps, name, handoff);
  }
  ssoFinish(meta: RequestMeta, callback: string) {
    return sso.finishSso(this.deps, meta, callback);
  }
}
