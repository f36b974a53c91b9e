import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { AlreadyExistsError, NotFoundError } from '../../src/domain/errors.js';
import type { Principal } from '../../src/domain/types.js';
import { openPostgresStore, openSqliteStore } from '../../src/store/index.js';
import type { SqlMetadataStore } from '../../src/store/index.js';
import type { IdentityStore } from '../../src/store/identity-store.js';
import { SqlIdentityStore } from '../../src/store/sql/identity-sql-store.js';

// The IdentityStore contract, run on SQLite and on PostgreSQL (a fresh database made
// from COFFER_TEST_PG_URL, dropped after; in CI it must run).

const baseUrl = process.env.COFFER_TEST_PG_URL;
const inCi = process.env.CI !== undefined && process.env.CI !== '' && process.env.CI !== 'false';

async function pgAdmin(url: string, sql: string): Promise<void> {
  const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 10_000 });
  await c.connect();
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}

function contract(name: string, open: () => Promise<{ core: SqlMetadataStore; close: () => Promise<void> }>, skip: string | false = false) {
  void describe(`IdentityStore contract: ${name}`, { skip, timeout: 60_000 }, () => {
    let core: SqlMetadataStore;
    let store: IdentityStore;
    let close: () => Promise<void>;
    const user: Principal = { id: 'prn_user1', kind: 'user', name: 'olga', displayName: 'Olga', ownerId: null, disabled: false, createdAt: 1 };
    before(async () => {
      ({ core, close } = await open());
      await core.migrate();
      await core.migrate(); // idempotent
      store = new SqlIdentityStore(core);
      await core.createPrincipal(user);
    });
    after(async () => close());

    test('passwords and TOTP with a compare-and-set step', async () => {
      assert.equal(await store.getPasswordHash(user.id), null);
      await store.setPasswordHash(user.id, '$argon2id$a', 1);
      await store.setPasswordHash(user.id, '$argon2id$b', 2);
      assert.equal(await store.getPasswordHash(user.id), '$argon2id$b');
      await store.putTotp(user.id, Buffer.from([1, 2, 3]), 5);
      assert.deepEqual(await store.getTotp(user.id), { sealedSecret: new Uint8Array([1, 2, 3]), confirmed: false, lastStep: 0 });
      await store.confirmTotp(user.id);
      assert.equal(await store.advanceTotpStep(user.id, 100), true);
      assert.equal(await store.advanceTotpStep(user.id, 100), false, 'same step twice');
      assert.equal(await store.advanceTotpStep(user.id, 99), false, 'older step');
      assert.equal((await store.getTotp(user.id))!.lastStep, 100);
      await store.replaceRecoveryCodes(user.id, ['h1', 'h2']);
      assert.equal(await store.useRecoveryCode(user.id, 'h1', 7), true);
      assert.equal(await store.useRecoveryCode(user.id, 'h1', 8), false);
      assert.equal(await store.countRecoveryCodes(user.id), 1);
    });

    test('WebAuthn credentials and the growing counter', async () => {
      const c = { id: 'cred-1', principalId: user.id, publicKey: new Uint8Array(randomBytes(77)), counter: 1, transports: ['internal'], name: 'key', createdAt: 1, lastUsedAt: null };
      await store.addWebAuthnCredential(c);
      await assert.rejects(store.addWebAuthnCredential(c), AlreadyExistsError);
      assert.deepEqual(await store.getWebAuthnCredential('cred-1'), c);
      assert.equal(await store.updateWebAuthnCounter('cred-1', 5, 9), true);
      assert.equal(await store.updateWebAuthnCounter('cred-1', 5, 9), false, 'counter must grow');
      assert.equal(await store.updateWebAuthnCounter('cred-1', 3, 9), false);
      assert.equal((await store.listWebAuthnCredentials(user.id)).length, 1);
      await assert.rejects(store.addWebAuthnCredential({ ...c, id: 'cred-x', principalId: 'prn_nobody' }), NotFoundError);
    });

    test('tickets are consumed exactly once, even concurrently, and expire', async () => {
      await store.createTicket({ id: 't1', kind: 'mfa', principalId: user.id, sessionId: null, data: { a: 1 }, expiresAt: 1000, consumedAt: null });
      assert.equal(await store.peekTicket('t1', 'other', 10), null, 'kind must match');
      assert.deepEqual((await store.peekTicket('t1', 'mfa', 10))!.data, { a: 1 });
      const results = await Promise.all(Array.from({ length: 8 }, () => store.consumeTicket('t1', 'mfa', 10)));
      assert.equal(results.filter((r) => r !== null).length, 1);
      await store.createTicket({ id: 't2', kind: 'mfa', principalId: null, sessionId: null, data: {}, expiresAt: 1000, consumedAt: null });
      assert.equal(await store.consumeTicket('t2', 'mfa', 1000), null, 'expired');
    });

    test('sessions, refresh rotation with reuse detection, revocation, jtis', async () => {
      const s = { id: 'ses_1', principalId: user.id, kind: 'interactive' as const, methods: { password: 10 }, createdAt: 10, expiresAt: 10_000, revokedAt: null, revokeReason: null, sourceIp: '127.0.0.1', userAgent: 'ua' };
      await store.createSession(s);
      await store.createSession({ ...s, id: 'ses_2' });
      await store.touchSessionMethod('ses_1', 'webauthn', 20);
      assert.deepEqual((await store.getSession('ses_1'))!.methods, { password: 10, webauthn: 20 });
      await store.addRefreshToken('rt1', 'ses_1', 10);
      const uses = await Promise.all([store.useRefreshToken('rt1', 11), store.useRefreshToken('rt1', 11)]);
      assert.deepEqual(uses.map((u) => u.status).sort(), ['ok', 'reused']);
      assert.deepEqual(await store.useRefreshToken('nope', 11), { status: 'unknown' });
      assert.equal(await store.revokeSession('ses_1', 30, 'test'), true);
      assert.equal(await store.revokeSession('ses_missing', 30, 'test'), false);
      assert.equal(await store.revokeSessionsOf(user.id, 31, 'all'), 1, 'only the still active one');
      assert.equal((await store.getSession('ses_1'))!.revokedAt, 30, 'first revocation kept');
      await store.revokeJti('j1', 5000);
      assert.equal(await store.isJtiRevoked('j1'), true);
      assert.equal(await store.markJtiSeen('a1', 5000), true);
      assert.equal(await store.markJtiSeen('a1', 5000), false);
      await store.sweep(6000);
      assert.equal(await store.isJtiRevoked('j1'), false, 'swept after expiry');
    });

    test('throttle, providers, client keys, SCIM records and tokens, devices', async () => {
      await store.putThrottle({ key: 'account:olga', failures: 3, windowStart: 1, blockedUntil: 0 });
      assert.equal((await store.getThrottle('account:olga'))!.failures, 3);
      await store.deleteThrottle('account:olga');
      assert.equal(await store.getThrottle('account:olga'), null);
      await store.putProvider({ kind: 'sso', name: 'corp', config: { issuer: 'x' }, sealedSecret: Buffer.from([9]), updatedAt: 1 });
      await store.putProvider({ kind: 'sso', name: 'corp', config: { issuer: 'y' }, sealedSecret: null, updatedAt: 2 });
      assert.deepEqual((await store.getProvider('sso', 'corp'))!.config, { issuer: 'y' });
      assert.equal((await store.listProviders('workload')).length, 0);
      await store.addClientKey({ kid: 'k1', principalId: user.id, jwk: '{}', createdAt: 1, revokedAt: null });
      assert.equal(await store.revokeClientKey('k1', 2), true);
      assert.equal(await store.revokeClientKey('k1', 3), false);
      await store.putScim({ principalId: user.id, resourceType: 'User', scimName: 'olga@example.com', externalId: 'e1', active: true, data: { name: { givenName: 'Olga' } }, createdAt: 1, updatedAt: 1, deletedAt: null });
      assert.equal((await store.findScim('User', 'scimName', 'olga@example.com'))!.principalId, user.id);
      assert.equal((await store.findScim('User', 'externalId', 'e1'))!.principalId, user.id);
      assert.deepEqual((await store.listScim('User', { offset: 0, limit: 10 })).total, 1);
      await store.addScimToken({ id: 'st1', hash: 'h', hint: 'x', createdAt: 1, revokedAt: null });
      assert.equal((await store.getScimTokenByHash('h'))!.id, 'st1');
      await store.addDevice({ id: 'dev_1', principalId: user.id, name: 'laptop', publicKey: '{}', status: 'pending', createdAt: 1, decidedBy: null, decidedAt: null });
      assert.equal(await store.decideDevice('dev_1', ['approved'], 'revoked', 'admin', 2), false, 'wrong state');
      assert.equal(await store.decideDevice('dev_1', ['pending'], 'approved', 'admin', 2), true);
      assert.equal((await store.getDevice('dev_1'))!.status, 'approved');
    });

    test('deleting a principal removes everything attached to it', async () => {
      await core.createToken({ id: 'tok_1', principalId: user.id, hash: randomBytes(32).toString('hex'), hint: 'h', description: '', createdAt: 1, expiresAt: null, revokedAt: null, lastUsedAt: null });
      assert.equal(await store.revokeTokensOf(user.id, 5), 1);
      await store.deletePrincipal(user.id);
      assert.equal(await core.getPrincipal(user.id), null);
      assert.equal(await store.getPasswordHash(user.id), null);
      assert.deepEqual(await store.listWebAuthnCredentials(user.id), []);
      await assert.rejects(store.deletePrincipal(user.id), NotFoundError);
    });
  });
}

const sqliteDir = mkdtempSync(join(tmpdir(), 'coffer-idstore-'));
contract('SQLite', async () => {
  const core = openSqliteStore(join(sqliteDir, 'coffer.db'));
  return { core, close: async () => { await core.close(); rmSync(sqliteDir, { recursive: true, force: true }); } };
});

const dbName = `coffer_id_${randomBytes(6).toString('hex')}`;
contract(
  'PostgreSQL',
  async () => {
    assert.ok(baseUrl, 'CI is set but COFFER_TEST_PG_URL is not: the PostgreSQL contract must run in CI');
    await pgAdmin(baseUrl, `CREATE DATABASE ${dbName}`);
    const u = new URL(baseUrl);
    u.pathname = `/${dbName}`;
    const core = openPostgresStore(u.toString());
    return { core, close: async () => { await core.close(); await pgAdmin(baseUrl, `DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`); } };
  },
  baseUrl === undefined || baseUrl === '' ? (inCi ? false : 'skipped: set COFFER_TEST_PG_URL to run on PostgreSQL') : false,
);
