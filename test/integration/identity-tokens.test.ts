import assert from 'node:assert/strict';
import { createHmac, generateKeyPairSync } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { SignJWT } from 'jose';
import { openIdentityHarness } from './identity-harness.js';
import type { IdentityHarness } from './identity-harness.js';

type Err = { error: { code: string } };
type Tokens = { accessToken: string; refreshToken: string; sessionId: string; expiresIn: number };

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');

void describe('identity: access tokens, refresh rotation, revocation, tampering', () => {
  let h: IdentityHarness;
  let login: (name?: string) => Promise<Tokens>;
  before(async () => {
    h = await openIdentityHarness();
    await h.call('POST', '/v1/principals', { token: h.adminToken, body: { kind: 'user', name: 'carol' } });
    await h.call('POST', '/v1/principals', { token: h.adminToken, body: { kind: 'user', name: 'dave' } });
    await h.call('PUT', '/v1/auth/password', { token: h.adminToken, body: { principal: 'carol', password: 'violet-harbor-sextant-9' } });
    await h.call('PUT', '/v1/auth/password', { token: h.adminToken, body: { principal: 'dave', password: 'violet-harbor-sextant-9' } });
    login = async (name = 'carol') => {
      const r = await h.call<Tokens>('POST', '/v1/auth/login', { body: { name, password: 'violet-harbor-sextant-9' } });
      assert.equal(r.status, 200);
      return r.body;
    };
  });
  after(async () => h.close());

  const whoami = (token: string) => h.call<Err & { name: string }>('GET', '/v1/whoami', { token });

  test('JWKS publishes the Ed25519 key; the token header names it', async () => {
    const jwks = await h.call<{ keys: { kty: string; crv: string; kid: string; alg: string; d?: string }[] }>('GET', '/.well-known/jwks.json');
    assert.equal(jwks.status, 200);
    assert.equal(jwks.body.keys.length, 1);
    const [key] = jwks.body.keys;
    assert.deepEqual([key!.kty, key!.crv, key!.alg, key!.d], ['OKP', 'Ed25519', 'EdDSA', undefined]);
    const t = await login();
    const header = JSON.parse(Buffer.from(t.accessToken.split('.')[0]!, 'base64url').toString()) as Record<string, string>;
    assert.deepEqual(header, { alg: 'EdDSA', typ: 'at+jwt', kid: key!.kid });
    const claims = JSON.parse(Buffer.from(t.accessToken.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>;
    assert.equal(claims.iss, 'urn:coffer');
    assert.equal(claims.aud, 'coffer-api');
    assert.equal((claims.exp as number) - (claims.iat as number), 900);
    assert.equal(typeof claims.jti, 'string');
    assert.equal(claims.sid, t.sessionId);
  });

  test('refresh rotates; a replayed refresh token revokes the whole family', async () => {
    const t1 = await login();
    const r2 = await h.call<Tokens>('POST', '/v1/auth/refresh', { body: { refreshToken: t1.refreshToken } });
    assert.equal(r2.status, 200);
    assert.notEqual(r2.body.refreshToken, t1.refreshToken);
    const r3 = await h.call<Tokens>('POST', '/v1/auth/refresh', { body: { refreshToken: r2.body.refreshToken } });
    assert.equal(r3.status, 200);
    assert.equal((await whoami(r3.body.accessToken)).status, 200);
    // an attacker replays the first (already used) refresh token
    const replay = await h.call<Err>('POST', '/v1/auth/refresh', { body: { refreshToken: t1.refreshToken } });
    assert.equal(replay.status, 401);
    assert.equal(replay.body.error.code, 'COFFER_AUTH_REFRESH_REUSED');
    // the whole family is dead: the newest access and refresh tokens too
    assert.equal((await whoami(r3.body.accessToken)).body.error.code, 'COFFER_AUTH_TOKEN_REVOKED');
    assert.equal((await h.call<Err>('POST', '/v1/auth/refresh', { body: { refreshToken: r3.body.refreshToken } })).body.error.code, 'COFFER_AUTH_TOKEN_REVOKED');
  });

  test('revocation of a token, a session and all sessions is effective on the next request', async () => {
    const a = await login();
    const b = await login();
    // one access token (RFC 7009 style)
    assert.equal((await h.call('POST', '/v1/auth/revoke', { body: { token: a.accessToken } })).status, 204);
    assert.equal((await whoami(a.accessToken)).body.error.code, 'COFFER_AUTH_TOKEN_REVOKED');
    assert.equal((await whoami(b.accessToken)).status, 200, 'other sessions unaffected');
    // the session a's refresh token still works: it mints a new access token
    const a2 = await h.call<Tokens>('POST', '/v1/auth/refresh', { body: { refreshToken: a.refreshToken } });
    assert.equal(a2.status, 200);
    // one session
    assert.equal((await h.call('DELETE', `/v1/auth/sessions/${a.sessionId}`, { token: b.accessToken })).status, 204);
    assert.equal((await whoami(a2.body.accessToken)).body.error.code, 'COFFER_AUTH_TOKEN_REVOKED');
    // all sessions of a principal, by an admin, with its API tokens
    const pat = await h.call<{ token: string }>('POST', '/v1/tokens', { token: h.adminToken, body: { principal: 'carol' } });
    assert.equal((await whoami(pat.body.token)).status, 200);
    const all = await h.call<{ sessions: number; tokens: number }>('POST', '/v1/auth/sessions/revoke-all', { token: h.adminToken, body: { principal: 'carol', tokens: true } });
    assert.equal(all.status, 200);
    assert.ok(all.body.sessions >= 1 && all.body.tokens === 1);
    assert.equal((await whoami(b.accessToken)).body.error.code, 'COFFER_AUTH_TOKEN_REVOKED');
    assert.equal((await whoami(pat.body.token)).body.error.code, 'COFFER_AUTH_TOKEN_REVOKED');
    // logout revokes the current session
    const c = await login();
    assert.equal((await h.call('POST', '/v1/auth/logout', { token: c.accessToken })).status, 204);
    assert.equal((await whoami(c.accessToken)).body.error.code, 'COFFER_AUTH_TOKEN_REVOKED');
  });

  test('tampering: every forged or stale token is refused with its code', async () => {
    const t = await login();
    const dave = await login('dave');
    const [, payload] = t.accessToken.split('.');
    const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString()) as Record<string, unknown>;
    const key = h.runtime.identity.signingKey;
    const jwk = key.publicJwk;
    const sign = (over: Record<string, unknown>, header: Record<string, unknown> = {}, signer = key.privateKey) =>
      new SignJWT({ ...claims, ...over }).setProtectedHeader({ alg: 'EdDSA', typ: 'at+jwt', kid: jwk.kid, ...header }).sign(signer);
    const hs256 = (secret: Buffer | string) => {
      const head = b64({ alg: 'HS256', typ: 'at+jwt', kid: jwk.kid });
      const sig = createHmac('sha256', secret).update(`${head}.${payload}`).digest('base64url');
      return `${head}.${payload}.${sig}`;
    };
    const now = Math.floor(h.now() / 1000);
    const otherKey = generateKeyPairSync('ed25519').privateKey;
    const cases: [string, string, string][] = [
      ['alg none', `${b64({ alg: 'none', typ: 'at+jwt' })}.${payload}.`, 'COFFER_AUTH_TOKEN_INVALID'],
      ['HS256 keyed with the public key (raw x)', hs256(Buffer.from(jwk.x, 'base64url')), 'COFFER_AUTH_TOKEN_INVALID'],
      ['HS256 keyed with the public JWK text', hs256(JSON.stringify(jwk)), 'COFFER_AUTH_TOKEN_INVALID'],
      ['HS256 keyed with the public key PEM', hs256(key.publicKey.export({ format: 'pem', type: 'spki' }).toString()), 'COFFER_AUTH_TOKEN_INVALID'],
      ['signed by another Ed25519 key', await sign({}, {}, otherKey), 'COFFER_AUTH_TOKEN_INVALID'],
      ['payload changed (sub of another user)', `${t.accessToken.split('.')[0]}.${b64({ ...claims, sub: 'prn_someoneelse' })}.${t.accessToken.split('.')[2]}`, 'COFFER_AUTH_TOKEN_INVALID'],
      ['not yet valid (nbf in 10 minutes)', await sign({ nbf: now + 600, iat: now, exp: now + 900 }), 'COFFER_AUTH_TOKEN_NOT_YET_VALID'],
      ['wrong audience', await sign({ aud: 'some-other-api' }), 'COFFER_AUTH_TOKEN_WRONG_AUDIENCE'],
      ['wrong issuer', await sign({ iss: 'https://evil.example' }), 'COFFER_AUTH_TOKEN_INVALID'],
      ['wrong typ (an ID token)', await sign({}, { typ: 'JWT' }), 'COFFER_AUTH_TOKEN_INVALID'],
      ['lifetime over one hour, validly signed', await sign({ iat: now, nbf: now, exp: now + 7200 }), 'COFFER_AUTH_TOKEN_INVALID'],
      ['session of another principal', await sign({ sid: dave.sessionId }), 'COFFER_AUTH_TOKEN_INVALID'],
      ['unknown session', await sign({ sid: 'ses_doesnotexist' }), 'COFFER_AUTH_TOKEN_INVALID'],
      ['garbage', 'eyJhbGciOiJFZERTQSJ9.bm90IGpzb24.c2ln', 'COFFER_AUTH_TOKEN_INVALID'],
    ];
    for (const [what, token, code] of cases) {
      const r = await whoami(token);
      assert.equal(r.status, 401, what);
      assert.equal(r.body.error.code, code, what);
    }
    assert.equal((await whoami(t.accessToken)).status, 200, 'the genuine token still works');
    h.advance(901_000);
    const expired = await whoami(t.accessToken);
    assert.equal(expired.body.error.code, 'COFFER_AUTH_TOKEN_EXPIRED', 'expired');
    // the refresh token still gets a fresh one within the session lifetime
    assert.equal((await h.call('POST', '/v1/auth/refresh', { body: { refreshToken: t.refreshToken } })).status, 200);
    // past the session's absolute lifetime nothing refreshes
    const late = await login();
    h.advance(12 * 3600_000 + 1000);
    const dead = await h.call<Err>('POST', '/v1/auth/refresh', { body: { refreshToken: late.refreshToken } });
    assert.equal(dead.body.error.code, 'COFFER_AUTH_TOKEN_EXPIRED');
  });

  test('an access token is never longer than one hour, whatever the configuration says', async () => {
    const bad = await openIdentityHarness({ accessTokenTtlSeconds: 7200 }).catch((e: Error) => e);
    assert.ok(bad instanceof Error && /accessTokenTtlSeconds/.test(bad.message));
  });
});
