/**
 * Attack class (issue 11, findings 2 and 4, beyond their instances): a refresh token
 * is a credential that mints access tokens. A thief who copied one tries to keep a
 * session going after the credentials it rests on ended: a password reset, a disable
 * and enable, the revocation of the API token a security-key session was started from
 * (`coffer step-up` with a token), or the token's own expiry. And a minting request
 * that names its own parent or methods, and a token an administrator issues for a
 * user, must not carry more than the lineage allows.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { SoftAuthenticator } from '../integration/identity-harness.js';
import { openSecurityHarness } from './security-harness.js';
import type { Login, SecurityHarness } from './security-harness.js';

type Err = { error: { code: string } };
type Ceremony = { ceremonyId: string; options: { challenge: string; rp: { id: string } } };
type Tokens = { accessToken: string; refreshToken: string; sessionId: string };
const YARA_PASSWORD = 'saffron-glacier-otter-58';

void describe('attack: a refresh token outlives the lineage it rests on', () => {
  let h: SecurityHarness;
  let admin: string;
  const key = new SoftAuthenticator('http://localhost:7443');

  before(async () => {
    h = await openSecurityHarness();
    admin = await h.steppedUp('admin');
    assert.equal((await h.json(admin, 'POST', '/v1/principals', { kind: 'user', name: 'yara' })).status, 201);
    assert.equal((await h.json(admin, 'POST', '/v1/grants', { principal: 'yara', role: 'reader', project: 'ml', artifact: 'secret' })).status, 201);
  });
  after(async () => h.close());

  const refresh = (r: string) => h.json<Err & Tokens>(null, 'POST', '/v1/auth/refresh', { refreshToken: r });
  const whoami = async (t: string) => {
    const r = await h.json<Err>(t, 'GET', '/v1/whoami');
    return r.status === 200 ? '200' : r.body.error.code;
  };

  test('a copied refresh token is dead after a password reset, and after a disable and enable', async () => {
    assert.equal((await h.json(admin, 'PUT', '/v1/auth/password', { principal: 'yara', password: YARA_PASSWORD })).status, 204);
    const stolen: Login = await h.login('yara', YARA_PASSWORD);
    admin = await h.steppedUp('admin');
    assert.equal((await h.json(admin, 'PUT', '/v1/auth/password', { principal: 'yara', password: `${YARA_PASSWORD}-2` })).status, 204);
    assert.notEqual((await refresh(stolen.refreshToken)).status, 200, 'refresh after the reset');
    assert.notEqual(await whoami(stolen.accessToken), '200');
    const again: Login = await h.login('yara', `${YARA_PASSWORD}-2`);
    assert.equal((await h.json(admin, 'POST', '/v1/principals/yara/disable', {})).status, 204);
    assert.equal((await h.json(admin, 'POST', '/v1/principals/yara/enable', {})).status, 204);
    assert.notEqual((await refresh(again.refreshToken)).status, 200, 'refresh after disable and enable');
  });

  test('a security-key session started from an API token ends with the token: revoked, or expired', async () => {
    // yara registers a key from a password session, then mints a token from it
    const s = await h.login('yara', `${YARA_PASSWORD}-2`);
    const reg = await h.json<Ceremony>(s.accessToken, 'POST', '/v1/auth/webauthn/registrations');
    assert.equal((await h.json(s.accessToken, 'POST', '/v1/auth/webauthn/registrations/finish', { ceremonyId: reg.body.ceremonyId, response: key.register(reg.body.options) })).status, 201);
    const stepUpFrom = async (pat: string): Promise<Tokens> => {
      const verifier = randomBytes(32).toString('base64url');
      const challenge = createHash('sha256').update(verifier).digest('base64url');
      const begun = await h.json<Ceremony>(pat, 'POST', '/v1/auth/step-up/handoff', { redirect: 'http://127.0.0.1:45123/callback', challenge });
      assert.equal(begun.status, 200, JSON.stringify(begun.body));
      const page = await h.json<{ options: Ceremony['options'] }>(null, 'GET', `/v1/auth/webauthn/ceremonies/${begun.body.ceremonyId}`);
      const fin = await h.json<{ redirect: string }>(null, 'POST', '/v1/auth/step-up/finish', { ceremonyId: begun.body.ceremonyId, response: key.assert(page.body.options) });
      assert.equal(fin.status, 200, JSON.stringify(fin.body));
      const code = new URL(fin.body.redirect).searchParams.get('code')!;
      const ex = await h.json<Tokens>(null, 'POST', '/v1/auth/handoff/exchange', { code, verifier });
      assert.equal(ex.status, 200, JSON.stringify(ex.body));
      return ex.body;
    };
    const pat = await h.mint(s.accessToken, { ttlSeconds: 3600 });
    const up = await stepUpFrom(pat.body.token);
    assert.equal(await h.download(up.accessToken, 'secret'), '200', 'the key was just used');
    const child = await h.mint(up.accessToken);
    assert.equal((await h.json(s.accessToken, 'DELETE', `/v1/tokens/${pat.body.info.id}`)).status, 204);
    assert.notEqual(await whoami(up.accessToken), '200', 'the session started from the revoked token');
    assert.notEqual((await refresh(up.refreshToken)).status, 200, 'its refresh token');
    assert.notEqual(await whoami(child.body.token), '200', 'what the session minted');

    // a token of ten minutes: the session it starts cannot be refreshed past them
    const short = await h.mint(s.accessToken, { ttlSeconds: 600 });
    const up2 = await stepUpFrom(short.body.token);
    h.advance(9 * 60_000);
    const r1 = await refresh(up2.refreshToken);
    assert.equal(r1.status, 200, JSON.stringify(r1.body));
    h.advance(2 * 60_000);
    assert.notEqual((await refresh(r1.body.refreshToken)).status, 200, 'refresh past the token that started the session');
  });

  test('a minting request cannot name its own parent, methods or origin', async () => {
    const s = await h.login('erin', 'quartz-meadow-falcon-77');
    for (const forged of [{ parentId: 'tok_bootstrap' }, { methods: { webauthn: h.now() } }, { origin: 'setup-token' }]) {
      const r = await h.json<Err>(s.accessToken, 'POST', '/v1/tokens', forged);
      assert.equal(r.status, 400, JSON.stringify(forged));
      assert.equal(r.body.error.code, 'COFFER_VALIDATION_FAILED');
      const k = await h.json<Err>(s.accessToken, 'POST', '/v1/s3/credentials', forged);
      assert.equal(k.status, 400, `s3 ${JSON.stringify(forged)}`);
    }
  });

  test('a token a stepped-up administrator issues for a user carries none of the administrator\'s factors', async () => {
    admin = await h.steppedUp('admin');
    const issued = await h.mint(admin, { principal: 'erin' });
    assert.equal(issued.status, 201);
    assert.equal(await h.download(issued.body.token, 'secret'), 'COFFER_AUTH_STEP_UP_REQUIRED');
    const info = await h.json<{ mfa: { methods: string[] } }>(issued.body.token, 'GET', '/v1/auth/session');
    assert.ok(!info.body.mfa.methods.includes('webauthn') && !info.body.mfa.methods.includes('password'), JSON.stringify(info.body));
  });
});
