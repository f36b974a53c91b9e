/**
 * Attack (issue 11, finding 4): credentials minted by a session outlive it. A token
 * minted by a 15-minute session lasted 90 days and survived logout and a password
 * reset; S3 credentials minted by a session survived logout and worked again after a
 * monitor lock was lifted ("stolen credentials stay dead" was the promise). Credential
 * lineage: a minted credential ends no later than its parent (unless
 * `mintedCredentialMaxTtlSeconds` allows) and ends with it: logout, password change,
 * lock, disable, deletion.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ERIN_PASSWORD, openSecurityHarness } from './security-harness.js';
import type { SecurityHarness } from './security-harness.js';

type Err = { error: { code: string } };
const QUARTER = 15 * 60;

void describe('attack: a credential minted by a session outlives it', () => {
  let h: SecurityHarness;
  const rules = join(tmpdir(), `coffer-sec-rules-${process.pid}.json`);
  before(async () => {
    // a 15-minute session (the shortest the configuration allows is 5), and a monitor rule that locks after 3 denials
    writeFileSync(rules, JSON.stringify({ probing: { action: 'lock', maxDenials: 3, cooldownMinutes: 0 } }));
    h = await openSecurityHarness({ sessionTtlSeconds: QUARTER, monitorRulesFile: rules });
  });
  after(async () => h.close());

  const whoami = async (token: string) => {
    const r = await h.json<Err>(token, 'GET', '/v1/whoami');
    return r.status === 200 ? '200' : r.body.error.code;
  };

  test('a token minted by a 15-minute session ends with the session, whatever lifetime it asked for', async () => {
    const s = await h.login('erin', ERIN_PASSWORD);
    const t0 = h.now();
    const minted = await h.mint(s.accessToken, { ttlSeconds: 90 * 24 * 3600 });
    assert.equal(minted.status, 201);
    assert.equal(Date.parse(minted.body.info.expiresAt!), t0 + QUARTER * 1000, 'capped at the session\'s end');
    const key = await h.s3Key(minted.body.token);
    h.advance(QUARTER * 1000 - 1000);
    assert.equal(await whoami(minted.body.token), '200');
    h.advance(2000);
    assert.equal(await whoami(minted.body.token), 'COFFER_AUTH_TOKEN_EXPIRED');
    assert.equal(await h.s3Get(key.body, 'ml', 'open'), 'ExpiredToken');
  });

  test('logout ends what the session minted: tokens, their tokens, S3 keys', async () => {
    const s = await h.login('erin', ERIN_PASSWORD);
    const token = await h.mint(s.accessToken);
    const grandchild = await h.mint(token.body.token);
    const key = await h.s3Key(s.accessToken);
    const keyOfToken = await h.s3Key(grandchild.body.token);
    assert.equal(await h.s3Get(key.body, 'ml', 'open'), '200');
    assert.equal((await h.json(s.accessToken, 'POST', '/v1/auth/logout')).status, 204);
    for (const t of [token.body.token, grandchild.body.token]) assert.equal(await whoami(t), 'COFFER_AUTH_TOKEN_REVOKED');
    for (const k of [key.body, keyOfToken.body]) assert.equal(await h.s3Get(k, 'ml', 'open'), 'InvalidAccessKeyId');
  });

  test('a password reset by an admin, or a change by the user, ends every other credential of the user', async () => {
    const s = await h.login('erin', ERIN_PASSWORD);
    const token = await h.mint(s.accessToken);
    const key = await h.s3Key(token.body.token);
    assert.equal((await h.json(h.adminToken, 'PUT', '/v1/auth/password', { principal: 'erin', password: ERIN_PASSWORD })).status, 204);
    assert.equal(await whoami(s.accessToken), 'COFFER_AUTH_TOKEN_REVOKED');
    assert.equal(await whoami(token.body.token), 'COFFER_AUTH_TOKEN_REVOKED');
    assert.equal(await h.s3Get(key.body, 'ml', 'open'), 'InvalidAccessKeyId');
    assert.equal(await whoami(h.erinToken), 'COFFER_AUTH_TOKEN_REVOKED', 'the admin-issued token too');
    // a change by erin herself keeps the session she changed it from, and only it (and what it rests on)
    const mine = await h.login('erin', ERIN_PASSWORD);
    const other = await h.login('erin', ERIN_PASSWORD);
    const otherToken = await h.mint(other.accessToken);
    const mineToken = await h.mint(mine.accessToken);
    const changed = await h.json(mineToken.body.token, 'PUT', '/v1/auth/password', { password: 'ember-violet-canyon-31', currentPassword: ERIN_PASSWORD });
    assert.equal(changed.status, 204);
    assert.equal(await whoami(mineToken.body.token), '200');
    assert.equal(await whoami(mine.accessToken), '200', 'the session the changing token rests on');
    assert.equal(await whoami(other.accessToken), 'COFFER_AUTH_TOKEN_REVOKED');
    assert.equal(await whoami(otherToken.body.token), 'COFFER_AUTH_TOKEN_REVOKED');
    assert.equal((await h.json(mineToken.body.token, 'PUT', '/v1/auth/password', { password: ERIN_PASSWORD, currentPassword: 'ember-violet-canyon-31' })).status, 204);
  });

  test('S3 keys minted by a session stay dead after a monitor lock is lifted', async () => {
    const s = await h.login('erin', ERIN_PASSWORD);
    const key = await h.s3Key(s.accessToken);
    const token = await h.mint(s.accessToken);
    assert.equal(await h.s3Get(key.body, 'ml', 'open'), '200');
    // erin probes: denied requests until the monitor locks her
    for (let i = 0; i < 4; i++) await h.json(s.accessToken, 'GET', `/v1/projects/hidden-${i}`);
    await h.runtime.monitor.idle();
    assert.equal(await h.s3Get(key.body, 'ml', 'open'), 'InvalidAccessKeyId', 'locked: the key is revoked');
    const admin = await h.steppedUp('admin');
    const unlocked = await h.json(admin, 'POST', '/v1/monitor/unlock/erin', { note: 'reviewed' });
    assert.equal(unlocked.status, 200, JSON.stringify(unlocked.body));
    assert.equal(await h.s3Get(key.body, 'ml', 'open'), 'InvalidAccessKeyId', 'unlocked: still dead');
    assert.equal(await whoami(token.body.token), 'COFFER_AUTH_TOKEN_REVOKED');
    assert.equal(await whoami(s.accessToken), 'COFFER_AUTH_TOKEN_REVOKED');
    // new credentials work
    const fresh = await h.login('erin', ERIN_PASSWORD);
    assert.equal(await h.s3Get((await h.s3Key(fresh.accessToken)).body, 'ml', 'open'), '200');
  });

  test('disable then enable brings nothing back; deleting the issuer ends what it issued for others', async () => {
    const admin = await h.steppedUp('admin');
    for (const body of [{ kind: 'user', name: 'olga' }, { kind: 'service-account', name: 'olga-bot', owner: 'admin' }]) {
      assert.equal((await h.json(admin, 'POST', '/v1/principals', body)).status, 201);
    }
    assert.equal((await h.json(admin, 'POST', '/v1/groups/admins/members', { member: 'olga' })).status, 204);
    const olga = await h.steppedUp('olga');
    const forBot = await h.mint(olga, { principal: 'olga-bot', ttlSeconds: 3600 });
    assert.equal(forBot.status, 201);
    assert.equal(await whoami(forBot.body.token), '200');
    const s = await h.login('erin', ERIN_PASSWORD);
    const erins = await h.mint(s.accessToken);
    assert.equal((await h.json(admin, 'POST', '/v1/principals/erin/disable')).status, 204);
    assert.equal((await h.json(admin, 'POST', '/v1/principals/erin/enable')).status, 204);
    assert.equal(await whoami(erins.body.token), 'COFFER_AUTH_TOKEN_REVOKED');
    assert.equal(await whoami(s.accessToken), 'COFFER_AUTH_TOKEN_REVOKED');
    // olga leaves: the service-account token she issued rested on her session
    assert.equal((await h.json(admin, 'DELETE', '/v1/principals/olga')).status, 204);
    assert.equal(await whoami(forBot.body.token), 'COFFER_AUTH_TOKEN_REVOKED');
  });
});

void describe('configuration: mintedCredentialMaxTtlSeconds allows a longer life, never past a revocation', () => {
  let h: SecurityHarness;
  before(async () => {
    h = await openSecurityHarness({ sessionTtlSeconds: QUARTER, mintedCredentialMaxTtlSeconds: 86_400 });
  });
  after(async () => h.close());

  test('a minted token lives past its session\'s end up to the configured bound, and still dies at logout', async () => {
    const s = await h.login('erin', ERIN_PASSWORD);
    const t0 = h.now();
    const long = await h.mint(s.accessToken, { ttlSeconds: 30 * 24 * 3600 });
    assert.equal(Date.parse(long.body.info.expiresAt!), t0 + 86_400_000);
    h.advance(QUARTER * 1000 + 1000);
    assert.equal((await h.json(long.body.token, 'GET', '/v1/whoami')).status, 200, 'the session has ended; the token goes on');
    const s2 = await h.login('erin', ERIN_PASSWORD);
    const other = await h.mint(s2.accessToken, { ttlSeconds: 3600 });
    assert.equal((await h.json(s2.accessToken, 'POST', '/v1/auth/logout')).status, 204);
    assert.equal((await h.json<Err>(other.body.token, 'GET', '/v1/whoami')).body.error.code, 'COFFER_AUTH_TOKEN_REVOKED');
  });
});
