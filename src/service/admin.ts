import { AlreadyExistsError, LongLivedTokenDisabledError, NotFoundError, ValidationError, isCofferError } from '../domain/errors.js';
import { ID_PREFIX, assertSimpleName, newId } from '../domain/ids.js';
import type { Grant, Principal, PrincipalKind, Role } from '../domain/types.js';
import { issueToken } from '../identity/issue-token.js';
import { totalRevoked } from '../identity/credential-lineage.js';
import { identityOf } from './identity/audit.js';
import { consumeSetupToken } from '../identity/setup-token.js';
import { checkPasswordPolicy } from '../identity/password-policy.js';
import { hashPassword } from '../identity/password-hash.js';
import type { ResourceRef } from '../policy/policy-engine.js';
import type { ExportedCheckpoint, VerifyResult } from '../audit/audit-event.js';
import type { RootKeyRotationResult } from '../crypto/index.js';
import type { Caller } from './caller.js';
import { auditContext } from './caller.js';
import type { RequestMeta, ServiceDeps } from './deps.js';
import type { Gate } from './gate.js';
import { findArtifact, findProject, findVersion, names, notFoundMessage } from './resources.js';
import { credentialView, grantView, principalView, tokenView } from './views.js';
import type { CredentialView, GrantView, PrincipalView, TokenView } from './views.js';

const SYSTEM = { kind: 'system' } as const;

/** The name of the group whose members administer Coffer (created at bootstrap). */
export const ADMINS_GROUP = 'admins';

/**
 * First-admin bootstrap with the one-time setup token printed at first start:
 * creates the admin user in the `admins` group and an API token for them, and sets
 * their first password when one is given (the setup token is the proof: a first
 * password is otherwise enrolled only with an enrollment ticket, docs/security.md).
 */
export async function bootstrap(deps: ServiceDeps, meta: RequestMeta, input: { setupToken: string; name: string; displayName?: string; password?: string }): Promise<{ principal: PrincipalView; token: string }> {
  assertSimpleName('user', input.name);
  // a weak password must not spend the one-time setup token
  if (input.password !== undefined) checkPasswordPolicy(input.password, { names: [input.name, input.displayName ?? input.name] });
  const now = deps.clock();
  try {
    await consumeSetupToken(deps.store, input.setupToken);
  } catch (err) {
    await deps.audit.record({ time: now, requestId: meta.requestId, actor: null, action: 'bootstrap', resource: 'coffer', decision: 'deny', policies: [], outcome: 'denied', reason: isCofferError(err) ? err.code : 'error', context: auditContext(meta) });
    throw err;
  }
  const admins = await deps.store.getPrincipalByName(ADMINS_GROUP);
  if (admins === null || admins.kind !== 'group') throw new NotFoundError(`group \`${ADMINS_GROUP}\` not found`);
  const user: Principal = { id: newId(ID_PREFIX.principal), kind: 'user', name: input.name, displayName: input.displayName ?? input.name, ownerId: null, disabled: false, createdAt: now };
  const actor = { id: user.id, name: user.name, kind: user.kind };
  // fail closed: the bootstrap is recorded before anything is created
  await deps.audit.record({ time: now, requestId: meta.requestId, actor, action: 'bootstrap', resource: 'coffer', decision: 'allow', policies: ['setup-token'], outcome: 'attempt', context: auditContext(meta) });
  await deps.store.createPrincipal(user);
  await deps.store.addMember(admins.id, user.id);
  if (input.password !== undefined) await identityOf(deps).identityStore.setPasswordHash(user.id, await hashPassword(input.password), now);
  // the one root API token: its lineage starts at the setup token (method `token`)
  const { secret } = await issueToken(deps.store, identityOf(deps).lineage, user.id, { description: 'bootstrap', ttlSeconds: deps.settings.tokenTtlSeconds, now, source: { root: 'setup-token' } });
  await deps.audit.record({ time: deps.clock(), requestId: meta.requestId, actor, action: 'bootstrap', resource: 'coffer', decision: 'allow', policies: ['setup-token'], outcome: 'success', context: auditContext(meta) });
  return { principal: principalView(user), token: secret };
}

/** The caller itself, its groups and grants (recorded like every request). */
export async function whoami(gate: Gate, caller: Caller): Promise<PrincipalView & { groups: string[]; grants: GrantView[] }> {
  const permit = await gate.enter(caller, 'read-metadata', SYSTEM, `principal/${caller.subject.principal.name}`, null, { op: 'whoami' });
  await permit.finish('success');
  return { ...principalView(caller.subject.principal), groups: caller.subject.groupIds, grants: caller.subject.grants.map(grantView) };
}

