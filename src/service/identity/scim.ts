import { AlreadyExistsError, AuthRequiredError, NotFoundError, TokenInvalidError, TokenRevokedError, ValidationError } from '../../domain/errors.js';
import { ID_PREFIX, newId } from '../../domain/ids.js';
import type { Principal } from '../../domain/types.js';
import { SCIM, memberFilterOf, parsePatch, parseScimFilter, principalNameFor, scimBoolean } from '../../identity/scim-protocol.js';
import { generateToken, hashToken, parseToken, tokenHint } from '../../identity/token-format.js';
import type { ScimRecord, ScimTokenRecord } from '../../store/identity-store.js';
import type { Caller } from '../caller.js';
import type { RequestMeta, ServiceDeps } from '../deps.js';
import type { Gate } from '../gate.js';
import { deprovision } from './accounts.js';
import { SYSTEM, identityOf, recordEvent } from './audit.js';

type Json = Record<string, unknown>;
/** The audit actor of a SCIM client (the identity provider holding a SCIM token). */
type ScimActor = { id: string; name: string; kind: string };

/** Issues a SCIM bearer token for an identity provider (`manage-principals`); shown once. */
export async function createScimToken(deps: ServiceDeps, gate: Gate, caller: Caller): Promise<{ token: string; id: string; hint: string }> {
  const permit = await gate.enter(caller, 'manage-principals', SYSTEM, 'scim/tokens', null, { op: 'create' });
  const secret = generateToken('scim');
  const record: ScimTokenRecord = { id: newId('scimtok'), hash: hashToken(secret), hint: tokenHint(secret), createdAt: deps.clock(), revokedAt: null };
  await identityOf(deps).identityStore.addScimToken(record);
  await permit.finish('success', { details: { tokenId: record.id } });
  return { token: secret, id: record.id, hint: record.hint };
}

/** SCIM tokens (`manage-principals`). */
export async function listScimTokens(deps: ServiceDeps, gate: Gate, caller: Caller) {
  const permit = await gate.enter(caller, 'manage-principals', SYSTEM, 'scim/tokens', null, { op: 'list' });
  const items = await identityOf(deps).identityStore.listScimTokens();
  await permit.finish('success');
  return items.map((t) => ({ id: t.id, hint: t.hint, createdAt: new Date(t.createdAt).toISOString(), revokedAt: t.revokedAt === null ? null : new Date(t.revokedAt).toISOString() }));
}

/** Revokes a SCIM token (`manage-principals`). */
export async function revokeScimToken(deps: ServiceDeps, gate: Gate, caller: Caller, id: string): Promise<void> {
  const permit = await gate.enter(caller, 'manage-principals', SYSTEM, `scim/tokens/${id.slice(0, 64)}`, null, { op: 'revoke' });
  if (!(await identityOf(deps).identityStore.revokeScimToken(id, deps.clock()))) {
    await permit.finish('failure', { reason: 'COFFER_NOT_FOUND' });
    throw new NotFoundError('scim token not found');
  }
  await permit.finish('success');
}

/**
 * SCIM 2.0 provisioning (RFC 7643/7644) of users and groups by an identity provider.
 * Authenticated by a SCIM bearer token (`coffer_scim_`), checked on every request.
 * Every change is recorded before it is made; deactivating or deleting a user cuts it
 * off at once: disabled, sessions and API tokens revoked, grants deleted.
 */
export class ScimService {
  constructor(private readonly deps: ServiceDeps) {}

  /** Checks the SCIM bearer token; returns the audit actor. Failures are recorded. */
  async authenticate(bearer: string | undefined, meta: RequestMeta): Promise<ScimActor> {
    const store = identityOf(this.deps).identityStore;
    try {
      if (bearer === undefined || bearer === '') throw new AuthRequiredError();
      if (parseToken(bearer) !== 'scim') throw new TokenInvalidError();
      const t = await store.getScimTokenByHash(hashToken(bearer));
      if (t === null) throw new TokenInvalidError();
      if (t.revokedAt !== null) throw new TokenRevokedError();
      return { id: t.id, name: `scim:${t.hint}`, kind: 'scim' };
    } catch (err) {
      await recordEvent(this.deps, meta, { actor: null, action: 'scim', resource: 'scim', allowed: false, outcome: 'denied', reason: (err as { code?: string }).code ?? 'error' });
      throw err;
    }
  }

