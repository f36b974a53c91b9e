import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { base32Decode, totp } from '../../src/identity/totp.js';
import { SoftAuthenticator, openIdentityHarness } from './identity-harness.js';
import type { IdentityHarness } from './identity-harness.js';

type Err = { error: { code: string } };
type Tokens = { status: string; accessToken: string; refreshToken: string; sessionId: string };
type Ceremony = { ceremonyId: string; options: { challenge: string; rp: { id: string }; rpId?: string } };

const PASSWORD = 'quartz-meadow-falcon-77';

void describe('identity: TOTP, recovery codes, WebAuthn and step-up', () => {
  let h: IdentityHarness;
  let key: SoftAuthenticator;
  let erinPat: string;
  let recovery: string[] = [];
  const restricted = '/v1/projects/ml/artifacts/secret/versions/1/content';
  const internal = '/v1/projects/ml/artifacts/open/versions/1/content';

  before(async () => {
    h = await openIdentityHarness();
    key = new SoftAuthenticator('http://localhost:7443');
    const admin = h.adminToken;
    await h.call('POST', '/v1/principals', { token: admin, body: { kind: 'user', name: 'erin' } });
    await h.call('PUT', '/v1/auth/password', { token: admin, body: { principal: 'erin', password: PASSWORD } });
    await h.call('POST', '/v1/projects', { token: admin, body: { name: 'ml' } });
    for (const [name, tier] of [['secret', 'restricted'], ['open', 'internal']]) {
      assert.equal((await h.call('POST', '/v1/projects/ml/artifacts', { token: admin, body: { name, kind: 'model', tier, environment: 'dev' } })).status, 201);
      const up = await h.app.inject({ method: 'POST', url: `/v1/projects/ml/artifacts/${name}/versions`, headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/octet-stream' }, payload: Buffer.from(`weights of ${name}`) });
      assert.equal(up.statusCode, 201, up.body);
      assert.equal((await h.call('POST', '/v1/grants', { token: admin, body: { principal: 'erin', role: 'reader', project: 'ml', artifact: name } })).status, 201);
    }
    erinPat = (await h.call<{ token: string }>('POST', '/v1/tokens', { token: admin, body: { principal: 'erin' } })).body.token;
  });
  after(async () => h.close());

  const login = async (): Promise<Tokens & { ticket: string; methods: string[] }> => (await h.call<Tokens & { ticket: string; methods: string[] }>('POST', '/v1/auth/login', { body: { name: 'erin', password: PASSWORD } })).body;

  test('a password session needs step-up for restricted data; API tokens and other tiers do not', async () => {
    const s = await login();
    assert.equal(s.status, 'authenticated');
    const denied = await h.call<Err>('GET', restricted, { token: s.accessToken });
    assert.equal(denied.status, 401);
    assert.equal(denied.body.error.code, 'COFFER_AUTH_STEP_UP_REQUIRED');
    assert.equal((await h.call('GET', internal, { token: s.accessToken })).status, 200, 'internal tier: no step-up');
    assert.equal((await h.call('GET', restricted, { token: erinPat })).status, 200, 'Foundation flow: API token still downloads');
    // without a registered key, step-up cannot even start
    assert.equal((await h.call<Err>('POST', '/v1/auth/step-up', { token: s.accessToken })).body.error.code, 'COFFER_VALIDATION_FAILED');
    // an API token cannot step up
    assert.equal((await h.call<Err>('POST', '/v1/auth/step-up', { token: erinPat })).status, 403);
  });

  test('register a security key (user verification required), then step up and download', async () => {
    const s = await login();
    const begin = await h.call<Ceremony & { options: { authenticatorSelection: { userVerification: string } } }>('POST', '/v1/auth/webauthn/registrations', { token: s.accessToken });
    assert.equal(begin.status, 200);
    assert.equal(begin.body.options.authenticatorSelection.userVerification, 'required');
    assert.equal(begin.body.options.rp.id, 'localhost');
    // an authenticator that did not verify the user is refused
    key.userVerified = false;
    const noUv = await h.call<Err>('POST', '/v1/auth/webauthn/registrations/finish', { token: s.accessToken, body: { ceremonyId: begin.body.ceremonyId, response: key.register(begin.body.options) } });
    assert.equal(noUv.body.error.code, 'COFFER_AUTH_INVALID_CREDENTIALS');
    key.userVerified = true;
    const again = await h.call<Ceremony>('POST', '/v1/auth/webauthn/registrations', { token: s.accessToken });
    const done = await h.call<{ id: string; recoveryCodes: string[] }>('POST', '/v1/auth/webauthn/registrations/finish', { token: s.accessToken, body: { ceremonyId: again.body.ceremonyId, response: key.register(again.body.options), name: 'soft key' } });
    assert.equal(done.status, 201);
    assert.equal(done.body.recoveryCodes.length, 10);
    recovery = done.body.recoveryCodes;
    // registering is not an assertion: still no restricted download
    assert.equal((await h.call<Err>('GET', restricted, { token: s.accessToken })).body.error.code, 'COFFER_AUTH_STEP_UP_REQUIRED');

    const up = await h.call<Ceremony & { url: string }>('POST', '/v1/auth/step-up', { token: s.accessToken });
    assert.equal(up.status, 200);
    assert.match(up.body.url, /^http:\/\/localhost:7443\/login\/#ceremony=/);
    // the browser page reads the options by ceremony id
    const page = await h.call<{ kind: string; options: { challenge: string } }>('GET', `/v1/auth/webauthn/ceremonies/${up.body.ceremonyId}`);
    assert.deepEqual([page.body.kind, page.body.options.challenge], ['authenticate', up.body.options.challenge]);
    // phishing: an assertion made on another origin is refused, and the ceremony is spent
    const phished = await h.call<Err>('POST', '/v1/auth/step-up/finish', { body: { ceremonyId: up.body.ceremonyId, response: key.assert(up.body.options, { origin: 'http://evil.localhost:7443' }) } });
    assert.equal(phished.body.error.code, 'COFFER_AUTH_INVALID_CREDENTIALS');
    const up2 = await h.call<Ceremony>('POST', '/v1/auth/step-up', { token: s.accessToken });
    const fin = await h.call<{ mfa: { methods: string[]; ageSeconds: number } }>('POST', '/v1/auth/step-up/finish', { body: { ceremonyId: up2.body.ceremonyId, response: key.assert(up2.body.options) } });
    assert.equal(fin.status, 200);
    assert.deepEqual(fin.body.mfa, { methods: ['password', 'webauthn'], ageSeconds: 0 });
    // the same access token now passes: the session is the source of truth
    const ok = await h.call('GET', restricted, { token: s.accessToken });
    assert.equal(ok.status, 200);
    // 15 minutes later the assertion is too old
    h.advance(901_000);
    const refreshed = await h.call<Tokens>('POST', '/v1/auth/refresh', { body: { refreshToken: s.refreshToken } });
    assert.equal((await h.call<Err>('GET', restricted, { token: refreshed.body.accessToken })).body.error.code, 'COFFER_AUTH_STEP_UP_REQUIRED');
    // a replayed (non-increasing) signature counter is refused: cloned authenticator
    const up3 = await h.call<Ceremony>('POST', '/v1/auth/step-up', { token: refreshed.body.accessToken });
    const cloned = await h.call<Err>('POST', '/v1/auth/step-up/finish', { body: { ceremonyId: up3.body.ceremonyId, response: key.assert(up3.body.options, { replayCounter: 1 }) } });
    assert.equal(cloned.body.error.code, 'COFFER_AUTH_INVALID_CREDENTIALS');
    key.counter = 100;
  });

  test('login with a key: password, then a WebAuthn assertion; the session can download at once', async () => {
    const first = await login();
    assert.equal(first.status, 'mfa-required');
    assert.deepEqual(first.methods, ['webauthn', 'recovery-code']);
    assert.equal(first.accessToken, undefined);
    const begin = await h.call<Ceremony>('POST', '/v1/auth/login/webauthn/begin', { body: { ticket: first.ticket } });
    const fin = await h.call<Tokens>('POST', '/v1/auth/login/webauthn/finish', { body: { ceremonyId: begin.body.ceremonyId, response: key.assert(begin.body.options) } });
    assert.equal(fin.body.status, 'authenticated');
    assert.equal((await h.call('GET', restricted, { token: fin.body.accessToken })).status, 200);
    // the ticket was spent
    assert.equal((await h.call('POST', '/v1/auth/login/webauthn/begin', { body: { ticket: first.ticket } })).status, 401);
  });

  test('TOTP enrolment and login; a code works once; a recovery code works once', async () => {
    const first = await login();
    const begin = await h.call<Ceremony>('POST', '/v1/auth/login/webauthn/begin', { body: { ticket: first.ticket } });
    const s = (await h.call<Tokens>('POST', '/v1/auth/login/webauthn/finish', { body: { ceremonyId: begin.body.ceremonyId, response: key.assert(begin.body.options) } })).body;
    const enrol = await h.call<{ secret: string; uri: string }>('POST', '/v1/auth/totp', { token: s.accessToken });
    assert.equal(enrol.status, 201);
    assert.match(enrol.body.uri, /^otpauth:\/\/totp\/Coffer%3Aerin\?secret=/);
    const secret = base32Decode(enrol.body.secret)!;
    assert.equal((await h.call('POST', '/v1/auth/totp/confirm', { token: s.accessToken, body: { code: '000000' === totp(secret, h.now()) ? '111111' : '000000' } })).status, 401);
    h.advance(30_000);
    const confirmed = await h.call<{ recoveryCodes: string[] }>('POST', '/v1/auth/totp/confirm', { token: s.accessToken, body: { code: totp(secret, h.now()) } });
    assert.equal(confirmed.status, 200);
    recovery = confirmed.body.recoveryCodes;

    h.advance(30_000);
    const t1 = await login();
    assert.deepEqual(t1.methods, ['totp', 'webauthn', 'recovery-code']);
    const code = totp(secret, h.now());
    const ok = await h.call<Tokens>('POST', '/v1/auth/login/mfa', { body: { ticket: t1.ticket, code } });
    assert.equal(ok.body.status, 'authenticated');
    const session = await h.call<{ mfa: { methods: string[] } }>('GET', '/v1/auth/session', { token: ok.body.accessToken });
    assert.deepEqual(session.body.mfa.methods, ['password', 'totp']);
    // TOTP alone is not enough for restricted data: step-up asks for the security key
    assert.equal((await h.call<Err>('GET', restricted, { token: ok.body.accessToken })).body.error.code, 'COFFER_AUTH_STEP_UP_REQUIRED');
    // the same code again (replay within its window) is refused
    const t2 = await login();
    assert.equal((await h.call<Err>('POST', '/v1/auth/login/mfa', { body: { ticket: t2.ticket, code } })).body.error.code, 'COFFER_AUTH_INVALID_CREDENTIALS');
    // a ticket is spent by a wrong attempt
    assert.equal((await h.call<Err>('POST', '/v1/auth/login/mfa', { body: { ticket: t2.ticket, code: totp(secret, h.now() + 30_000) } })).status, 401);
    // recovery code: once
    const t3 = await login();
    assert.equal((await h.call<Tokens>('POST', '/v1/auth/login/mfa', { body: { ticket: t3.ticket, code: recovery[0]!.toUpperCase() } })).body.status, 'authenticated');
    const t4 = await login();
    assert.equal((await h.call('POST', '/v1/auth/login/mfa', { body: { ticket: t4.ticket, code: recovery[0] } })).status, 401);
    h.advance(20 * 60_000);
  });

  test('admin actions through a session need step-up; the bootstrap API token keeps working', async () => {
    // a first password needs an enrollment ticket: the admin's bootstrap token alone is refused, but may issue one
    assert.equal((await h.call<Err>('PUT', '/v1/auth/password', { token: h.adminToken, body: { password: 'granite-compass-delta-5' } })).body.error.code, 'COFFER_AUTH_ENROLLMENT_REQUIRED');
    const ticket = (await h.call<{ ticket: string }>('POST', '/v1/principals/admin/enrollment-tickets', { token: h.adminToken, body: {} })).body.ticket;
    assert.equal((await h.call('POST', '/v1/auth/enroll', { body: { ticket, password: 'granite-compass-delta-5' } })).status, 200);
    const s = (await h.call<Tokens>('POST', '/v1/auth/login', { body: { name: 'admin', password: 'granite-compass-delta-5' } })).body;
    const r = await h.call<Err>('POST', '/v1/principals', { token: s.accessToken, body: { kind: 'user', name: 'frank' } });
    assert.equal(r.status, 401);
    assert.equal(r.body.error.code, 'COFFER_AUTH_STEP_UP_REQUIRED');
    assert.equal((await h.call('POST', '/v1/principals', { token: h.adminToken, body: { kind: 'user', name: 'frank' } })).status, 201);
    // a non-admin is simply forbidden: a security key would not help
    const erin = (await h.call<Tokens>('POST', '/v1/auth/login/mfa', { body: { ticket: (await login()).ticket, code: recovery[1] } })).body;
    assert.equal((await h.call<Err>('POST', '/v1/principals', { token: erin.accessToken, body: { kind: 'user', name: 'gina' } })).body.error.code, 'COFFER_FORBIDDEN');
  });
});
