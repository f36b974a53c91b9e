import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { openIdentityHarness } from './identity-harness.js';
import type { IdentityHarness } from './identity-harness.js';

type Err = { error: { code: string; message: string } };

void describe('identity: passwords, throttling, accounts', () => {
  let h: IdentityHarness;
  before(async () => {
    h = await openIdentityHarness();
    for (const name of ['alice', 'bob']) assert.equal((await h.call('POST', '/v1/principals', { token: h.adminToken, body: { kind: 'user', name } })).status, 201);
  });
  after(async () => h.close());

  test('weak passwords are refused with the rule, never echoing the password', async () => {
    const cases = ['short1!', 'password123!', 'P@ssw0rd2024!', 'aaaaaaaaaaaaaaaa', 'abcdefghijklmnop', '1234567890123', 'alice-is-my-name', 'qwertyuiopasdf'];
    for (const password of cases) {
      const r = await h.call<Err>('PUT', '/v1/auth/password', { token: h.adminToken, body: { principal: 'alice', password } });
      assert.equal(r.status, 400, password);
      assert.equal(r.body.error.code, 'COFFER_AUTH_WEAK_PASSWORD', password);
      assert.ok(!r.body.error.message.includes(password), 'message does not echo the password');
    }
    assert.equal((await h.call('PUT', '/v1/auth/password', { token: h.adminToken, body: { principal: 'alice', password: 'lantern-orbit-cactus-42' } })).status, 204);
    // stored as argon2id, never in the clear
    const alice = await h.runtime.store.getPrincipalByName('alice');
    const stored = await h.runtime.identity.identityStore.getPasswordHash(alice!.id);
    assert.match(stored!, /^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
  });

  test('wrong password, unknown account and service account all fail the same way', async () => {
    await h.call('POST', '/v1/principals', { token: h.adminToken, body: { kind: 'service-account', name: 'ci', owner: 'alice' } });
    const answers = [];
    for (const body of [{ name: 'alice', password: 'lantern-orbit-cactus-43' }, { name: 'nobody', password: 'lantern-orbit-cactus-42' }, { name: 'ci', password: 'lantern-orbit-cactus-42' }, { name: 'bob', password: 'lantern-orbit-cactus-42' }]) {
      const r = await h.call<Err>('POST', '/v1/auth/login', { body });
      answers.push(JSON.stringify([r.status, r.body.error.code, r.body.error.message]));
    }
    assert.equal(new Set(answers).size, 1, answers.join(' | '));
    assert.deepEqual(JSON.parse(answers[0]!), [401, 'COFFER_AUTH_INVALID_CREDENTIALS', 'invalid credentials']);
  });

  test('login gives a 15-minute access token and a refresh token; the access token works', async () => {
    const r = await h.call<{ status: string; accessToken: string; refreshToken: string; expiresIn: number }>('POST', '/v1/auth/login', { body: { name: 'alice', password: 'lantern-orbit-cactus-42' } });
    assert.equal(r.status, 200);
    assert.equal(r.body.status, 'authenticated');
    assert.equal(r.body.expiresIn, 900);
    assert.match(r.body.refreshToken, /^coffer_refresh_[0-9A-Za-z]{38}$/);
    const me = await h.call<{ name: string }>('GET', '/v1/whoami', { token: r.body.accessToken });
    assert.equal(me.status, 200);
    assert.equal(me.body.name, 'alice');
    const session = await h.call<{ mfa: { methods: string[]; ageSeconds: number } }>('GET', '/v1/auth/session', { token: r.body.accessToken });
    assert.deepEqual(session.body.mfa, { methods: ['password'], ageSeconds: 0 });
  });

  test('throttling: per account after 5 failures, then per address; success clears the account', async () => {
    const bad = { name: 'alice', password: 'wrong-password-value' };
    for (let i = 0; i < 5; i++) assert.equal((await h.call('POST', '/v1/auth/login', { body: bad })).status, 401);
    const blocked = await h.call<Err>('POST', '/v1/auth/login', { body: { name: 'alice', password: 'lantern-orbit-cactus-42' } });
    assert.equal(blocked.status, 429, 'even the right password is refused while blocked');
    assert.equal(blocked.body.error.code, 'COFFER_RATE_LIMITED');
    // an unknown name is throttled exactly like a real one
    for (let i = 0; i < 5; i++) await h.call('POST', '/v1/auth/login', { body: { name: 'ghost', password: 'x' } });
    assert.equal((await h.call('POST', '/v1/auth/login', { body: { name: 'ghost', password: 'x' } })).status, 429);
    h.advance(61_000);
    assert.equal((await h.call('POST', '/v1/auth/login', { body: { name: 'alice', password: 'lantern-orbit-cactus-42' } })).status, 200);
    // the address: 30 failures in the window block every account from it
    for (let i = 0; i < 40; i++) await h.call('POST', '/v1/auth/login', { body: { name: `spray-${i}`, password: 'x' } });
    const sprayed = await h.call<Err>('POST', '/v1/auth/login', { body: { name: 'bob', password: 'anything' } });
    assert.equal(sprayed.status, 429);
    h.advance(3 * 3600_000);
  });

  test('disable, enable and delete are audited and take effect at once', async () => {
    const login = await h.call<{ accessToken: string }>('POST', '/v1/auth/login', { body: { name: 'alice', password: 'lantern-orbit-cactus-42' } });
    assert.equal(login.status, 200);
    assert.equal((await h.call('POST', '/v1/principals/alice/disable', { token: h.adminToken })).status, 204);
    const refused = await h.call<Err>('GET', '/v1/whoami', { token: login.body.accessToken });
    assert.equal(refused.status, 401);
    // disabling revokes the principal's credentials (credential lineage), so the session is revoked, not merely suspended
    assert.equal(refused.body.error.code, 'COFFER_AUTH_TOKEN_REVOKED');
    assert.equal((await h.call('POST', '/v1/auth/login', { body: { name: 'alice', password: 'lantern-orbit-cactus-42' } })).status, 401);
    assert.equal((await h.call('POST', '/v1/principals/alice/enable', { token: h.adminToken })).status, 204);
    assert.equal((await h.call('GET', '/v1/whoami', { token: login.body.accessToken })).status, 401, 'enabling again brings no credential back');
    const again = await h.call<{ accessToken: string }>('POST', '/v1/auth/login', { body: { name: 'alice', password: 'lantern-orbit-cactus-42' } });
    assert.equal((await h.call('GET', '/v1/whoami', { token: again.body.accessToken })).status, 200);
    assert.equal((await h.call('DELETE', '/v1/principals/alice', { token: h.adminToken })).status, 204);
    assert.equal((await h.call('GET', '/v1/whoami', { token: again.body.accessToken })).status, 401);
    assert.equal(await h.runtime.store.getPrincipalByName('alice'), null);
    await h.runtime.audit.flush();
    const lines: string[] = [];
    for await (const l of h.runtime.audit.export(1)) lines.push(l);
    const bodies = lines.map((l) => (JSON.parse(l) as { body?: { action: string; resource: string; outcome: string; context: Record<string, unknown> } }).body).filter((b) => b !== undefined);
    const about = bodies.filter((b) => b.resource === 'principal/alice' && b.action === 'manage-principals' && b.outcome === 'success' && (b.context.disabled !== undefined || b.context.op !== undefined));
    assert.deepEqual(about.map((b) => b.context.disabled ?? b.context.op), [true, false, 'delete']);
    assert.ok(bodies.some((b) => b.action === 'login' && b.outcome === 'denied'), 'failed logins are recorded');
    assert.ok(!h.logs().includes('lantern-orbit-cactus-42'), 'passwords never reach the log');
  });
});