  // ---- users ----

  async listUsers(query: { filter?: string; startIndex?: number; count?: number }, base: string): Promise<Json> {
    return this.list('User', query, base);
  }

  async getUser(id: string, base: string): Promise<Json> {
    return this.userView(await this.record('User', id), base);
  }

  async createUser(actor: ScimActor, meta: RequestMeta, body: Json, base: string): Promise<Json> {
    const userName = this.string(body.userName, 'userName');
    const store = identityOf(this.deps).identityStore;
    if (await store.findScim('User', 'scimName', userName)) throw new AlreadyExistsError(`user \`${userName.slice(0, 100)}\` already exists`, { detail: 'scim:uniqueness' });
    const now = this.deps.clock();
    const principal: Principal = { id: newId(ID_PREFIX.principal), kind: 'user', name: await this.freeName(principalNameFor(userName)), displayName: this.displayNameOf(body, userName), ownerId: null, disabled: false, createdAt: now };
    const active = body.active === undefined ? true : scimBoolean(body.active);
    await this.audit(actor, meta, 'scim-create-user', principal, 'attempt', { userName });
    await this.deps.store.createPrincipal({ ...principal, disabled: !active });
    const record: ScimRecord = { principalId: principal.id, resourceType: 'User', scimName: userName, externalId: typeof body.externalId === 'string' ? body.externalId : null, active, data: this.userData(body), createdAt: now, updatedAt: now, deletedAt: null };
    await store.putScim(record);
    await this.audit(actor, meta, 'scim-create-user', principal, 'success', { userName });
    return this.userView(record, base);
  }

  async replaceUser(actor: ScimActor, meta: RequestMeta, id: string, body: Json, base: string): Promise<Json> {
    const record = await this.record('User', id);
    const next: ScimRecord = {
      ...record,
      scimName: typeof body.userName === 'string' ? body.userName : record.scimName,
      externalId: typeof body.externalId === 'string' ? body.externalId : null,
      data: this.userData(body),
      active: body.active === undefined ? true : scimBoolean(body.active),
    };
    return this.applyUser(actor, meta, record, next, base, body.displayName ?? next.data.displayName);
  }

  async patchUser(actor: ScimActor, meta: RequestMeta, id: string, body: unknown, base: string): Promise<Json> {
    const record = await this.record('User', id);
    const next: ScimRecord = { ...record, data: structuredClone(record.data) };
    for (const op of parsePatch(body)) {
      // Okta: {op: replace, value: {active: false}}; Azure AD: {op: Replace, path: active, value: "False"}
      const entries: [string, unknown][] = op.path === undefined ? Object.entries((op.value ?? {}) as Json) : [[op.path, op.value]];
      for (const [path, value] of entries) {
        const p = path.toLowerCase();
        if (p === 'active') next.active = op.op === 'remove' ? false : scimBoolean(value);
        else if (p === 'username') next.scimName = this.string(value, 'userName');
        else if (p === 'externalid') next.externalId = op.op === 'remove' ? null : this.string(value, 'externalId');
        else if (p === 'displayname' || p.startsWith('name') || p.startsWith('emails') || p === 'title' || p === 'nickname' || p === 'locale' || p.startsWith('urn:')) {
          if (op.op === 'remove') delete next.data[path];
          else next.data[path] = value;
        } else throw new ValidationError(`unsupported patch path \`${path.slice(0, 80)}\``, { detail: 'scim:invalidPath' });
      }
    }
    return this.applyUser(actor, meta, record, next, base, next.data.displayName);
  }

  /** Deletion: the principal is cut off like a deactivation and disappears from SCIM (404 afterwards). */
  async deleteUser(actor: ScimActor, meta: RequestMeta, id: string): Promise<void> {
    const record = await this.record('User', id);
    const principal = await this.principal(id);
    await this.audit(actor, meta, 'scim-delete-user', principal, 'attempt', { userName: record.scimName });
    const now = this.deps.clock();
    const cut = await deprovision(this.deps, principal.id, now, 'scim-delete');
    await identityOf(this.deps).identityStore.putScim({ ...record, active: false, updatedAt: now, deletedAt: now });
    await this.audit(actor, meta, 'scim-delete-user', principal, 'success', { userName: record.scimName, ...cut });
  }