/** Creates a user, service account or group (`manage-principals` on the system). */
export async function createPrincipal(deps: ServiceDeps, gate: Gate, caller: Caller, input: { kind: PrincipalKind; name: string; displayName?: string; owner?: string }): Promise<PrincipalView> {
  assertSimpleName(input.kind, input.name);
  const permit = await gate.enter(caller, 'manage-principals', SYSTEM, `principal/${input.name}`, null, { kind: input.kind });
  let ownerId: string | null = null;
  if (input.kind === 'service-account') {
    const owner = await deps.store.getPrincipalByName(input.owner ?? caller.subject.principal.name);
    if (owner === null || owner.kind !== 'user') {
      await permit.finish('failure', { reason: 'COFFER_VALIDATION_FAILED' });
      throw new ValidationError('a service account needs an owner that is a user');
    }
    ownerId = owner.id;
  }
  const p: Principal = { id: newId(ID_PREFIX.principal), kind: input.kind, name: input.name, displayName: input.displayName ?? input.name, ownerId, disabled: false, createdAt: deps.clock() };
  try {
    await deps.store.createPrincipal(p);
  } catch (err) {
    await permit.finish('failure', { reason: isCofferError(err) ? err.code : 'error' });
    if (err instanceof AlreadyExistsError) throw new AlreadyExistsError(`principal \`${input.name}\` already exists`);
    throw err;
  }
  await permit.finish('success', { details: { principalId: p.id } });
  return principalView(p);
}

export async function listPrincipals(deps: ServiceDeps, gate: Gate, caller: Caller, page: { limit?: number; cursor?: string | null }): Promise<{ items: PrincipalView[]; next: string | null }> {
  const permit = await gate.enter(caller, 'manage-principals', SYSTEM, 'principals', null);
  const result = await deps.store.listPrincipals(page);
  await permit.finish('success');
  return { items: result.items.map(principalView), next: result.next };
}

async function principalByName(deps: ServiceDeps, name: string): Promise<Principal> {
  const p = await deps.store.getPrincipalByName(name);
  if (p === null) throw new NotFoundError(`principal \`${name}\` not found`);
  return p;
}

/** Adds a member to a group (`manage-principals`). */
export async function addMember(deps: ServiceDeps, gate: Gate, caller: Caller, groupName: string, memberName: string): Promise<void> {
  const permit = await gate.enter(caller, 'manage-principals', SYSTEM, `principal/${groupName}`, null, { member: memberName });
  try {
    const group = await principalByName(deps, groupName);
    const member = await principalByName(deps, memberName);
    if (group.kind !== 'group') throw new ValidationError(`principal \`${groupName}\` is not a group`);
    await deps.store.addMember(group.id, member.id);
  } catch (err) {
    await permit.finish('failure', { reason: isCofferError(err) ? err.code : 'error' });
    throw err;
  }
  await permit.finish('success');
}

/**
 * Enables or disables a principal (`manage-principals`). Disabling also revokes every
 * credential of the principal and every credential minted from them (whoever holds it),
 * so enabling it again brings none back: it gets new ones.
 */
export async function setDisabled(deps: ServiceDeps, gate: Gate, caller: Caller, name: string, disabled: boolean): Promise<void> {
  const permit = await gate.enter(caller, 'manage-principals', SYSTEM, `principal/${name}`, null, { disabled });
  let revoked = 0;
  try {
    const p = await principalByName(deps, name);
    await deps.store.setPrincipalDisabled(p.id, disabled);
    // INVARIANT: a disabled principal's credentials stay dead after it is enabled again
    if (disabled) revoked = totalRevoked(await identityOf(deps).lineage.revokePrincipal(p.id, deps.clock(), 'disabled'));
  } catch (err) {
    await permit.finish('failure', { reason: isCofferError(err) ? err.code : 'error' });
    throw err;
  }
  await permit.finish('success', disabled ? { details: { credentialsRevoked: revoked } } : undefined);
}

/**
 * Issues an API token, minted by the caller's credential (its parent in the lineage):
 * it carries that credential's authentication methods and their times, never more, and
 * ends no later than it (unless `mintedCredentialMaxTtlSeconds` allows) and with it.
 * For oneself: always allowed (recorded). For another principal (`manage-principals`):
 * the token authenticates as that principal but still rests on the caller's credential,
 * so it ends when the administrator's session or token does.
 */
