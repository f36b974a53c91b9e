/**
 * The class of findings 2 and 4 beyond their instances, through the API as an attacker
 * holds credentials: chains of minting (session -> token -> token -> S3 key), every way
 * a credential ends (DELETE /v1/tokens, RFC 7009 revocation by the holder, refresh-token
 * reuse, revoking a session, logging out everywhere, revoking a service-account key)
 * ending exactly its descendants, a token an admin issues for a service account resting
 * on the admin's credential, and `coffer token list` showing every credential's parent.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { SignJWT, exportJWK } from 'jose';
import { FEATURE_COMMANDS } from '../../src/cli/commands.js';
import { runCli } from '../../src/cli/program.js';
import { ERIN_PASSWORD, openSecurityHarness } from './security-harness.js';
import type { SecurityHarness } from './security-harness.js';

type Err = { error: { code: string } };
type Listed = { items: Array<{ id: string; kind: string; parent: { id: string; kind: string | null; principal: string | null } | null; origin: string; active: boolean; mfa: { methods: string[] } }> };

void describe('attack class: credentials that survive the end of what minted them', () => {
  let h: SecurityHarness;
  before(async () => {
    h = await openSecurityHarness({ servicePatMaxTtlSeconds: 86_400 });
  });
  after(async () => h.close());

  const alive = async (token: string) => (await h.json(token, 'GET', '/v1/whoami')).status === 200;

  test('session -> token -> token -> S3 key: revoking the middle token ends what is below it only', async () => {
    const s = await h.login('erin', ERIN_PASSWORD);
    const t1 = await h.mint(s.accessToken);
    const t2 = await h.mint(t1.body.token);
    const sibling = await h.mint(t1.body.token);
    const key = await h.s3Key(t2.body.token);
    assert.equal(await h.s3Get(key.body, 'ml', 'open'), '200');
    assert.equal((await h.json(s.accessToken, 'DELETE', `/v1/tokens/${t2.body.info.id}`)).status, 204);
    assert.equal(await alive(t2.body.token), false);
    assert.equal(await h.s3Get(key.body, 'ml', 'open'), 'InvalidAccessKeyId');
    assert.ok((await alive(t1.body.token)) && (await alive(sibling.body.token)) && (await alive(s.accessToken)), 'ancestors and siblings live on');
  });

  test('RFC 7009 revocation by the holder of a middle token, and refresh-token reuse, take the descendants along', async () => {
    const s = await h.login('erin', ERIN_PASSWORD);
    const t1 = await h.mint(s.accessToken);
    const t2 = await h.mint(t1.body.token);
    assert.ok((await h.json(null, 'POST', '/v1/auth/revoke', { token: t1.body.token })).status < 300);
    assert.equal(await alive(t2.body.token), false);
    assert.equal(await alive(s.accessToken), true);
    // a stolen refresh token used twice revokes the family, and what the family minted
    const child = await h.mint(s.accessToken);
    const key = await h.s3Key(s.accessToken);
    assert.equal((await h.json(null, 'POST', '/v1/auth/refresh', { refreshToken: s.refreshToken })).status, 200);
    assert.equal((await h.json<Err>(null, 'POST', '/v1/auth/refresh', { refreshToken: s.refreshToken })).body.error.code, 'COFFER_AUTH_REFRESH_REUSED');
    assert.equal(await alive(child.body.token), false);
    assert.equal(await h.s3Get(key.body, 'ml', 'open'), 'InvalidAccessKeyId');
  });

  test('revoking one session, or logging out everywhere, ends what each session minted', async () => {
    const a = await h.login('erin', ERIN_PASSWORD);
    const b = await h.login('erin', ERIN_PASSWORD);
    const fromA = await h.mint(a.accessToken);
    const fromB = await h.mint(b.accessToken);
    assert.equal((await h.json(b.accessToken, 'DELETE', `/v1/auth/sessions/${a.sessionId}`)).status, 204);
    assert.equal(await alive(fromA.body.token), false);
    assert.equal(await alive(fromB.body.token), true);
    assert.equal((await h.json(b.accessToken, 'POST', '/v1/auth/sessions/revoke-all', {})).status, 200);
    assert.equal(await alive(fromB.body.token), false);
  });

  test('an admin issues a token for a service account: it rests on the admin\'s session, carries none of the admin\'s factors, and is listed with its parent', async () => {
    const admin = await h.steppedUp('admin');
    assert.equal((await h.json(admin, 'POST', '/v1/principals', { kind: 'service-account', name: 'trainer', owner: 'admin' })).status, 201);
    const issued = await h.mint(admin, { principal: 'trainer', ttlSeconds: 3600 });
    assert.equal(issued.status, 201, JSON.stringify(issued.body));
    const session = await h.json<{ mfa: { methods: string[] } }>(issued.body.token, 'GET', '/v1/auth/session');
    assert.deepEqual(session.body.mfa.methods, [], 'the admin\'s password and security key proved who the admin is, not the service account');
    const listed = await h.json<Listed>(admin, 'GET', '/v1/tokens?principal=trainer');
    const row = listed.body.items.find((c) => c.kind === 'api-token')!;
    assert.equal(row.origin, 'issue');
    assert.equal(row.parent?.kind, 'session');
    assert.equal(row.parent?.principal, 'admin');
    // the admin logs out: the token issued from that session ends
    assert.equal((await h.json(admin, 'POST', '/v1/auth/logout')).status, 204);
    assert.equal(await alive(issued.body.token), false);
    // non-admins cannot list another principal's credentials
    assert.equal((await h.json(h.erinToken, 'GET', '/v1/tokens?principal=trainer')).status, 403);
  });

  test('revoking a service-account key ends the sessions it obtained at once', async () => {
    const admin = await h.steppedUp('admin');
    assert.equal((await h.json(admin, 'POST', '/v1/principals', { kind: 'service-account', name: 'runner', owner: 'admin' })).status, 201);
    const key = generateKeyPairSync('ed25519');
    const reg = await h.json<{ kid: string }>(admin, 'POST', '/v1/service-accounts/runner/keys', { jwk: await exportJWK(key.publicKey) });
    assert.equal(reg.status, 201, JSON.stringify(reg.body));
    const now = Math.floor(h.now() / 1000);
    const assertion = await new SignJWT({ jti: randomUUID() }).setProtectedHeader({ alg: 'EdDSA', kid: reg.body.kid }).setIssuer('runner').setSubject('runner').setAudience('http://localhost:7443/oauth/token').setIssuedAt(now).setExpirationTime(now + 120).sign(key.privateKey);
    const r = await h.app.inject({ method: 'POST', url: '/oauth/token', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: new URLSearchParams({ grant_type: 'client_credentials', client_id: 'runner', client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', client_assertion: assertion }).toString() });
    assert.equal(r.statusCode, 200, r.body);
    const access = r.json<{ access_token: string }>().access_token;
    const s3 = await h.s3Key(access);
    assert.equal(s3.status, 201);
    assert.equal(await alive(access), true);
    assert.equal((await h.json(admin, 'DELETE', `/v1/service-accounts/runner/keys/${reg.body.kid}`)).status, 204);
    assert.equal(await alive(access), false);
    assert.equal(await h.s3Get(s3.body, 'ml', 'open'), 'InvalidAccessKeyId');
  });

  test('`coffer token list` shows each credential\'s parent', async () => {
    const s = await h.login('erin', ERIN_PASSWORD);
    const t1 = await h.mint(s.accessToken);
    const key = await h.s3Key(t1.body.token);
    let out = '';
    let err = '';
    const io = { out: (x: string) => (out += x), err: (x: string) => (err += x), env: { COFFER_URL: await h.listen(), COFFER_TOKEN: t1.body.token, COFFER_CREDENTIALS_FILE: '/nonexistent/none.json' }, isTTY: false };
    const saved = process.exitCode;
    process.exitCode = undefined;
    const code = await runCli(['token', 'list'], io, () => Promise.reject(new Error('no server here')), FEATURE_COMMANDS);
    process.exitCode = saved;
    assert.equal(code, 0, err);
    const lines = out.trim().split('\n');
    assert.match(lines[0]!, /^ID\s+KIND\s+PARENT\s+METHODS\s+EXPIRES\s+STATE$/);
    const line = (id: string) => lines.find((l) => l.startsWith(id)) ?? '';
    assert.match(line(t1.body.info.id), new RegExp(`^${t1.body.info.id} \\*\\s+api-token\\s+session ${s.sessionId}\\s+password\\s`));
    assert.match(line(key.body.accessKeyId), new RegExp(`s3-key\\s+api-token ${t1.body.info.id}\\s+password`));
    assert.match(line(s.sessionId), /session\s+\(login\)\s+password/);
  });
});