  // ---- groups ----

  async listGroups(query: { filter?: string; startIndex?: number; count?: number }, base: string): Promise<Json> {
    return this.list('Group', query, base);
  }

  async getGroup(id: string, base: string): Promise<Json> {
    return this.groupView(await this.record('Group', id), base);
  }

  async createGroup(actor: ScimActor, meta: RequestMeta, body: Json, base: string): Promise<Json> {
    const displayName = this.string(body.displayName, 'displayName');
    const store = identityOf(this.deps).identityStore;
    if (await store.findScim('Group', 'scimName', displayName)) throw new AlreadyExistsError(`group \`${displayName.slice(0, 100)}\` already exists`, { detail: 'scim:uniqueness' });
    const now = this.deps.clock();
    const group: Principal = { id: newId(ID_PREFIX.principal), kind: 'group', name: await this.freeName(principalNameFor(displayName)), displayName, ownerId: null, disabled: false, createdAt: now };
    await this.audit(actor, meta, 'scim-create-group', group, 'attempt', { displayName });
    await this.deps.store.createPrincipal(group);
    const record: ScimRecord = { principalId: group.id, resourceType: 'Group', scimName: displayName, externalId: typeof body.externalId === 'string' ? body.externalId : null, active: true, data: {}, createdAt: now, updatedAt: now, deletedAt: null };
    await store.putScim(record);
    await this.setMembers(group, this.memberIds(body.members));
    await this.audit(actor, meta, 'scim-create-group', group, 'success', { displayName });
    return this.groupView(record, base);
  }

  async replaceGroup(actor: ScimActor, meta: RequestMeta, id: string, body: Json, base: string): Promise<Json> {
    const record = await this.record('Group', id);
    const group = await this.principal(id);
    await this.audit(actor, meta, 'scim-update-group', group, 'attempt', { displayName: record.scimName });
    const next = { ...record, scimName: typeof body.displayName === 'string' ? body.displayName : record.scimName, externalId: typeof body.externalId === 'string' ? body.externalId : record.externalId, updatedAt: this.deps.clock() };
    await identityOf(this.deps).identityStore.putScim(next);
    await this.setMembers(group, this.memberIds(body.members));
    await this.audit(actor, meta, 'scim-update-group', group, 'success', { displayName: next.scimName });
    return this.groupView(next, base);
  }

  async patchGroup(actor: ScimActor, meta: RequestMeta, id: string, body: unknown, base: string): Promise<Json> {
    const record = await this.record('Group', id);
    const group = await this.principal(id);
    const ops = parsePatch(body);
    await this.audit(actor, meta, 'scim-update-group', group, 'attempt', { displayName: record.scimName, ops: ops.map((o) => `${o.op}:${o.path ?? ''}`).slice(0, 20) });
    let next = { ...record };
    for (const op of ops) {
      const path = op.path?.toLowerCase();
      const filtered = op.path === undefined ? null : memberFilterOf(op.path);
      if (path === 'members' || (path === undefined && op.value !== undefined && typeof op.value === 'object' && 'members' in (op.value as Json))) {
        const ids = this.memberIds(path === 'members' ? op.value : (op.value as Json).members);
        if (op.op === 'replace') await this.setMembers(group, ids);
        else for (const m of ids) await (op.op === 'add' ? this.addMember(group, m) : this.deps.store.removeMember(group.id, m));
        if (op.op === 'remove' && op.value === undefined) await this.setMembers(group, []);
      } else if (filtered !== null && op.op === 'remove') {
        await this.deps.store.removeMember(group.id, filtered);
      } else if (path === 'displayname' || (path === undefined && typeof (op.value as Json)?.displayName === 'string')) {
        next = { ...next, scimName: this.string(path === undefined ? (op.value as Json).displayName : op.value, 'displayName') };
      } else if (path === 'externalid') {
        next = { ...next, externalId: op.op === 'remove' ? null : this.string(op.value, 'externalId') };
      } else {
        throw new ValidationError(`unsupported patch path \`${(op.path ?? '').slice(0, 80)}\``, { detail: 'scim:invalidPath' });
      }
    }
    next.updatedAt = this.deps.clock();
    await identityOf(this.deps).identityStore.putScim(next);
    await this.audit(actor, meta, 'scim-update-group', group, 'success', { displayName: next.scimName });
    return this.groupView(next, base);
  }