export async function createToken(deps: ServiceDeps, gate: Gate, caller: Caller, input: { principal?: string; description?: string; ttlSeconds?: number }): Promise<{ token: string; info: TokenView & { parentId: string } }> {
  const self = input.principal === undefined || input.principal === caller.subject.principal.name;
  const ttl = input.ttlSeconds ?? deps.settings.tokenTtlSeconds;
  if (deps.settings.tokenTtlSeconds > 0 && (ttl === 0 || ttl > deps.settings.tokenTtlSeconds)) {
    throw new ValidationError(`token lifetime must be between 1 and ${deps.settings.tokenTtlSeconds} seconds`);
  }
  if (!self) await gate.checkFirst(caller, 'manage-principals', `principal/${input.principal!}/tokens`);
  const target = self ? caller.subject.principal : await principalByName(deps, input.principal!);
  if (target.kind === 'group') throw new ValidationError('groups cannot hold tokens');
  if (target.kind === 'service-account' && deps.identity !== undefined) {
    const max = deps.identity.settings.servicePatMaxTtlSeconds;
    // service accounts get short-lived tokens (docs/identity.md); long-lived ones only where enabled, always expiring
    if (max === 0) throw new LongLivedTokenDisabledError();
    if (ttl === 0 || ttl > max) throw new ValidationError(`service account token lifetime must be between 1 and ${max} seconds`);
  }
  const permit = self
    ? await gate.enter(caller, 'read-metadata', SYSTEM, `principal/${target.name}/tokens`, null)
    : await gate.enter(caller, 'manage-principals', SYSTEM, `principal/${target.name}/tokens`, null);
  let issued;
  try {
    issued = await issueToken(deps.store, identityOf(deps).lineage, target.id, { description: input.description ?? '', ttlSeconds: ttl, now: deps.clock(), source: { parentId: caller.credentialId } });
  } catch (err) {
    await permit.finish('failure', { reason: isCofferError(err) ? err.code : 'error' });
    throw err;
  }
  const { secret, token } = issued;
  await permit.finish('success', { details: { tokenId: token.id, hint: token.hint, parentId: caller.credentialId } });
  return { token: secret, info: { ...tokenView(token), parentId: caller.credentialId } };
}

/**
 * Revokes a credential (API token, session, S3 key) and everything minted from it: one
 * of the caller's own, or any for `manage-principals`. Unknown ids are not found.
 */
export async function revokeToken(deps: ServiceDeps, gate: Gate, caller: Caller, tokenId: string): Promise<void> {
  const lineage = identityOf(deps).lineage;
  const id = tokenId.slice(0, 100);
  const found = await lineage.store.get(id);
  const own = found !== null && found.principalId === caller.subject.principal.id;
  const permit = own
    ? await gate.enter(caller, 'read-metadata', SYSTEM, `token/${id}`, null)
    : await gate.enter(caller, 'manage-principals', SYSTEM, `token/${id}`, null);
  if (found === null) {
    await permit.finish('failure', { reason: 'COFFER_NOT_FOUND' });
    throw new NotFoundError(`token \`${id}\` not found`);
  }
  const counts = await lineage.revoke({ ids: [id] }, deps.clock(), own ? 'revoked' : `revoked-by:${caller.subject.principal.name}`);
  await permit.finish('success', { details: { kind: found.kind, revoked: totalRevoked(counts) } });
}

/**
 * The credentials of a principal (oneself, or anyone with `manage-principals`): every
 * session, API token and S3 key with its parent, origin, methods and state.
 */
export async function listCredentials(deps: ServiceDeps, gate: Gate, caller: Caller, name?: string): Promise<CredentialView[]> {
  const self = name === undefined || name === caller.subject.principal.name;
  // INVARIANT: someone else's credentials: authorized before the name is looked up (hidden equals missing)
  if (!self) await gate.checkFirst(caller, 'manage-principals', `principal/${name}/tokens`, { op: 'list' });
  const target = self ? caller.subject.principal : await principalByName(deps, name);
  const permit = self
    ? await gate.enter(caller, 'read-metadata', SYSTEM, `principal/${target.name}/tokens`, null, { op: 'list' })
    : await gate.enter(caller, 'manage-principals', SYSTEM, `principal/${target.name}/tokens`, null, { op: 'list' });
  const now = deps.clock();
  const rows = await identityOf(deps).lineage.list(target.id);
  const names = new Map<string, string>([[target.id, target.name]]);
  for (const r of rows) {
    const pid = r.parent?.principalId;
    if (pid !== undefined && !names.has(pid)) names.set(pid, (await deps.store.getPrincipal(pid))?.name ?? pid);
  }
  await permit.finish('success', { details: { returned: rows.length } });
  return rows.map((r) => credentialView(r, names, now, caller.credentialId));
}

