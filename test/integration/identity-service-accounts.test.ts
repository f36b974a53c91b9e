import assert from 'node:assert/strict';
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { SignJWT, exportJWK } from 'jose';
import { openIdentityHarness } from './identity-harness.js';
import type { IdentityHarness } from './identity-harness.js';

type Err = { error: { code: string } };
type TokenAnswer = { access_token: string; token_type: string; expires_in: number };

void describe('identity: service accounts get short-lived tokens only', () => {
  let h: IdentityHarness;
  let jwksServer: Server;
  let jwksUrl: string;
  const saKey = generateKeyPairSync('ed25519');
  const ciKey = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const ciIssuer = 'https://ci.example.test';
  let jwksHits = 0;

  before(async () => {
    h = await openIdentityHarness();
    const admin = h.adminToken;
    assert.equal((await h.call('POST', '/v1/principals', { token: admin, body: { kind: 'service-account', name: 'trainer', owner: 'admin' } })).status, 201);
    assert.equal((await h.call('POST', '/v1/principals', { token: admin, body: { kind: 'service-account', name: 'deployer', owner: 'admin' } })).status, 201);
    await h.call('POST', '/v1/projects', { token: admin, body: { name: 'ml' } });
    await h.call('POST', '/v1/projects/ml/artifacts', { token: admin, body: { name: 'model', kind: 'model', tier: 'restricted', environment: 'dev' } });
    await h.app.inject({ method: 'POST', url: '/v1/projects/ml/artifacts/model/versions', headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/octet-stream' }, payload: Buffer.from('weights') });
    await h.call('POST', '/v1/grants', { token: admin, body: { principal: 'trainer', role: 'reader', project: 'ml', artifact: 'model' } });
    const publicJwk = { ...(await exportJWK(ciKey.publicKey)), kid: 'ci-1', alg: 'RS256', use: 'sig' };
    jwksServer = createServer((_req, res) => {
      jwksHits++;
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [publicJwk] }));
    });
    await new Promise<void>((resolve) => jwksServer.listen(0, '127.0.0.1', resolve));
    jwksUrl = `http://127.0.0.1:${(jwksServer.address() as AddressInfo).port}/jwks`;
  });
  after(async () => {
    await h.close();
    await new Promise<void>((resolve) => jwksServer.close(() => resolve()));
  });

  const form = (fields: Record<string, string>) => h.app.inject({ method: 'POST', url: '/oauth/token', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: new URLSearchParams(fields).toString() });
  const assertion = (over: Record<string, unknown> = {}, key = saKey.privateKey, kid?: string) => {
    const now = Math.floor(h.now() / 1000);
    return new SignJWT({ jti: randomUUID(), ...over })
      .setProtectedHeader({ alg: 'EdDSA', kid: kid ?? (over.kid as string) })
      .setIssuer('trainer')
      .setSubject('trainer')
      .setAudience('http://localhost:7443/oauth/token')
      .setIssuedAt(now)
      .setExpirationTime((over.exp as number | undefined) ?? now + 120)
      .sign(key);
  };

  test('long-lived API tokens for service accounts are off by default', async () => {
    const r = await h.call<Err>('POST', '/v1/tokens', { token: h.adminToken, body: { principal: 'trainer', ttlSeconds: 3600 } });
    assert.equal(r.status, 403);
    assert.equal(r.body.error.code, 'COFFER_AUTH_LONG_LIVED_TOKEN_DISABLED');
  });

  test('private_key_jwt: a signed assertion buys one access token of at most an hour, once', async () => {
    const reg = await h.call<{ kid: string; alg: string }>('POST', '/v1/service-accounts/trainer/keys', { token: h.adminToken, body: { jwk: await exportJWK(saKey.publicKey) } });
    assert.equal(reg.status, 201);
    assert.equal(reg.body.alg, 'EdDSA');
    const kid = reg.body.kid;
    // a private key is refused
    assert.equal((await h.call('POST', '/v1/service-accounts/deployer/keys', { token: h.adminToken, body: { jwk: await exportJWK(saKey.privateKey) } })).status, 400);

    const a = await assertion({}, saKey.privateKey, kid);
    const fields = { grant_type: 'client_credentials', client_id: 'trainer', client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', client_assertion: a, expires_in: '7200' };
    const r = await form(fields);
    assert.equal(r.statusCode, 200, r.body);
    const t = r.json<TokenAnswer>();
    assert.equal(t.token_type, 'Bearer');
    assert.equal(t.expires_in, 900, 'capped by accessTokenTtlSeconds, never above 3600');
    const claims = JSON.parse(Buffer.from(t.access_token.split('.')[1]!, 'base64url').toString()) as { exp: number; iat: number; amr: string[] };
    assert.ok(claims.exp - claims.iat <= 3600);
    assert.deepEqual(claims.amr, ['private_key_jwt']);
    // the service account works with its grant, restricted data included (no MFA for workloads)
    assert.equal((await h.call('GET', '/v1/projects/ml/artifacts/model/versions/1/content', { token: t.access_token })).status, 200);
    // but has no admin rights
    assert.equal((await h.call('POST', '/v1/projects', { token: t.access_token, body: { name: 'x' } })).status, 403);
    // replay of the same assertion
    assert.equal(((await form(fields)).json<Err>()).error.code, 'COFFER_AUTH_TOKEN_INVALID');
    // an assertion that lives an hour
    const long = await form({ ...fields, client_assertion: await assertion({ exp: Math.floor(h.now() / 1000) + 3600 }, saKey.privateKey, kid) });
    assert.equal(long.statusCode, 401);
    // signed by another key under the registered kid
    const other = generateKeyPairSync('ed25519').privateKey;
    assert.equal((await form({ ...fields, client_assertion: await assertion({}, other, kid) })).statusCode, 401);
    // client_id of another account
    assert.equal((await form({ ...fields, client_id: 'deployer', client_assertion: await assertion({}, saKey.privateKey, kid) })).statusCode, 401);
    // after 15 minutes the token is dead; a new assertion gets a new one
    h.advance(901_000);
    assert.equal((await h.call<Err>('GET', '/v1/whoami', { token: t.access_token })).body.error.code, 'COFFER_AUTH_TOKEN_EXPIRED');
    // revoked key
    assert.equal((await h.call('DELETE', `/v1/service-accounts/trainer/keys/${kid}`, { token: h.adminToken })).status, 204);
    assert.equal((await form({ ...fields, client_assertion: await assertion({}, saKey.privateKey, kid) })).statusCode, 401);
  });

  test('OIDC ID token from a trusted CI issuer, exchanged for a short-lived token', async () => {
    const put = await h.call('PUT', '/v1/identity/workload-issuers/ci', {
      token: h.adminToken,
      body: { issuer: ciIssuer, jwksUri: jwksUrl, audience: 'coffer', bindings: [{ serviceAccount: 'trainer', claims: { repository: 'acme/models', ref: 'refs/heads/main' } }] },
    });
    assert.equal(put.status, 200, JSON.stringify(put.body));
    // trusting a whole issuer without a claim to match is refused
    assert.equal((await h.call('PUT', '/v1/identity/workload-issuers/bad', { token: h.adminToken, body: { issuer: ciIssuer, jwksUri: jwksUrl, audience: 'coffer', bindings: [{ serviceAccount: 'trainer', claims: {} }] } })).status, 400);
    const now = Math.floor(h.now() / 1000);
    const idToken = (claims: Record<string, unknown>, opts: { aud?: string; exp?: number; iat?: number } = {}) =>
      new SignJWT({ repository: 'acme/models', ref: 'refs/heads/main', ...claims })
        .setProtectedHeader({ alg: 'RS256', kid: 'ci-1' })
        .setIssuer(ciIssuer)
        .setSubject('repo:acme/models:ref:refs/heads/main')
        .setAudience(opts.aud ?? 'coffer')
        .setIssuedAt(opts.iat ?? now)
        .setExpirationTime(opts.exp ?? now + 300)
        .sign(ciKey.privateKey);
    const exchange = async (token: string) =>
      h.call<TokenAnswer & Err>('POST', '/v1/auth/token', { body: { grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange', subject_token: token, subject_token_type: 'urn:ietf:params:oauth:token-type:id_token' } });
    const ok = await exchange(await idToken({}));
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    assert.ok(ok.body.expires_in <= 3600);
    assert.equal((await h.call<{ name: string }>('GET', '/v1/whoami', { token: ok.body.access_token })).body.name, 'trainer');
    assert.ok(jwksHits >= 1, 'keys fetched from the issuer');
    assert.equal((await exchange(await idToken({ ref: 'refs/heads/feature' }))).body.error.code, 'COFFER_AUTH_TOKEN_INVALID', 'another branch matches no binding');
    assert.equal((await exchange(await idToken({}, { aud: 'someone-else' }))).body.error.code, 'COFFER_AUTH_TOKEN_WRONG_AUDIENCE');
    assert.equal((await exchange(await idToken({}, { iat: now - 600, exp: now - 60 }))).body.error.code, 'COFFER_AUTH_TOKEN_EXPIRED');
    assert.equal((await exchange(await idToken({}, { exp: now + 7200 }))).body.error.code, 'COFFER_AUTH_TOKEN_INVALID', 'ID tokens over an hour are refused');
    const forged = await new SignJWT({ repository: 'acme/models', ref: 'refs/heads/main' }).setProtectedHeader({ alg: 'RS256', kid: 'ci-1' }).setIssuer(ciIssuer).setSubject('x').setAudience('coffer').setIssuedAt(now).setExpirationTime(now + 300).sign(generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey);
    assert.equal((await exchange(forged)).body.error.code, 'COFFER_AUTH_TOKEN_INVALID', 'signed by another key');
    // deprovisioning the service account ends its sessions at once
    assert.equal((await h.call('POST', '/v1/auth/sessions/revoke-all', { token: h.adminToken, body: { principal: 'trainer' } })).status, 200);
    assert.equal((await h.call<Err>('GET', '/v1/whoami', { token: ok.body.access_token })).body.error.code, 'COFFER_AUTH_TOKEN_REVOKED');
  });

  test('where an admin enables them, service account API tokens must expire within the limit', async () => {
    const h2 = await openIdentityHarness({ servicePatMaxTtlSeconds: 86_400 });
    try {
      await h2.call('POST', '/v1/principals', { token: h2.adminToken, body: { kind: 'service-account', name: 'legacy', owner: 'admin' } });
      assert.equal((await h2.call('POST', '/v1/tokens', { token: h2.adminToken, body: { principal: 'legacy', ttlSeconds: 7 * 86_400 } })).status, 400);
      const t = await h2.call<{ token: string }>('POST', '/v1/tokens', { token: h2.adminToken, body: { principal: 'legacy', ttlSeconds: 3600 } });
      assert.equal(t.status, 201);
      assert.match(t.body.token, /^coffer_pat_/);
      assert.equal((await h2.call('GET', '/v1/whoami', { token: t.body.token })).status, 200);
    } finally {
      await h2.close();
    }
  });
});
