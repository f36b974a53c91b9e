import { sql } from 'kysely';
import type { Kysely, Selectable } from 'kysely';
import { AlreadyExistsError, NotFoundError, isCofferError } from '../../domain/errors.js';
import type { CofferError } from '../../domain/errors.js';
import type {
  ClientKeyRecord,
  DeviceRecord,
  DeviceStatus,
  IdentityStore,
  ProviderRecord,
  RefreshUse,
  ScimRecord,
  ScimTokenRecord,
  SessionRecord,
  ThrottleCounting,
  ThrottleRecord,
  ThrottleReservation,
  TicketRecord,
  WebAuthnCredentialRecord,
} from '../identity-store.js';
import type { SqlMetadataStore } from './sql-metadata-store.js';
import type { Bytes, Flag, Int8 } from './database.js';
import { classifyDbError, storageFailure } from './db-errors.js';
import { fromBuffer, toBuffer, toNumber } from './rows.js';

interface IdentityTables {
  identity_passwords: { principal_id: string; hash: string; updated_at: Int8 };
  identity_totp: { principal_id: string; sealed_secret: Bytes; confirmed: Flag; last_step: Int8; created_at: Int8 };
  identity_recovery_codes: { principal_id: string; code_hash: string; used_at: Int8 | null };
  identity_webauthn: { id: string; principal_id: string; public_key: Bytes; counter: Int8; transports: string; name: string; created_at: Int8; last_used_at: Int8 | null };
  identity_tickets: { id: string; kind: string; principal_id: string | null; session_id: string | null; data: string; expires_at: Int8; consumed_at: Int8 | null };
  identity_sessions: { id: string; principal_id: string; kind: string; methods: string; created_at: Int8; expires_at: Int8; revoked_at: Int8 | null; revoke_reason: string | null; source_ip: string; user_agent: string };
  identity_refresh_tokens: { hash: string; session_id: string; created_at: Int8; used_at: Int8 | null };
  identity_revoked_jtis: { jti: string; expires_at: Int8 };
  identity_seen_jtis: { key: string; expires_at: Int8 };
  identity_throttle: { key: string; failures: number; window_start: Int8; blocked_until: Int8 };
  identity_external_ids: { issuer: string; subject: string; principal_id: string };
  identity_providers: { kind: string; name: string; config: string; sealed_secret: Bytes | null; updated_at: Int8 };
  identity_client_keys: { kid: string; principal_id: string; jwk: string; created_at: Int8; revoked_at: Int8 | null };
  identity_scim: { principal_id: string; resource_type: string; scim_name: string; external_id: string | null; active: Flag; data: string; created_at: Int8; updated_at: Int8; deleted_at: Int8 | null };
  identity_scim_tokens: { id: string; hash: string; hint: string; created_at: Int8; revoked_at: Int8 | null };
  identity_devices: { id: string; principal_id: string; name: string; public_key: string; status: string; created_at: Int8; decided_by: string | null; decided_at: Int8 | null };
  // core tables touched when an account is deleted or deprovisioned
  principals: { id: string };
  memberships: { group_id: string; member_id: string };
  tokens: { id: string; principal_id: string; revoked_at: Int8 | null };
  s3_credentials: { access_key_id: string; principal_id: string };
  grants: { id: string; principal_id: string };
}

type Db = Kysely<IdentityTables>;
const n = (v: number | string | bigint) => toNumber(v);
const nn = (v: number | string | bigint | null) => (v === null ? null : toNumber(v));

/**
 * IdentityStore on the Kysely instance of the core SQL store (SQLite or PostgreSQL,
 * one code path). Tables come from migration `002_identity`.
 */
export class SqlIdentityStore implements IdentityStore {
  readonly #db: Db;

  constructor(core: SqlMetadataStore) {
    // the identity tables live in the same database; typed here, not in the core Database
    this.#db = core.kysely as unknown as Db;
  }

