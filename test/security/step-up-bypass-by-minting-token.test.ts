/**
 * Attack (issue 11, finding 2): a password-only session that is refused a restricted
 * download or an admin action mints an API token (POST /v1/tokens) or S3 credentials
 * (POST /v1/s3/credentials). The new credential used to be marked as a plain token,
 * which the step-up policies exempt: it downloaded the restricted version, ran admin
 * actions, and counted as a fresh authentication for break-glass and unlock.
 * Credential lineage: a minted credential carries its parent's methods and their age,
 * never more.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ADMIN_PASSWORD } from '../integration/access-harness.js';
import { ERIN_PASSWORD, openSecurityHarness } from './security-harness.js';
import type { SecurityHarness } from './security-harness.js';

type Err = { error: { code: string } };
type Session = { mfa: { methods: string[]; ageSeconds: number } };
const glass = { project: 'ml', artifact: 'secret', role: 'reader', durationSeconds: 600, reason: 'INC-9: the model returns NaN in prod' };

void describe('attack: step-up bypass by minting a credential', () => {
  let h: SecurityHarness;
  before(async () => {
    h = await openSecurityHarness();
  });
  after(async () => h.close());

  test('a password-only session is refused restricted data; the API token it mints is refused the same', async () => {
    const s = await h.login('erin', ERIN_PASSWORD);
    assert.equal(await h.download(s.accessToken, 'secret'), 'COFFER_AUTH_STEP_UP_REQUIRED');
    assert.equal(await h.download(s.accessToken, 'open'), '200');
    const minted = await h.mint(s.accessToken);
    assert.equal(minted.status, 201);
    assert.equal(minted.body.info.parentId, s.sessionId, 'the token names the session that minted it');
    assert.equal(await h.download(minted.body.token, 'secret'), 'COFFER_AUTH_STEP_UP_REQUIRED');
    assert.equal(await h.download(minted.body.token, 'open'), '200');
    const info = await h.json<Session>(minted.body.token, 'GET', '/v1/auth/session');
    assert.deepEqual(info.body.mfa.methods, ['password'], 'a token minted by a password-only session is password-only');
    // and a token minted by that token: still password-only
    const grandchild = await h.mint(minted.body.token);
    assert.equal(await h.download(grandchild.body.token, 'secret'), 'COFFER_AUTH_STEP_UP_REQUIRED');
  });

  test('the S3 credentials a password-only session mints are refused restricted data over S3', async () => {
    const s = await h.login('erin', ERIN_PASSWORD);
    const key = await h.s3Key(s.accessToken);
    assert.equal(key.status, 201);
    assert.equal(await h.s3Get(key.body, 'ml', 'secret'), 'AccessDenied');
    assert.equal(await h.s3Get(key.body, 'ml', 'open'), '200');
    // through a minted token first: the same
    const token = await h.mint(s.accessToken);
    const key2 = await h.s3Key(token.body.token);
    assert.equal(await h.s3Get(key2.body, 'ml', 'secret'), 'AccessDenied');
  });

  test('an admin password-only session and what it mints are refused admin actions', async () => {
    const s = await h.login('admin', ADMIN_PASSWORD);
    const direct = await h.json<Err>(s.accessToken, 'POST', '/v1/principals', { kind: 'user', name: 'mallory' });
    assert.equal(direct.body.error.code, 'COFFER_AUTH_STEP_UP_REQUIRED');
    const minted = await h.mint(s.accessToken);
    assert.equal(minted.status, 201);
    for (const [method, url, body] of [
      ['POST', '/v1/principals', { kind: 'user', name: 'mallory' }],
      ['POST', '/v1/keys/rotate', {}],
      ['GET', '/v1/audit/verify', undefined],
    ] as const) {
      const r = await h.json<Err>(minted.body.token, method, url, body);
      assert.equal(r.body.error?.code, 'COFFER_AUTH_STEP_UP_REQUIRED', `${method} ${url}: ${r.status} ${JSON.stringify(r.body)}`);
    }
    assert.equal((await h.json(h.adminToken, 'GET', '/v1/principals/mallory')).status === 200, false, 'nobody was created');
  });

  test('a minted token is no fresh authentication for break-glass or unlock', async () => {
    // the bootstrap token is exempt from the step-up policies, but its authentication (the setup token) is old
    h.advance(16 * 60_000);
    const fromBootstrap = await h.mint(h.adminToken, { ttlSeconds: 900 });
    assert.equal(fromBootstrap.status, 201);
    const bg = await h.json<Err>(fromBootstrap.body.token, 'POST', '/v1/breakglass', glass);
    assert.equal(bg.body.error.code, 'COFFER_AUTH_STEP_UP_REQUIRED');
    const unlock = await h.json<Err>(fromBootstrap.body.token, 'POST', '/v1/monitor/unlock/erin', {});
    assert.equal(unlock.body.error.code, 'COFFER_AUTH_STEP_UP_REQUIRED');
    // nor one minted by a password-only session, however young
    const s = await h.login('admin', ADMIN_PASSWORD);
    const fromSession = await h.mint(s.accessToken, { ttlSeconds: 900 });
    assert.equal((await h.json<Err>(fromSession.body.token, 'POST', '/v1/breakglass', glass)).body.error.code, 'COFFER_AUTH_STEP_UP_REQUIRED');
    assert.equal((await h.json<Err>(fromSession.body.token, 'POST', '/v1/monitor/unlock/erin', {})).body.error.code, 'COFFER_AUTH_STEP_UP_REQUIRED');
  });

  test('a token minted by a stepped-up session carries the real age of the assertion', async () => {
    const up = await h.steppedUp('erin');
    const minted = await h.mint(up);
    assert.equal(await h.download(minted.body.token, 'secret'), '200', 'the assertion is fresh: the child inherits it');
    h.advance(901_000);
    assert.equal(await h.download(minted.body.token, 'secret'), 'COFFER_AUTH_STEP_UP_REQUIRED', 'fifteen minutes later it is as stale as its parent');
    const info = await h.json<Session>(minted.body.token, 'GET', '/v1/auth/session');
    assert.deepEqual(info.body.mfa.methods, ['password', 'webauthn']);
    assert.ok(info.body.mfa.ageSeconds >= 901);
    // a token minted now from the stale one is no fresher
    const again = await h.mint(minted.body.token);
    assert.equal(await h.download(again.body.token, 'secret'), 'COFFER_AUTH_STEP_UP_REQUIRED');
  });
});