  async deleteGroup(actor: ScimActor, meta: RequestMeta, id: string): Promise<void> {
    const record = await this.record('Group', id);
    const group = await this.principal(id);
    await this.audit(actor, meta, 'scim-delete-group', group, 'attempt', { displayName: record.scimName });
    const now = this.deps.clock();
    await this.setMembers(group, []);
    const grants = await identityOf(this.deps).identityStore.deleteGrantsOf(group.id);
    await identityOf(this.deps).identityStore.putScim({ ...record, active: false, updatedAt: now, deletedAt: now });
    await this.audit(actor, meta, 'scim-delete-group', group, 'success', { displayName: record.scimName, grants });
  }

  // ---- helpers ----

  private async applyUser(actor: ScimActor, meta: RequestMeta, before: ScimRecord, next: ScimRecord, base: string, displayName: unknown): Promise<Json> {
    const principal = await this.principal(before.principalId);
    const now = this.deps.clock();
    const deactivating = before.active && !next.active;
    const action = deactivating ? 'scim-deactivate-user' : 'scim-update-user';
    await this.audit(actor, meta, action, principal, 'attempt', { userName: next.scimName, active: next.active });
    let cut: Json = {};
    if (deactivating) {
      // INVARIANT: deactivation cuts every credential and grant before answering, so the next request is refused
      cut = await deprovision(this.deps, principal.id, now, 'scim-deactivate');
    } else if (!before.active && next.active) {
      await this.deps.store.setPrincipalDisabled(principal.id, false);
    }
    await identityOf(this.deps).identityStore.putScim({ ...next, updatedAt: now });
    void displayName;
    await this.audit(actor, meta, action, principal, 'success', { userName: next.scimName, active: next.active, ...cut });
    return this.userView({ ...next, updatedAt: now }, base);
  }

  private async list(type: 'User' | 'Group', query: { filter?: string; startIndex?: number; count?: number }, base: string): Promise<Json> {
    const store = identityOf(this.deps).identityStore;
    const view = (r: ScimRecord) => (type === 'User' ? this.userView(r, base) : this.groupView(r, base));
    const startIndex = Math.max(1, query.startIndex ?? 1);
    const count = Math.min(Math.max(0, query.count ?? 100), 200);
    let items: ScimRecord[];
    let total: number;
    if (query.filter !== undefined && query.filter.trim() !== '') {
      const f = parseScimFilter(query.filter);
      let found: ScimRecord | null = null;
      if (f.attribute === 'id') found = await store.getScim(f.value).then((r) => (r?.resourceType === type ? r : null));
      else if (f.attribute === 'externalId') found = await store.findScim(type, 'externalId', f.value);
      else if ((f.attribute === 'userName' && type === 'User') || (f.attribute === 'displayName' && type === 'Group')) found = await store.findScim(type, 'scimName', f.value);
      else throw new ValidationError(`unsupported filter attribute \`${f.attribute}\` for ${type}s`, { detail: 'scim:invalidFilter' });
      items = found === null ? [] : [found];
      total = items.length;
    } else {
      const page = await store.listScim(type, { offset: startIndex - 1, limit: count });
      items = page.items;
      total = page.total;
    }
    const resources = await Promise.all(items.map(view));
    return { schemas: [SCIM.list], totalResults: total, startIndex, itemsPerPage: resources.length, Resources: resources };
  }

  private async record(type: 'User' | 'Group', id: string): Promise<ScimRecord> {
    const r = await identityOf(this.deps).identityStore.getScim(id.slice(0, 64));
    if (r === null || r.resourceType !== type) throw new NotFoundError(`${type.toLowerCase()} \`${id.slice(0, 64)}\` not found`);
    return r;
  }

  private async principal(id: string): Promise<Principal> {
    const p = await this.deps.store.getPrincipal(id);
    if (p === null) throw new NotFoundError(`resource \`${id.slice(0, 64)}\` not found`);
    return p;
  }