export interface GrantInput {
  principal: string;
  role: Role;
  project: string;
  artifact?: string | undefined;
  /** A version number (grant on that version only). */
  version?: number | undefined;
  /** Epoch ms; omitted = no expiry. */
  expiresAt?: number | undefined;
}

/** Resolves the scope of a grant to its resource and name. Null if any part is missing. */
async function resolveScope(deps: ServiceDeps, input: { project: string; artifact?: string | undefined; version?: number | undefined }): Promise<{ ref: ResourceRef; kind: Grant['scopeKind']; id: string; name: string; notFound: string } | null> {
  if (input.artifact === undefined) {
    const project = await findProject(deps, input.project);
    return project && { ref: { kind: 'project', project }, kind: 'project', id: project.id, name: names.project(input.project), notFound: notFoundMessage.project(input.project) };
  }
  if (input.version === undefined) {
    const found = await findArtifact(deps, input.project, input.artifact);
    return found && { ref: { kind: 'artifact', ...found }, kind: 'artifact', id: found.artifact.id, name: names.artifact(input.project, input.artifact), notFound: notFoundMessage.artifact(input.project, input.artifact) };
  }
  const found = await findVersion(deps, input.project, input.artifact, input.version);
  return found && { ref: { kind: 'version', ...found }, kind: 'version', id: found.version.id, name: names.version(input.project, input.artifact, input.version), notFound: notFoundMessage.version(input.project, input.artifact, input.version) };
}

function scopeNotFound(input: { project: string; artifact?: string | undefined; version?: number | undefined }): NotFoundError {
  if (input.artifact === undefined) return new NotFoundError(notFoundMessage.project(input.project));
  if (input.version === undefined) return new NotFoundError(notFoundMessage.artifact(input.project, input.artifact));
  return new NotFoundError(notFoundMessage.version(input.project, input.artifact, input.version));
}

/** Binds a role on a project, artifact or single version (`grant` on that scope). */
export async function createGrant(deps: ServiceDeps, gate: Gate, caller: Caller, input: GrantInput): Promise<GrantView> {
  const scope = await resolveScope(deps, input);
  if (scope === null) return gate.refuse(caller, caller.meta, 'grant', `grant/${input.project}`, scopeNotFound(input));
  const grantee = await deps.store.getPrincipalByName(input.principal);
  const permit = await gate.enter(caller, 'grant', scope.ref, scope.name, { notFound: scope.notFound }, { grantee: input.principal, role: input.role });
  if (grantee === null) {
    await permit.finish('failure', { reason: 'COFFER_NOT_FOUND' });
    throw new NotFoundError(`principal \`${input.principal}\` not found`);
  }
  const now = deps.clock();
  if (input.expiresAt !== undefined && input.expiresAt <= now) throw new ValidationError('expiresAt must be in the future');
  const grant: Grant = { id: newId(ID_PREFIX.grant), principalId: grantee.id, role: input.role, scopeKind: scope.kind, scopeId: scope.id, createdBy: caller.subject.principal.id, createdAt: now, expiresAt: input.expiresAt ?? null };
  await deps.store.createGrant(grant);
  await permit.finish('success', { details: { grantId: grant.id } });
  return grantView(grant);
}

/** Removes a grant (`grant` on its scope). Hidden scopes answer "not found". */
export async function revokeGrant(deps: ServiceDeps, gate: Gate, caller: Caller, grantId: string): Promise<void> {
  const grant = await deps.store.getGrant(grantId);
  const notFound = `grant \`${grantId.slice(0, 40)}\` not found`;
  if (grant === null) return gate.refuse(caller, caller.meta, 'grant', `grant/${grantId.slice(0, 40)}`, new NotFoundError(notFound));
  const ref = await scopeRef(deps, grant);
  if (ref === null) return gate.refuse(caller, caller.meta, 'grant', `grant/${grantId}`, new NotFoundError(notFound));
  const permit = await gate.enter(caller, 'grant', ref, `grant/${grantId}`, { notFound }, { revoke: true });
  await deps.store.deleteGrant(grantId);
  await permit.finish('success');
}