  // ---- passwords ----
  getPasswordHash(principalId: string): Promise<string | null> {
    return run('get password', async () => (await this.#db.selectFrom('identity_passwords').select('hash').where('principal_id', '=', principalId).executeTakeFirst())?.hash ?? null);
  }
  setPasswordHash(principalId: string, hash: string, at: number): Promise<void> {
    return run('set password', async () => {
      await this.#db
        .insertInto('identity_passwords')
        .values({ principal_id: principalId, hash, updated_at: at })
        .onConflict((oc) => oc.column('principal_id').doUpdateSet({ hash, updated_at: at }))
        .execute();
    });
  }

  // ---- TOTP ----
  getTotp(principalId: string) {
    return run('get totp', async () => {
      const r = await this.#db.selectFrom('identity_totp').selectAll().where('principal_id', '=', principalId).executeTakeFirst();
      return r === undefined ? null : { sealedSecret: fromBuffer(r.sealed_secret), confirmed: r.confirmed === 1, lastStep: n(r.last_step) };
    });
  }
  putTotp(principalId: string, sealedSecret: Uint8Array, at: number): Promise<void> {
    return run('put totp', async () => {
      const values = { sealed_secret: toBuffer(sealedSecret), confirmed: 0, last_step: 0, created_at: at };
      await this.#db
        .insertInto('identity_totp')
        .values({ principal_id: principalId, ...values })
        .onConflict((oc) => oc.column('principal_id').doUpdateSet(values))
        .execute();
    });
  }
  confirmTotp(principalId: string): Promise<void> {
    return run('confirm totp', async () => {
      await this.#db.updateTable('identity_totp').set({ confirmed: 1 }).where('principal_id', '=', principalId).execute();
    });
  }
  advanceTotpStep(principalId: string, step: number): Promise<boolean> {
    return run('advance totp', async () => {
      // INVARIANT: compare-and-set in one statement, so one code is accepted once, even across nodes
      const r = await this.#db.updateTable('identity_totp').set({ last_step: step }).where('principal_id', '=', principalId).where('last_step', '<', step).executeTakeFirst();
      return r.numUpdatedRows > 0n;
    });
  }
  deleteTotp(principalId: string): Promise<void> {
    return run('delete totp', async () => {
      await this.#db.deleteFrom('identity_totp').where('principal_id', '=', principalId).execute();
    });
  }
  replaceRecoveryCodes(principalId: string, codeHashes: string[]): Promise<void> {
    return run('replace recovery codes', () =>
      this.#db.transaction().execute(async (trx) => {
        await trx.deleteFrom('identity_recovery_codes').where('principal_id', '=', principalId).execute();
        if (codeHashes.length > 0) await trx.insertInto('identity_recovery_codes').values(codeHashes.map((h) => ({ principal_id: principalId, code_hash: h, used_at: null }))).execute();
      }),
    );
  }
  useRecoveryCode(principalId: string, codeHash: string, at: number): Promise<boolean> {
    return run('use recovery code', async () => {
      const r = await this.#db.updateTable('identity_recovery_codes').set({ used_at: at }).where('principal_id', '=', principalId).where('code_hash', '=', codeHash).where('used_at', 'is', null).executeTakeFirst();
      return r.numUpdatedRows > 0n;
    });
  }
  countRecoveryCodes(principalId: string): Promise<number> {
    return run('count recovery codes', async () => {
      const r = await this.#db.selectFrom('identity_recovery_codes').select((eb) => eb.fn.countAll<number | string>().as('c')).where('principal_id', '=', principalId).where('used_at', 'is', null).executeTakeFirstOrThrow();
      return n(r.c);
    });
  }

