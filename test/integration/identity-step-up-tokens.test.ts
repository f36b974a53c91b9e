import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { SoftAuthenticator, openIdentityHarness } from './identity-harness.js';
import type { IdentityHarness } from './identity-harness.js';

type Err = { error: { code: string } };
type Tokens = { status: string; accessToken: string; refreshToken: string; sessionId: string };
type Ceremony = { ceremonyId: string; url: string | null; options: { challenge: string; rp: { id: string }; rpId?: string } };

const PASSWORD = 'quartz-meadow-falcon-77';
const ADMIN_PASSWORD = 'granite-compass-delta-5';
const restricted = '/v1/projects/ml/artifacts/secret/versions/1/content';
const internal = '/v1/projects/ml/artifacts/open/versions/1/content';

/** A user with a password and a registered soft key; the admin sets everything up through `adminToken`. */
async function setUp(h: IdentityHarness, adminToken: string, key: SoftAuthenticator): Promise<{ pat: string; saPat: string }> {
  const call = async (method: string, url: string, body?: unknown) => {
    const r = await h.call(method, url, { token: adminToken, ...(body !== undefined ? { body } : {}) });
    assert.ok(r.status < 300, `${method} ${url}: ${r.status} ${JSON.stringify(r.body)}`);
    return r;
  };
  await call('POST', '/v1/principals', { kind: 'user', name: 'erin' });
  await call('POST', '/v1/principals', { kind: 'service-account', name: 'trainer', owner: 'admin' });
  await call('PUT', '/v1/auth/password', { principal: 'erin', password: PASSWORD });
  await call('POST', '/v1/projects', { name: 'ml' });
  for (const [name, tier] of [['secret', 'restricted'], ['open', 'internal']]) {
    await call('POST', '/v1/projects/ml/artifacts', { name, kind: 'model', tier, environment: 'dev' });
    const up = await h.app.inject({ method: 'POST', url: `/v1/projects/ml/artifacts/${name}/versions`, headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/octet-stream' }, payload: Buffer.from(`weights of ${name}`) });
    assert.equal(up.statusCode, 201, up.body);
    for (const principal of ['erin', 'trainer']) await call('POST', '/v1/grants', { principal, role: 'reader', project: 'ml', artifact: name });
  }
  const pat = (await call('POST', '/v1/tokens', { principal: 'erin' })).body.token as string;
  const saPat = (await call('POST', '/v1/tokens', { principal: 'trainer', ttlSeconds: 3600 })).body.token as string;
  // erin registers her key from a password session
  const s = (await h.call<Tokens>('POST', '/v1/auth/login', { body: { name: 'erin', password: PASSWORD } })).body;
  const reg = await h.call<Ceremony>('POST', '/v1/auth/webauthn/registrations', { token: s.accessToken });
  assert.equal((await h.call('POST', '/v1/auth/webauthn/registrations/finish', { token: s.accessToken, body: { ceremonyId: reg.body.ceremonyId, response: key.register(reg.body.options), name: 'soft key' } })).status, 201);
  return { pat, saPat };
}

/** What `coffer step-up` does with an API token: a ceremony with a hand-off target, the key, then the exchange. */
async function stepUpFromToken(h: IdentityHarness, pat: string, key: SoftAuthenticator, over: { verifier?: string } = {}): Promise<{ status: number; tokens?: Tokens; body: unknown }> {
  const verifier = randomBytes(32).toString('base64url');
  const challenge = createHash('sha256').update(verifier).digest('base64url');
  const begun = await h.call<Ceremony>('POST', '/v1/auth/step-up/handoff', { token: pat, body: { redirect: 'http://127.0.0.1:45123/callback', challenge } });
  if (begun.status !== 200) return { status: begun.status, body: begun.body };
  assert.match(begun.body.url ?? '', /^http:\/\/localhost:7443\/login\/#ceremony=wac_/);
  // the browser page reads the options by ceremony id, asserts, and is sent back to the CLI
  const page = await h.call<{ options: { challenge: string } }>('GET', `/v1/auth/webauthn/ceremonies/${begun.body.ceremonyId}`);
  const fin = await h.call<{ redirect: string; mfa: { methods: string[] } }>('POST', '/v1/auth/step-up/finish', { body: { ceremonyId: begun.body.ceremonyId, response: key.assert(page.body.options) } });
  if (fin.status !== 200) return { status: fin.status, body: fin.body };
  const redirect = new URL(fin.body.redirect);
  assert.equal(redirect.origin, 'http://127.0.0.1:45123');
  const code = redirect.searchParams.get('code')!;
  const ex = await h.call<Tokens>('POST', '/v1/auth/handoff/exchange', { body: { code, verifier: over.verifier ?? verifier } });
  return ex.status === 200 ? { status: 200, tokens: ex.body, body: ex.body } : { status: ex.status, body: ex.body };
}

void describe('identity: step-up for API-token users (requireStepUpForUserTokens)', () => {
  void describe('off (default): a user API token is exempt', () => {
    let h: IdentityHarness;
    let pat: string;
    const key = new SoftAuthenticator('http://localhost:7443');
    before(async () => {
      h = await openIdentityHarness({ servicePatMaxTtlSeconds: 86_400 });
      ({ pat } = await setUp(h, h.adminToken, key));
    });
    after(async () => h.close());

    test('the token downloads restricted data and administers; it cannot step up', async () => {
      assert.equal((await h.call('GET', restricted, { token: pat })).status, 200);
      assert.equal((await h.call('POST', '/v1/principals', { token: h.adminToken, body: { kind: 'user', name: 'frank' } })).status, 201);
      const me = await h.call<{ mfa: { methods: string[] } }>('GET', '/v1/auth/session', { token: pat });
      assert.deepEqual(me.body.mfa.methods, ['token']);
      const r = await stepUpFromToken(h, pat, key);
      assert.equal(r.status, 403);
    });
  });

  void describe('on: a user API token alone is refused with STEP_UP_REQUIRED', () => {
    let h: IdentityHarness;
    let pat: string;
    let saPat: string;
    const key = new SoftAuthenticator('http://localhost:7443');
    const adminKey = new SoftAuthenticator('http://localhost:7443');
    before(async () => {
      // the first password comes with the bootstrap (the setup token is the proof; a bearer token alone could not set it)
      h = await openIdentityHarness({ requireStepUpForUserTokens: 1, servicePatMaxTtlSeconds: 86_400 }, { adminPassword: ADMIN_PASSWORD });
      // the bootstrap token is a user's token too: the admin first gets a stepped-up session
      assert.equal((await h.call<Err>('PUT', '/v1/auth/password', { token: h.adminToken, body: { password: 'other-first-password-9' } })).body.error.code, 'COFFER_AUTH_INVALID_CREDENTIALS', 'the password exists: changing it needs the current one');
      const s = (await h.call<Tokens>('POST', '/v1/auth/login', { body: { name: 'admin', password: ADMIN_PASSWORD } })).body;
      const reg = await h.call<Ceremony>('POST', '/v1/auth/webauthn/registrations', { token: s.accessToken });
      assert.equal((await h.call('POST', '/v1/auth/webauthn/registrations/finish', { token: s.accessToken, body: { ceremonyId: reg.body.ceremonyId, response: adminKey.register(reg.body.options) } })).status, 201);
      const up = await h.call<Ceremony>('POST', '/v1/auth/step-up', { token: s.accessToken });
      assert.equal(up.status, 200, JSON.stringify(up.body));
      assert.equal((await h.call('POST', '/v1/auth/step-up/finish', { body: { ceremonyId: up.body.ceremonyId, response: adminKey.assert(up.body.options) } })).status, 200);
      ({ pat, saPat } = await setUp(h, s.accessToken, key));
    });
    after(async () => h.close());

    test('restricted download and admin action by a user token: 401 step-up required; other tiers pass', async () => {
      const denied = await h.call<Err>('GET', restricted, { token: pat });
      assert.equal(denied.status, 401);
      assert.equal(denied.body.error.code, 'COFFER_AUTH_STEP_UP_REQUIRED');
      assert.equal((await h.call('GET', internal, { token: pat })).status, 200);
      const admin = await h.call<Err>('POST', '/v1/principals', { token: h.adminToken, body: { kind: 'user', name: 'frank' } });
      assert.equal(admin.status, 401);
      assert.equal(admin.body.error.code, 'COFFER_AUTH_STEP_UP_REQUIRED');
      // issued by the admin's session for erin: none of the admin's factors pass to erin (credential lineage)
      const me = await h.call<{ mfa: { methods: string[] } }>('GET', '/v1/auth/session', { token: pat });
      assert.deepEqual(me.body.mfa.methods, []);
      // the bootstrap token rests on the setup token: `token`, with the exemption withdrawn
      const boot = await h.call<{ mfa: { methods: string[] } }>('GET', '/v1/auth/session', { token: h.adminToken });
      assert.deepEqual(boot.body.mfa.methods, ['token', 'step-up-enforced']);
    });

    test('a service account keeps its token exemption', async () => {
      assert.equal((await h.call('GET', restricted, { token: saPat })).status, 200);
    });

    test('step-up with the token: a new session (api-token + webauthn) that downloads; 15 minutes later it must step up again', async () => {
      // without a hand-off target there is nowhere to send the session
      assert.equal((await h.call<Err>('POST', '/v1/auth/step-up', { token: pat })).body.error.code, 'COFFER_VALIDATION_FAILED');
      // an open redirect is refused
      const evil = await h.call<Err>('POST', '/v1/auth/step-up/handoff', { token: pat, body: { redirect: 'https://evil.example/cb', challenge: 'A'.repeat(43) } });
      assert.equal(evil.body.error.code, 'COFFER_VALIDATION_FAILED');
      // a hand-off code is useless without the verifier
      const stolen = await stepUpFromToken(h, pat, key, { verifier: randomBytes(32).toString('base64url') });
      assert.equal(stolen.status, 401);
      const r = await stepUpFromToken(h, pat, key);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      const t = r.tokens!;
      const me = await h.call<{ principal: string; mfa: { methods: string[]; ageSeconds: number } }>('GET', '/v1/auth/session', { token: t.accessToken });
      assert.deepEqual([me.body.principal, me.body.mfa.methods, me.body.mfa.ageSeconds], ['erin', ['api-token', 'webauthn'], 0]);
      assert.equal((await h.call('GET', restricted, { token: t.accessToken })).status, 200);
      // the token alone is still refused
      assert.equal((await h.call<Err>('GET', restricted, { token: pat })).body.error.code, 'COFFER_AUTH_STEP_UP_REQUIRED');
      // the session is not exempt like a token: its assertion ages out
      h.advance(901_000);
      const refreshed = await h.call<Tokens>('POST', '/v1/auth/refresh', { body: { refreshToken: t.refreshToken } });
      assert.equal(refreshed.status, 200);
      assert.equal((await h.call<Err>('GET', restricted, { token: refreshed.body.accessToken })).body.error.code, 'COFFER_AUTH_STEP_UP_REQUIRED');
      // the session steps up like any other
      const up = await h.call<Ceremony>('POST', '/v1/auth/step-up', { token: refreshed.body.accessToken });
      assert.equal((await h.call('POST', '/v1/auth/step-up/finish', { body: { ceremonyId: up.body.ceremonyId, response: key.assert(up.body.options) } })).status, 200);
      assert.equal((await h.call('GET', restricted, { token: refreshed.body.accessToken })).status, 200);
    });
  });
});