/** Grants on a scope (`grant` on that scope: who holds what is itself sensitive). */
export async function listGrants(deps: ServiceDeps, gate: Gate, caller: Caller, input: { project: string; artifact?: string; version?: number }): Promise<GrantView[]> {
  const scope = await resolveScope(deps, input);
  if (scope === null) return gate.refuse(caller, caller.meta, 'grant', `grants/${input.project}`, scopeNotFound(input));
  const permit = await gate.enter(caller, 'grant', scope.ref, scope.name, { notFound: scope.notFound }, { list: true });
  const grants = await deps.store.listGrantsOnScope(scope.kind, scope.id);
  await permit.finish('success');
  return grants.map(grantView);
}

async function scopeRef(deps: ServiceDeps, grant: Grant): Promise<ResourceRef | null> {
  if (grant.scopeKind === 'project') {
    const project = await deps.store.getProject(grant.scopeId);
    return project && { kind: 'project', project };
  }
  const version = grant.scopeKind === 'version' ? await deps.store.getVersion(grant.scopeId) : null;
  const artifact = await deps.store.getArtifact(grant.scopeKind === 'artifact' ? grant.scopeId : (version?.artifactId ?? ''));
  if (artifact === null) return null;
  const project = await deps.store.getProject(artifact.projectId);
  if (project === null) return null;
  if (grant.scopeKind === 'artifact') return { kind: 'artifact', project, artifact };
  return version && { kind: 'version', project, artifact, version };
}

/** Adds a KEK term and rewraps every data key under it, without touching data (`rotate-keys`). */
export async function rotateKeys(deps: ServiceDeps, gate: Gate, caller: Caller): Promise<{ term: number; rewrapped: number }> {
  const permit = await gate.enter(caller, 'rotate-keys', SYSTEM, 'keyring', null);
  try {
    const term = await deps.vault.addKeyTerm();
    const rewrapped = await deps.rewrapAllKeys();
    await permit.finish('success', { details: { term, rewrapped } });
    return { term, rewrapped };
  } catch (err) {
    await permit.finish('failure', { reason: isCofferError(err) ? err.code : 'error' });
    throw err;
  }
}

/**
 * Rotates the root key that seals the keyring (`rotate-keys` on `keyring/root`): a new root
 * key in the provider (file, HSM) or the one now configured (env, KMS) wraps a fresh
 * keyring key; KEKs and data keys do not change. The record names the provider and the
 * public ids of the new and previous root keys, never key material.
 */
export async function rotateRootKey(deps: ServiceDeps, gate: Gate, caller: Caller): Promise<RootKeyRotationResult> {
  const permit = await gate.enter(caller, 'rotate-keys', SYSTEM, 'keyring/root', null);
  try {
    const result = await deps.vault.rotateRootKey();
    await permit.finish('success', { details: { ...result } });
    return result;
  } catch (err) {
    await permit.finish('failure', { reason: isCofferError(err) ? err.code : 'error' });
    throw err;
  }
}

/**
 * Verifies the audit hash chain (`read-audit`). With an exported checkpoint, also
 * proves the tail up to it was not deleted.
 */
export async function verifyAudit(deps: ServiceDeps, gate: Gate, caller: Caller, checkpoint?: ExportedCheckpoint): Promise<VerifyResult> {
  const permit = await gate.enter(caller, 'read-audit', SYSTEM, 'audit', null, { op: 'verify', ...(checkpoint ? { checkpointSeq: checkpoint.seq } : {}) });
  const result = await deps.audit.verify(checkpoint ? { checkpoint } : {});
  await permit.finish('success', { details: { ok: result.ok, checked: result.checked } });
  return result;
}

/** Signs a checkpoint of the current tail for the caller to keep outside Coffer (`read-audit`). */
export async function checkpointAudit(deps: ServiceDeps, gate: Gate, caller: Caller): Promise<ExportedCheckpoint & { publicKey: string }> {
  const permit = await gate.enter(caller, 'read-audit', SYSTEM, 'audit', null, { op: 'checkpoint' });
  const checkpoint = await deps.audit.checkpoint();
  await permit.finish('success', { details: { seq: checkpoint.seq } });
  return { ...checkpoint, publicKey: deps.audit.publicKey };
}

/** The audit log as JSON Lines (`read-audit`). */
export async function exportAudit(deps: ServiceDeps, gate: Gate, caller: Caller, fromSeq: number): Promise<AsyncIterable<string>> {
  const permit = await gate.enter(caller, 'read-audit', SYSTEM, 'audit', null, { op: 'export', fromSeq });
  await permit.finish('success');
  return deps.audit.export(fromSeq);
}
