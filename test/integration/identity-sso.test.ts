import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { openIdentityHarness } from './identity-harness.js';
import type { IdentityHarness } from './identity-harness.js';

// A real, certified OpenID provider (oidc-provider) on 127.0.0.1, its development login
// form driven over HTTP, against Coffer's relying party (openid-client): authorization
// code with PKCE, then the groups claim mapped to Coffer groups.

const GROUPS: Record<string, string[]> = { kim: ['ml-team', 'everyone'], lee: ['everyone'] };

void describe('identity: SSO with OpenID Connect (authorization code + PKCE) against oidc-provider', () => {
  let h: IdentityHarness;
  let server: Server;
  let issuer: string;

  before(async () => {
    h = await openIdentityHarness();
    // oidc-provider ships no types: the little used here, typed here
    const specifier: string = 'oidc-provider';
    const Provider = ((await import(specifier)) as { default: new (issuer: string, config: Record<string, unknown>) => { listen(port: number, host: string): Server; issuer: string } }).default;
    const provider = new Provider('http://127.0.0.1:0', {
      clients: [{ client_id: 'coffer', client_secret: 'a-long-client-secret-for-tests', redirect_uris: ['http://localhost:7443/v1/auth/sso/callback'], grant_types: ['authorization_code'], response_types: ['code'] }],
      claims: { openid: ['sub'], profile: ['name', 'preferred_username'], email: ['email'], groups: ['groups'] },
      scopes: ['openid', 'profile', 'email', 'groups'],
      pkce: { required: () => true },
      findAccount: async (_ctx: unknown, id: string) => ({
        accountId: id,
        claims: async () => ({ sub: `sub-${id}`, name: `${id.toUpperCase()} Example`, preferred_username: id, email: `${id}@example.com`, groups: GROUPS[id] ?? [] }),
      }),
    });
    server = provider.listen(0, '127.0.0.1');
    await new Promise<void>((resolve) => server.once('listening', () => resolve()));
    issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    // the issuer must be the URL it is reached at
    provider.issuer = issuer;
    for (const g of ['ml', 'staff']) await h.call('POST', '/v1/principals', { token: h.adminToken, body: { kind: 'group', name: g } });
  });
  after(async () => {
    await h.close();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  /** Plays a browser: follows redirects with cookies, fills the provider's login and consent forms. */
  async function browse(start: string, login: string): Promise<string> {
    const jar = new Map<string, string>();
    let url = start;
    let method = 'GET';
    let body: string | undefined;
    for (let hop = 0; hop < 20; hop++) {
      if (url.startsWith('http://localhost:7443/')) return url;
      const res = await fetch(url, { method, redirect: 'manual', headers: { cookie: [...jar].map(([k, v]) => `${k}=${v}`).join('; '), ...(body ? { 'content-type': 'application/x-www-form-urlencoded' } : {}) }, ...(body ? { body } : {}) });
      for (const c of res.headers.getSetCookie()) {
        const [pair] = c.split(';');
        const i = pair!.indexOf('=');
        jar.set(pair!.slice(0, i), pair!.slice(i + 1));
      }
      const location = res.headers.get('location');
      if (location) {
        url = new URL(location, url).toString();
        method = 'GET';
        body = undefined;
        continue;
      }
      const html = await res.text();
      const action = /<form[^>]*action="([^"]+)"/.exec(html)?.[1];
      assert.ok(action, `no form at ${url} (${res.status}): ${html.slice(0, 300)}`);
      const fields = new URLSearchParams();
      for (const m of html.matchAll(/<input[^>]*type="hidden"[^>]*name="([^"]+)"[^>]*value="([^"]*)"/g)) fields.set(m[1]!, m[2]!);
      if (html.includes('name="login"')) {
        fields.set('login', login);
        fields.set('password', 'any');
      }
      url = new URL(action.replace(/&amp;/g, '&'), url).toString();
      method = 'POST';
      body = fields.toString();
    }
    throw new Error('too many hops');
  }

  async function signIn(login: string): Promise<{ accessToken: string; refreshToken: string }> {
    const verifier = randomBytes(32).toString('base64url');
    const challenge = createHash('sha256').update(verifier).digest('base64url');
    const redirect = 'http://127.0.0.1:39999/callback';
    const start = await h.app.inject({ url: `/v1/auth/sso/corp/start?redirect=${encodeURIComponent(redirect)}&challenge=${challenge}` });
    assert.equal(start.statusCode, 302, start.body);
    const authorize = new URL(String(start.headers.location));
    assert.equal(authorize.origin, issuer);
    assert.equal(authorize.searchParams.get('code_challenge_method'), 'S256');
    assert.ok(authorize.searchParams.get('state') && authorize.searchParams.get('nonce'));
    const back = await browse(authorize.toString(), login);
    const cb = new URL(back);
    assert.equal(cb.pathname, '/v1/auth/sso/callback');
    assert.ok(cb.searchParams.get('code'));
    const done = await h.app.inject({ url: `${cb.pathname}${cb.search}` });
    assert.equal(done.statusCode, 302, done.body);
    const handoff = new URL(String(done.headers.location));
    assert.equal(handoff.origin + handoff.pathname, redirect, 'the session goes to the waiting CLI only');
    // the code alone is useless without the verifier
    const stolen = await h.call<{ error: { code: string } }>('POST', '/v1/auth/handoff/exchange', { body: { code: handoff.searchParams.get('code'), verifier: randomBytes(32).toString('base64url') } });
    assert.equal(stolen.status, 401);
    // ... and a code works once: the failed try above spent it, so sign in again for the real exchange
    return finishWith(login, verifier);
  }

  async function finishWith(login: string, verifier: string): Promise<{ accessToken: string; refreshToken: string }> {
    const challenge = createHash('sha256').update(verifier).digest('base64url');
    const start = await h.app.inject({ url: `/v1/auth/sso/corp/start?redirect=${encodeURIComponent('http://127.0.0.1:39999/callback')}&challenge=${challenge}` });
    const cb = new URL(await browse(String(start.headers.location), login));
    const done = await h.app.inject({ url: `${cb.pathname}${cb.search}` });
    const code = new URL(String(done.headers.location)).searchParams.get('code');
    const tokens = await h.call<{ accessToken: string; refreshToken: string }>('POST', '/v1/auth/handoff/exchange', { body: { code, verifier } });
    assert.equal(tokens.status, 200, JSON.stringify(tokens.body));
    assert.equal((await h.call('POST', '/v1/auth/handoff/exchange', { body: { code, verifier } })).status, 401, 'a hand-off code works once');
    return tokens.body;
  }

  test('an admin configures the provider; the client secret is sealed', async () => {
    const put = await h.call<{ redirectUri: string }>('PUT', '/v1/identity/sso-providers/corp', {
      token: h.adminToken,
      body: { issuer, clientId: 'coffer', clientSecret: 'a-long-client-secret-for-tests', groupMap: { 'ml-team': 'ml', everyone: 'staff' } },
    });
    assert.equal(put.status, 200, JSON.stringify(put.body));
    assert.equal(put.body.redirectUri, 'http://localhost:7443/v1/auth/sso/callback');
    const stored = await h.runtime.identity.identityStore.getProvider('sso', 'corp');
    assert.ok(!Buffer.from(stored!.sealedSecret!).toString('latin1').includes('a-long-client-secret'), 'secret sealed');
    assert.deepEqual((await h.call<{ items: { name: string }[] }>('GET', '/v1/auth/sso/providers')).body.items.map((p) => p.name), ['corp']);
    // redirects only to loopback or Coffer itself
    const evil = await h.app.inject({ url: `/v1/auth/sso/corp/start?redirect=${encodeURIComponent('https://evil.example/cb')}&challenge=${'a'.repeat(43)}` });
    assert.equal(evil.statusCode, 400);
  });

  test('first sign-in creates the user and maps its groups claim; the session works', async () => {
    const t = await signIn('kim');
    const me = await h.call<{ name: string; groups: string[] }>('GET', '/v1/whoami', { token: t.accessToken });
    assert.equal(me.body.name, 'kim');
    const ml = await h.runtime.store.getPrincipalByName('ml');
    const staff = await h.runtime.store.getPrincipalByName('staff');
    assert.deepEqual(me.body.groups.sort(), [ml!.id, staff!.id].sort());
    const session = await h.call<{ mfa: { methods: string[] } }>('GET', '/v1/auth/session', { token: t.accessToken });
    assert.deepEqual(session.body.mfa.methods, ['sso']);
  });

  test('the next sign-in reuses the linked account and follows group changes', async () => {
    GROUPS.kim = ['everyone'];
    const t = await finishWith('kim', randomBytes(32).toString('base64url'));
    const me = await h.call<{ name: string; groups: string[] }>('GET', '/v1/whoami', { token: t.accessToken });
    assert.equal(me.body.name, 'kim', 'same account, not kim-2');
    const staff = await h.runtime.store.getPrincipalByName('staff');
    assert.deepEqual(me.body.groups, [staff!.id], 'removed from ml when the provider dropped ml-team');
    // a local account with the same name is never taken over by a new provider subject
    await h.call('POST', '/v1/principals', { token: h.adminToken, body: { kind: 'user', name: 'lee' } });
    const lee = await finishWith('lee', randomBytes(32).toString('base64url'));
    assert.equal((await h.call<{ name: string }>('GET', '/v1/whoami', { token: lee.accessToken })).body.name, 'lee-2');
  });

  test('a forged or replayed callback is refused', async () => {
    const r = await h.app.inject({ url: '/v1/auth/sso/callback?code=forged&state=forged' });
    assert.equal(r.statusCode, 401);
  });
});