  // ---- WebAuthn ----
  addWebAuthnCredential(c: WebAuthnCredentialRecord): Promise<void> {
    return run(
      'add webauthn credential',
      async () => {
        await this.#db
          .insertInto('identity_webauthn')
          .values({ id: c.id, principal_id: c.principalId, public_key: toBuffer(c.publicKey), counter: c.counter, transports: JSON.stringify(c.transports), name: c.name, created_at: c.createdAt, last_used_at: c.lastUsedAt })
          .execute();
      },
      () => new AlreadyExistsError('security key is already registered'),
    );
  }
  getWebAuthnCredential(id: string): Promise<WebAuthnCredentialRecord | null> {
    return run('get webauthn credential', async () => {
      const r = await this.#db.selectFrom('identity_webauthn').selectAll().where('id', '=', id).executeTakeFirst();
      return r === undefined ? null : webauthnFromRow(r);
    });
  }
  listWebAuthnCredentials(principalId: string): Promise<WebAuthnCredentialRecord[]> {
    return run('list webauthn credentials', async () => (await this.#db.selectFrom('identity_webauthn').selectAll().where('principal_id', '=', principalId).orderBy('created_at').execute()).map(webauthnFromRow));
  }
  updateWebAuthnCounter(id: string, counter: number, at: number): Promise<boolean> {
    return run('update webauthn counter', async () => {
      // authenticators without a counter always report 0; otherwise it must grow (clone detection)
      const r = await this.#db
        .updateTable('identity_webauthn')
        .set({ counter, last_used_at: at })
        .where('id', '=', id)
        .where((eb) => (counter === 0 ? eb('counter', '=', 0) : eb('counter', '<', counter)))
        .executeTakeFirst();
      return r.numUpdatedRows > 0n;
    });
  }
  deleteWebAuthnCredential(principalId: string, id: string): Promise<boolean> {
    return run('delete webauthn credential', async () => (await this.#db.deleteFrom('identity_webauthn').where('id', '=', id).where('principal_id', '=', principalId).executeTakeFirst()).numDeletedRows > 0n);
  }

  // ---- tickets ----
  createTicket(t: TicketRecord): Promise<void> {
    return run('create ticket', async () => {
      await this.#db
        .insertInto('identity_tickets')
        .values({ id: t.id, kind: t.kind, principal_id: t.principalId, session_id: t.sessionId, data: JSON.stringify(t.data), expires_at: t.expiresAt, consumed_at: t.consumedAt })
        .execute();
    });
  }
  consumeTicket(id: string, kind: string, at: number): Promise<TicketRecord | null> {
    return run('consume ticket', async () => {
      // INVARIANT: exactly one caller flips consumed_at from null; every other sees null
      const r = await this.#db.updateTable('identity_tickets').set({ consumed_at: at }).where('id', '=', id).where('kind', '=', kind).where('consumed_at', 'is', null).where('expires_at', '>', at).executeTakeFirst();
      if (r.numUpdatedRows === 0n) return null;
      const row = await this.#db.selectFrom('identity_tickets').selectAll().where('id', '=', id).executeTakeFirst();
      return row === undefined ? null : ticketFromRow(row);
    });
  }
  peekTicket(id: string, kind: string, at: number): Promise<TicketRecord | null> {
    return run('peek ticket', async () => {
      const row = await this.#db.selectFrom('identity_tickets').selectAll().where('id', '=', id).where('kind', '=', kind).where('consumed_at', 'is', null).where('expires_at', '>', at).executeTakeFirst();
      return row === undefined ? null : ticketFromRow(row);
    });
  }
  voidTickets(principalId: string, kind: string | null, at: number): Promise<number> {
    return run('void tickets', async () => {
      let q = this.#db.updateTable('identity_tickets').set({ consumed_at: at }).where('principal_id', '=', principalId).where('consumed_at', 'is', null);
      if (kind !== null) q = q.where('kind', '=', kind);
      return Number((await q.executeTakeFirst()).numUpdatedRows);
    });
  }

  // ---- sessions ----
  createSession(s: SessionRecord): Promise<void> {
    return run('create session', async () => {
      await this.#db
        .insertInto('identity_sessions')
        .values({ id: s.id, principal_id: s.principalId, kind: s.kind, methods: JSON.stringify(s.methods), created_at: s.createdAt, expires_at: s.expiresAt, revoked_at: s.revokedAt, revoke_reason: s.revokeReason, source_ip: s.sourceIp, user_agent: s.userAgent })
        .execute();
    });
  }
  getSession(id: string): Promise<SessionRecord | null> {
    return run('get session', async () => {
      const r = await this.#db.selectFrom('identity_sessions').selectAll().where('id', '=', id).executeTakeFirst();
      return r === undefined ? null : sessionFromRow(r);
    });
  }
  listSessions(principalId: string): Promise<SessionRecord[]> {
    return run('list sessions', async () => (await this.#db.selectFrom('identity_sessions').selectAll().where('principal_id', '=', principalId).orderBy('created_at', 'desc').limit(1000).execute()).map(sessionFromRow));
  }
  touchSessionMethod(id: string, method: string, at: number): Promise<void> {
    return run('touch session method', () =>
      this.#db.transaction().execute(async (trx) => {
        const r = await trx.selectFrom('identity_sessions').select(['methods', 'revoked_at']).where('id', '=', id).executeTakeFirst();
        if (r === undefined || r.revoked_at !== null) throw new NotFoundError('session not found');
        const methods = JSON.parse(r.methods) as Record<string, number>;
        methods[method] = at;
        await trx.updateTable('identity_sessions').set({ methods: JSON.stringify(methods) }).where('id', '=', id).execute();
      }),
    );
  }
  revokeSession(id: string, at: number, reason: string): Promise<boolean> {
    return run('revoke session', async () => {
      const exists = await this.#db.selectFrom('identity_sessions').select('id').where('id', '=', id).executeTakeFirst();
      if (exists === undefined) return false;
      await this.#db.updateTable('identity_sessions').set({ revoked_at: at, revoke_reason: reason }).where('id', '=', id).where('revoked_at', 'is', null).execute();
      return true;
    });
  }
  revokeSessionsOf(principalId: string, at: number, reason: string): Promise<number> {
    return run('revoke sessions', async () => {
      const r = await this.#db.updateTable('identity_sessions').set({ revoked_at: at, revoke_reason: reason }).where('principal_id', '=', principalId).where('revoked_at', 'is', null).executeTakeFirst();
      return Number(r.numUpdatedRows);
    });
  }
  addRefreshToken(hash: string, sessionId: string, at: number): Promise<void> {
    return run('add refresh token', async () => {
      await this.#db.insertInto('identity_refresh_tokens').values({ hash, session_id: sessionId, created_at: at, used_at: null }).execute();
    });
  }
  useRefreshToken(hash: string, at: number): Promise<RefreshUse> {
    return run('use refresh token', async () => {
      const r = await this.#db.updateTable('identity_refresh_tokens').set({ used_at: at }).where('hash', '=', hash).where('used_at', 'is', null).executeTakeFirst();
      const row = await this.#db.selectFrom('identity_refresh_tokens').select('session_id').where('hash', '=', hash).executeTakeFirst();
      if (row === undefined) return { status: 'unknown' };
      return r.numUpdatedRows > 0n ? { status: 'ok', sessionId: row.session_id } : { status: 'reused', sessionId: row.session_id };
    });
  }
  revokeJti(jti: string, expiresAt: number): Promise<void> {
    return run('revoke jti', async () => {
      await this.#db.insertInto('identity_revoked_jtis').values({ jti, expires_at: expiresAt }).onConflict((oc) => oc.column('jti').doNothing()).execute();
    });
  }
  isJtiRevoked(jti: string): Promise<boolean> {
    return run('check jti', async () => (await this.#db.selectFrom('identity_revoked_jtis').select('jti').where('jti', '=', jti).executeTakeFirst()) !== undefined);
  }
  markJtiSeen(key: string, expiresAt: number): Promise<boolean> {
    return run('mark jti', async () => {
      const r = await this.#db.insertInto('identity_seen_jtis').values({ key, expires_at: expiresAt }).onConflict((oc) => oc.column('key').doNothing()).executeTakeFirst();
      return (r.numInsertedOrUpdatedRows ?? 0n) > 0n;
    });
  }

  // ---- throttling ----
  getThrottle(key: string): Promise<ThrottleRecord | null> {
    return run('get throttle', async () => {
      const r = await this.#db.selectFrom('identity_throttle').selectAll().where('key', '=', key).executeTakeFirst();
      return r === undefined ? null : { key: r.key, failures: r.failures, windowStart: n(r.window_start), blockedUntil: n(r.blocked_until) };
    });
  }
  putThrottle(t: ThrottleRecord): Promise<void> {
    return run('put throttle', async () => {
      const values = { failures: t.failures, window_start: t.windowStart, blocked_until: t.blockedUntil };
      await this.#db.insertInto('identity_throttle').values({ key: t.key, ...values }).onConflict((oc) => oc.column('key').doUpdateSet(values)).execute();
    });
  }
  deleteThrottle(key: string): Promise<void> {
    return run('delete throttle', async () => {
      await this.#db.deleteFrom('identity_throttle').where('key', '=', key).execute();
    });
  }
  reserveThrottle(key: string, now: number, c: ThrottleCounting): Promise<ThrottleReservation> {
    return run('reserve throttle', async () => {
      const big = (v: number) => sql`cast(${v} as bigint)`;
      // the counted attempts after this one, computed from the row as it was
      const fresh = sql`identity_throttle.window_start < ${big(now - c.windowMs)}`;
      const next = sql`(case when ${fresh} then 1 else identity_throttle.failures + 1 end)`;
      const block = (n: number) => (n < c.free ? 0 : now + (c.blocksMs[Math.min(n - c.free, c.blocksMs.length - 1)] ?? 0));
      const cases = c.blocksMs.map((_, i) => sql`when ${next} = ${c.free + i} then ${big(block(c.free + i))}`);
      const blocked = sql`case when ${next} < ${c.free} then ${big(0)} ${sql.join(cases, sql` `)} else ${big(block(c.free + c.blocksMs.length))} end`;
      // INVARIANT: one statement counts and blocks, so no two attempts see the same count
      const { rows } = await sql<{ failures: number | string; blocked_until: number | string }>`
        insert into identity_throttle (key, failures, window_start, blocked_until) values (${key}, 1, ${big(now)}, ${big(block(1))})
        on conflict (key) do update set
          failures = ${next},
          window_start = case when ${fresh} then ${big(now)} else identity_throttle.window_start end,
          blocked_until = ${blocked}
        where identity_throttle.blocked_until <= ${big(now)}
        returning failures, blocked_until`.execute(this.#db);
      const r = rows[0];
      if (r !== undefined) return { counted: true, failures: n(r.failures), blockedUntil: n(r.blocked_until) };
      const t = await this.#db.selectFrom('identity_throttle').selectAll().where('key', '=', key).executeTakeFirst();
      return { counted: false, failures: t === undefined ? 0 : t.failures, blockedUntil: t === undefined ? 0 : n(t.blocked_until) };
    });
  }
  releaseThrottle(key: string, blockedUntil: number): Promise<void> {
    return run('release throttle', async () => {
      await sql`update identity_throttle set
          failures = case when failures > 0 then failures - 1 else 0 end,
          blocked_until = case when blocked_until = ${sql`cast(${blockedUntil} as bigint)`} then cast(0 as bigint) else blocked_until end
        where key = ${key}`.execute(this.#db);
    });
  }

  // ---- federation ----
  getExternalPrincipal(issuer: string, subject: string): Promise<string | null> {
    return run('get external id', async () => (await this.#db.selectFrom('identity_external_ids').select('principal_id').where('issuer', '=', issuer).where('subject', '=', subject).executeTakeFirst())?.principal_id ?? null);
  }
  linkExternal(issuer: string, subject: string, principalId: string): Promise<void> {
    return run('link external id', async () => {
      await this.#db.insertInto('identity_external_ids').values({ issuer, subject, principal_id: principalId }).execute();
    });
  }
  putProvider(p: ProviderRecord): Promise<void> {
    return run('put provider', async () => {
      const values = { config: JSON.stringify(p.config), sealed_secret: p.sealedSecret === null ? null : toBuffer(p.sealedSecret), updated_at: p.updatedAt };
      await this.#db.insertInto('identity_providers').values({ kind: p.kind, name: p.name, ...values }).onConflict((oc) => oc.columns(['kind', 'name']).doUpdateSet(values)).execute();
    });
  }
  getProvider(kind: ProviderRecord['kind'], name: string): Promise<ProviderRecord | null> {
    return run('get provider', async () => {
      const r = await this.#db.selectFrom('identity_providers').selectAll().where('kind', '=', kind).where('name', '=', name).executeTakeFirst();
      return r === undefined ? null : providerFromRow(r);
    });
  }
  listProviders(kind: ProviderRecord['kind']): Promise<ProviderRecord[]> {
    return run('list providers', async () => (await this.#db.selectFrom('identity_providers').selectAll().where('kind', '=', kind).orderBy('name').execute()).map(providerFromRow));
  }
  deleteProvider(kind: ProviderRecord['kind'], name: string): Promise<boolean> {
    return run('delete provider', async () => (await this.#db.deleteFrom('identity_providers').where('kind', '=', kind).where('name', '=', name).executeTakeFirst()).numDeletedRows > 0n);
  }
  addClientKey(k: ClientKeyRecord): Promise<void> {
    return run(
      'add client key',
      async () => {
        await this.#db.insertInto('identity_client_keys').values({ kid: k.kid, principal_id: k.principalId, jwk: k.jwk, created_at: k.createdAt, revoked_at: k.revokedAt }).execute();
      },
      () => new AlreadyExistsError(`key \`${k.kid}\` already exists`),
    );
  }
  getClientKey(kid: string): Promise<ClientKeyRecord | null> {
    return run('get client key', async () => {
      const r = await this.#db.selectFrom('identity_client_keys').selectAll().where('kid', '=', kid).executeTakeFirst();
      return r === undefined ? null : clientKeyFromRow(r);
    });
  }
  listClientKeys(principalId: string): Promise<ClientKeyRecord[]> {
    return run('list client keys', async () => (await this.#db.selectFrom('identity_client_keys').selectAll().where('principal_id', '=', principalId).orderBy('created_at').execute()).map(clientKeyFromRow));
  }
  revokeClientKey(kid: string, at: number): Promise<boolean> {
    return run('revoke client key', async () => (await this.#db.updateTable('identity_client_keys').set({ revoked_at: at }).where('kid', '=', kid).where('revoked_at', 'is', null).executeTakeFirst()).numUpdatedRows > 0n);
  }

  // ---- SCIM ----
  putScim(r: ScimRecord): Promise<void> {
    return run(
      'put scim record',
      async () => {
        const values = { resource_type: r.resourceType, scim_name: r.scimName, external_id: r.externalId, active: r.active ? 1 : 0, data: JSON.stringify(r.data), updated_at: r.updatedAt, deleted_at: r.deletedAt };
        await this.#db
          .insertInto('identity_scim')
          .values({ principal_id: r.principalId, created_at: r.createdAt, ...values })
          .onConflict((oc) => oc.column('principal_id').doUpdateSet(values))
          .execute();
      },
      () => new AlreadyExistsError(`\`${r.scimName}\` already exists`),
    );
  }
  getScim(principalId: string): Promise<ScimRecord | null> {
    return run('get scim record', async () => {
      const r = await this.#db.selectFrom('identity_scim').selectAll().where('principal_id', '=', principalId).where('deleted_at', 'is', null).executeTakeFirst();
      return r === undefined ? null : scimFromRow(r);
    });
  }
  findScim(resourceType: ScimRecord['resourceType'], attribute: 'scimName' | 'externalId', value: string): Promise<ScimRecord | null> {
    return run('find scim record', async () => {
      const column = attribute === 'scimName' ? 'scim_name' : 'external_id';
      const r = await this.#db.selectFrom('identity_scim').selectAll().where('resource_type', '=', resourceType).where(column, '=', value).where('deleted_at', 'is', null).executeTakeFirst();
      return r === undefined ? null : scimFromRow(r);
    });
  }
  listScim(resourceType: ScimRecord['resourceType'], options: { offset: number; limit: number }) {
    return run('list scim records', async () => {
      const base = this.#db.selectFrom('identity_scim').where('resource_type', '=', resourceType).where('deleted_at', 'is', null);
      const total = n((await base.select((eb) => eb.fn.countAll<number | string>().as('c')).executeTakeFirstOrThrow()).c);
      const rows = await base.selectAll().orderBy('created_at').orderBy('principal_id').offset(options.offset).limit(options.limit).execute();
      return { items: rows.map(scimFromRow), total };
    });
  }
  addScimToken(t: ScimTokenRecord): Promise<void> {
    return run('add scim token', async () => {
      await this.#db.insertInto('identity_scim_tokens').values({ id: t.id, hash: t.hash, hint: t.hint, created_at: t.createdAt, revoked_at: t.revokedAt }).execute();
    });
  }
  getScimTokenByHash(hash: string): Promise<ScimTokenRecord | null> {
    return run('get scim token', async () => {
      const r = await this.#db.selectFrom('identity_scim_tokens').selectAll().where('hash', '=', hash).executeTakeFirst();
      return r === undefined ? null : { id: r.id, hash: r.hash, hint: r.hint, createdAt: n(r.created_at), revokedAt: nn(r.revoked_at) };
    });
  }
  listScimTokens(): Promise<ScimTokenRecord[]> {
    return run('list scim tokens', async () =>
      (await this.#db.selectFrom('identity_scim_tokens').selectAll().orderBy('created_at').execute()).map((r) => ({ id: r.id, hash: r.hash, hint: r.hint, createdAt: n(r.created_at), revokedAt: nn(r.revoked_at) })),
    );
  }
  revokeScimToken(id: string, at: number): Promise<boolean> {
    return run('revoke scim token', async () => (await this.#db.updateTable('identity_scim_tokens').set({ revoked_at: at }).where('id', '=', id).where('revoked_at', 'is', null).executeTakeFirst()).numUpdatedRows > 0n);
  }

  // ---- devices ----
  addDevice(d: DeviceRecord): Promise<void> {
    return run('add device', async () => {
      await this.#db
        .insertInto('identity_devices')
        .values({ id: d.id, principal_id: d.principalId, name: d.name, public_key: d.publicKey, status: d.status, created_at: d.createdAt, decided_by: d.decidedBy, decided_at: d.decidedAt })
        .execute();
    });
  }
  getDevice(id: string): Promise<DeviceRecord | null> {
    return run('get device', async () => {
      const r = await this.#db.selectFrom('identity_devices').selectAll().where('id', '=', id).executeTakeFirst();
      return r === undefined ? null : deviceFromRow(r);
    });
  }
  listDevices(principalId?: string): Promise<DeviceRecord[]> {
    return run('list devices', async () => {
      let q = this.#db.selectFrom('identity_devices').selectAll();
      if (principalId !== undefined) q = q.where('principal_id', '=', principalId);
      return (await q.orderBy('created_at').limit(1000).execute()).map(deviceFromRow);
    });
  }
  decideDevice(id: string, from: DeviceStatus[], to: DeviceStatus, by: string, at: number): Promise<boolean> {
    return run('decide device', async () => {
      const r = await this.#db.updateTable('identity_devices').set({ status: to, decided_by: by, decided_at: at }).where('id', '=', id).where('status', 'in', from).executeTakeFirst();
      return r.numUpdatedRows > 0n;
    });
  }

  // ---- accounts ----
  deletePrincipal(id: string): Promise<void> {
    return run('delete principal', () =>
      this.#db.transaction().execute(async (trx) => {
        const exists = await trx.selectFrom('principals').select('id').where('id', '=', id).executeTakeFirst();
        if (exists === undefined) throw new NotFoundError('principal not found');
        for (const t of ['identity_passwords', 'identity_totp', 'identity_recovery_codes', 'identity_webauthn', 'identity_sessions', 'identity_external_ids', 'identity_client_keys', 'identity_scim', 'identity_devices'] as const) {
          await trx.deleteFrom(t).where('principal_id', '=', id).execute();
        }
        await trx.deleteFrom('memberships').where((eb) => eb.or([eb('group_id', '=', id), eb('member_id', '=', id)])).execute();
        await trx.deleteFrom('tokens').where('principal_id', '=', id).execute();
        // the lineage rows stay (revoked before the deletion): a credential minted from one of these must find its parent dead, not missing
        await trx.deleteFrom('s3_credentials').where('principal_id', '=', id).execute();
        await trx.deleteFrom('grants').where('principal_id', '=', id).execute();
        await trx.deleteFrom('principals').where('id', '=', id).execute();
      }),
    );
  }
  deleteGrantsOf(principalId: string): Promise<number> {
    return run('delete grants', async () => Number((await this.#db.deleteFrom('grants').where('principal_id', '=', principalId).executeTakeFirst()).numDeletedRows));
  }
  revokeTokensOf(principalId: string, at: number): Promise<number> {
    return run('revoke tokens', async () => Number((await this.#db.updateTable('tokens').set({ revoked_at: at }).where('principal_id', '=', principalId).where('revoked_at', 'is', null).executeTakeFirst()).numUpdatedRows));
  }
  sweep(now: number): Promise<void> {
    return run('sweep', async () => {
      await this.#db.deleteFrom('identity_tickets').where('expires_at', '<', now).execute();
      await this.#db.deleteFrom('identity_revoked_jtis').where('expires_at', '<', now).execute();
      await this.#db.deleteFrom('identity_seen_jtis').where('expires_at', '<', now).execute();
    });
  }
}

async function run<T>(operation: string, fn: () => Promise<T>, unique?: () => CofferError): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (isCofferError(err)) throw err;
    const failure = classifyDbError(err);
    if (failure.kind === 'unique') throw unique?.() ?? new AlreadyExistsError();
    if (failure.kind === 'foreign-key') throw new NotFoundError('principal not found');
    throw storageFailure(failure, `identity store: ${operation}`, err);
  }
}

type Row<T extends keyof IdentityTables> = Selectable<IdentityTables[T]>;

function webauthnFromRow(r: Row<'identity_webauthn'>): WebAuthnCredentialRecord {
  return { id: r.id, principalId: r.principal_id, publicKey: fromBuffer(r.public_key), counter: n(r.counter), transports: JSON.parse(r.transports) as string[], name: r.name, createdAt: n(r.created_at), lastUsedAt: nn(r.last_used_at) };
}
function ticketFromRow(r: Row<'identity_tickets'>): TicketRecord {
  return { id: r.id, kind: r.kind, principalId: r.principal_id, sessionId: r.session_id, data: JSON.parse(r.data) as Record<string, unknown>, expiresAt: n(r.expires_at), consumedAt: nn(r.consumed_at) };
}
function sessionFromRow(r: Row<'identity_sessions'>): SessionRecord {
  return {
    id: r.id,
    principalId: r.principal_id,
    kind: r.kind === 'workload' ? 'workload' : 'interactive',
    methods: JSON.parse(r.methods) as Record<string, number>,
    createdAt: n(r.created_at),
    expiresAt: n(r.expires_at),
    revokedAt: nn(r.revoked_at),
    revokeReason: r.revoke_reason,
    sourceIp: r.source_ip,
    userAgent: r.user_agent,
  };
}
function providerFromRow(r: Row<'identity_providers'>): ProviderRecord {
  return { kind: r.kind === 'workload' ? 'workload' : 'sso', name: r.name, config: JSON.parse(r.config) as Record<string, unknown>, sealedSecret: r.sealed_secret === null ? null : fromBuffer(r.sealed_secret), updatedAt: n(r.updated_at) };
}
function clientKeyFromRow(r: Row<'identity_client_keys'>): ClientKeyRecord {
  return { kid: r.kid, principalId: r.principal_id, jwk: r.jwk, createdAt: n(r.created_at), revokedAt: nn(r.revoked_at) };
}
function scimFromRow(r: Row<'identity_scim'>): ScimRecord {
  return {
    principalId: r.principal_id,
    resourceType: r.resource_type === 'Group' ? 'Group' : 'User',
    scimName: r.scim_name,
    externalId: r.external_id,
    active: r.active === 1,
    data: JSON.parse(r.data) as Record<string, unknown>,
    createdAt: n(r.created_at),
    updatedAt: n(r.updated_at),
    deletedAt: nn(r.deleted_at),
  };
}
function deviceFromRow(r: Row<'identity_devices'>): DeviceRecord {
  return { id: r.id, principalId: r.principal_id, name: r.name, publicKey: r.public_key, status: r.status as DeviceStatus, createdAt: n(r.created_at), decidedBy: r.decided_by, decidedAt: nn(r.decided_at) };
}
