import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { decodeProtectedHeader } from 'jose';
import { signAccessToken } from '../../src/identity/access-token.js';
import { loadIdentityKeys, rotateSigningKey } from '../../src/identity/identity-keys.js';
import type { SigningKey } from '../../src/identity/identity-keys.js';
import { openIdentityHarness } from './identity-harness.js';
import type { IdentityHarness } from './identity-harness.js';

type Err = { error: { code: string } };
type Tokens = { accessToken: string; refreshToken: string; sessionId: string };
type Jwks = { keys: { kid: string; x: string }[] };

const PASSWORD = 'quartz-meadow-falcon-77';

void describe('identity: signing-key rotation (kid selection, previous key until its tokens expire)', () => {
  let h: IdentityHarness;
  let first: Tokens;
  let oldKey: SigningKey;

  before(async () => {
    h = await openIdentityHarness();
    await h.call('POST', '/v1/principals', { token: h.adminToken, body: { kind: 'user', name: 'erin' } });
    await h.call('PUT', '/v1/auth/password', { token: h.adminToken, body: { principal: 'erin', password: PASSWORD } });
    first = (await h.call<Tokens>('POST', '/v1/auth/login', { body: { name: 'erin', password: PASSWORD } })).body;
    oldKey = h.runtime.identity.signingKey;
  });
  after(async () => h.close());

  const session = (token: string) => h.call<{ principal: string } & Err>('GET', '/v1/auth/session', { token });

  test('rotation: new kid signs, the old token still verifies, the JWKS publishes both', async () => {
    const jwks0 = (await h.call<Jwks>('GET', '/.well-known/jwks.json')).body;
    assert.deepEqual(jwks0.keys.map((k) => k.kid), [oldKey.kid]);
    // users cannot rotate; the administrator can
    const erin = await h.call<Err>('POST', '/v1/identity/signing-key/rotate', { token: first.accessToken, body: {} });
    assert.equal(erin.status, 403);
    const r = await h.call<{ kid: string; previousKid: string; previousValidUntil: string }>('POST', '/v1/identity/signing-key/rotate', { token: h.adminToken, body: {} });
    assert.equal(r.status, 200);
    assert.equal(r.body.previousKid, oldKey.kid);
    assert.notEqual(r.body.kid, oldKey.kid);
    assert.equal(Date.parse(r.body.previousValidUntil), h.now() + 3_720_000);
    const jwks1 = (await h.call<Jwks>('GET', '/v1/auth/jwks')).body;
    assert.deepEqual(jwks1.keys.map((k) => k.kid), [r.body.kid, oldKey.kid]);
    assert.equal((await session(first.accessToken)).status, 200, 'a token of the previous key still verifies');
    const refreshed = (await h.call<Tokens>('POST', '/v1/auth/refresh', { body: { refreshToken: first.refreshToken } })).body;
    assert.equal(decodeProtectedHeader(refreshed.accessToken).kid, r.body.kid);
    assert.equal((await session(refreshed.accessToken)).status, 200);
    first = refreshed;
  });

  test('tampering: unknown kid, no kid, a kid of ours on another key: refused', async () => {
    const { generateKeyPairSync } = await import('node:crypto');
    const other = generateKeyPairSync('ed25519');
    const x = other.publicKey.export({ format: 'jwk' }).x!;
    const stranger: SigningKey = { kid: 'not-a-coffer-kid', privateKey: other.privateKey, publicKey: other.publicKey, publicJwk: { kty: 'OKP', crv: 'Ed25519', x, kid: 'not-a-coffer-kid', alg: 'EdDSA', use: 'sig' } };
    const sub = (await h.call<{ id: string }>('GET', '/v1/whoami', { token: first.accessToken })).body.id;
    const mint = (key: SigningKey) => signAccessToken(key, { issuer: h.config.identity.tokenIssuer, principalId: sub, sessionId: first.sessionId, methods: ['password'], now: h.now(), ttlSeconds: 900 });
    assert.equal((await session((await mint(stranger)).token)).body.error.code, 'COFFER_AUTH_TOKEN_INVALID');
    const underOurKid: SigningKey = { ...stranger, kid: oldKey.kid };
    assert.equal((await session((await mint(underOurKid)).token)).body.error.code, 'COFFER_AUTH_TOKEN_INVALID');
    // the previous key's own signature still passes inside its window
    assert.equal((await session((await mint(oldKey)).token)).status, 200);
  });

  test('after the window the previous key is gone from the JWKS and its signatures are refused', async () => {
    h.advance(3_721_000);
    const refreshed = (await h.call<Tokens>('POST', '/v1/auth/refresh', { body: { refreshToken: first.refreshToken } })).body;
    first = refreshed;
    const sub = (await h.call<{ id: string }>('GET', '/v1/whoami', { token: first.accessToken })).body.id;
    const jwks = (await h.call<Jwks>('GET', '/.well-known/jwks.json')).body;
    assert.equal(jwks.keys.length, 1);
    assert.ok(!jwks.keys.some((k) => k.kid === oldKey.kid));
    const late = await signAccessToken(oldKey, { issuer: h.config.identity.tokenIssuer, principalId: sub, sessionId: first.sessionId, methods: ['password'], now: h.now(), ttlSeconds: 900 });
    assert.equal((await session(late.token)).body.error.code, 'COFFER_AUTH_TOKEN_INVALID');
  });

  test('another node rotated: this node learns the new key (change feed, or the first token that names it)', async () => {
    const sub = (await h.call<{ id: string }>('GET', '/v1/whoami', { token: first.accessToken })).body.id;
    // "node 2" rotates in the shared database and signs with the new key; this node was not told
    const r = await rotateSigningKey(h.runtime.store, h.runtime.keyring, h.now(), false);
    const node2 = await loadIdentityKeys(h.runtime.store, h.runtime.keyring);
    assert.equal(node2.signing.kid, r.kid);
    // the change feed (store/change-feed.ts) may already have told this node; if it has not,
    // the first token naming the new kid makes it read the keys again: either way it follows
    h.advance(6_000);
    const t = await signAccessToken(node2.signing, { issuer: h.config.identity.tokenIssuer, principalId: sub, sessionId: first.sessionId, methods: ['password'], now: h.now(), ttlSeconds: 900 });
    assert.equal((await session(t.token)).status, 200);
    assert.equal(h.runtime.identity.signingKey.kid, r.kid, 'this node now signs with the new key too');
    // retire-now: tokens of the retired key stop at once
    const prior = (await h.call<Tokens>('POST', '/v1/auth/refresh', { body: { refreshToken: first.refreshToken } })).body;
    const now = await h.call<{ previousValidUntil: string }>('POST', '/v1/identity/signing-key/rotate', { token: h.adminToken, body: { retireNow: true } });
    assert.equal(now.status, 200);
    assert.equal((await session(prior.accessToken)).body.error.code, 'COFFER_AUTH_TOKEN_INVALID');
    const next = (await h.call<Tokens>('POST', '/v1/auth/refresh', { body: { refreshToken: prior.refreshToken } })).body;
    assert.equal((await session(next.accessToken)).status, 200, 'the session goes on with a refreshed token');
  });
});