  private async freeName(base: string): Promise<string> {
    for (let i = 1; i < 1000; i++) {
      const name = i === 1 ? base : `${base}-${i}`;
      if ((await this.deps.store.getPrincipalByName(name)) === null) return name;
    }
    throw new AlreadyExistsError('no free principal name');
  }

  private memberIds(members: unknown): string[] {
    if (members === undefined || members === null) return [];
    if (!Array.isArray(members)) throw new ValidationError('members must be a list', { detail: 'scim:invalidValue' });
    return members.map((m: { value?: unknown }) => this.string(m?.value, 'members.value'));
  }

  private async addMember(group: Principal, memberId: string): Promise<void> {
    const member = await this.deps.store.getPrincipal(memberId);
    if (member === null || member.kind === 'group') throw new NotFoundError(`member \`${memberId.slice(0, 64)}\` not found`, { detail: 'scim:invalidValue' });
    await this.deps.store.addMember(group.id, memberId);
  }

  private async setMembers(group: Principal, ids: string[]): Promise<void> {
    const current = new Set(await this.deps.store.listMembers(group.id));
    const wanted = new Set(ids);
    for (const id of wanted) if (!current.has(id)) await this.addMember(group, id);
    for (const id of current) if (!wanted.has(id)) await this.deps.store.removeMember(group.id, id);
  }

  private string(value: unknown, what: string): string {
    if (typeof value !== 'string' || value.length === 0 || value.length > 256) throw new ValidationError(`\`${what}\` must be a non-empty string`, { detail: 'scim:invalidValue' });
    return value;
  }

  private displayNameOf(body: Json, fallback: string): string {
    if (typeof body.displayName === 'string' && body.displayName !== '') return body.displayName.slice(0, 200);
    const name = body.name as { formatted?: unknown; givenName?: unknown; familyName?: unknown } | undefined;
    if (typeof name?.formatted === 'string') return name.formatted.slice(0, 200);
    const parts = [name?.givenName, name?.familyName].filter((p): p is string => typeof p === 'string');
    return parts.length > 0 ? parts.join(' ').slice(0, 200) : fallback.slice(0, 200);
  }

  private userData(body: Json): Json {
    const keep = ['name', 'displayName', 'emails', 'title', 'nickName', 'locale', 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User'];
    return Object.fromEntries(Object.entries(body).filter(([k]) => keep.includes(k)));
  }

  private async userView(r: ScimRecord, base: string): Promise<Json> {
    const groups = [];
    for (const gid of await this.deps.store.listGroupsOf(r.principalId)) {
      const g = await identityOf(this.deps).identityStore.getScim(gid);
      if (g !== null) groups.push({ value: gid, display: g.scimName, $ref: `${base}/Groups/${gid}` });
    }
    return {
      schemas: [SCIM.user],
      id: r.principalId,
      ...(r.externalId !== null ? { externalId: r.externalId } : {}),
      userName: r.scimName,
      ...r.data,
      active: r.active,
      groups,
      meta: { resourceType: 'User', created: new Date(r.createdAt).toISOString(), lastModified: new Date(r.updatedAt).toISOString(), location: `${base}/Users/${r.principalId}` },
    };
  }

  private async groupView(r: ScimRecord, base: string): Promise<Json> {
    const members = [];
    for (const id of await this.deps.store.listMembers(r.principalId)) {
      const s = await identityOf(this.deps).identityStore.getScim(id);
      const p = s === null ? await this.deps.store.getPrincipal(id) : null;
      members.push({ value: id, display: s?.scimName ?? p?.name ?? id, $ref: `${base}/Users/${id}` });
    }
    return {
      schemas: [SCIM.group],
      id: r.principalId,
      ...(r.externalId !== null ? { externalId: r.externalId } : {}),
      displayName: r.scimName,
      members,
      meta: { resourceType: 'Group', created: new Date(r.createdAt).toISOString(), lastModified: new Date(r.updatedAt).toISOString(), location: `${base}/Groups/${r.principalId}` },
    };
  }

  private async audit(actor: ScimActor, meta: RequestMeta, action: string, principal: Principal, outcome: 'attempt' | 'success', details: Json): Promise<void> {
    await recordEvent(this.deps, meta, { actor, action, resource: `principal/${principal.name}`, allowed: true, outcome, policies: ['scim-token'], details: { principalId: principal.id, ...details } });
  }
}
