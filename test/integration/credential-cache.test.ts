/**
 * The credential cache (src/service/credential-cache.ts) on a real runtime: an API
 * token's second request is served without reading the token, its principal, groups or
 * grants again, and every change that must take effect does so on the very next
 * request, on that cached path: token revocation, a disabled principal, a grant revoked
 * or added (directly or through a group), expiry of the token or of a grant, and a
 * revocation written by another process into the same SQLite database.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { openSqliteStore } from '../../src/store/index.js';
import { openIdentityHarness } from './identity-harness.js';
import type { IdentityHarness } from './identity-harness.js';

type Err = { error: { code: string } };

void describe('credential cache: a change takes effect on the next request', () => {
  let h: IdentityHarness;
  /** Store reads of a token by hash, counted on the real store. */
  let tokenReads = 0;
  let n = 0;

  before(async () => {
    h = await openIdentityHarness();
    const store = h.runtime.store as unknown as { getTokenByHash: (hash: string) => Promise<unknown> };
    const original = store.getTokenByHash.bind(store);
    store.getTokenByHash = (hash: string) => {
      tokenReads++;
      return original(hash);
    };
    assert.equal((await h.call('POST', '/v1/projects', { token: h.adminToken, body: { name: 'vault' } })).status, 201);
  });
  after(async () => h.close());

  /** A fresh user with an API token (optionally expiring) and a reader grant on `vault`. */
  async function user(options: { ttlSeconds?: number; grantExpiresAt?: string } = {}): Promise<{ name: string; token: string; tokenId: string; grantId: string }> {
    const name = `user-${++n}`;
    assert.equal((await h.call('POST', '/v1/principals', { token: h.adminToken, body: { kind: 'user', name } })).status, 201);
    const t = await h.call<{ token: string; info: { id: string } }>('POST', '/v1/tokens', { token: h.adminToken, body: { principal: name, ...(options.ttlSeconds ? { ttlSeconds: options.ttlSeconds } : {}) } });
    assert.equal(t.status, 201);
    const g = await h.call<{ id: string }>('POST', '/v1/grants', { token: h.adminToken, body: { principal: name, role: 'reader', project: 'vault', ...(options.grantExpiresAt ? { expiresAt: options.grantExpiresAt } : {}) } });
    assert.equal(g.status, 201);
    return { name, token: t.body.token, tokenId: t.body.info.id, grantId: g.body.id };
  }

  const read = (token: string) => h.call<Err>('GET', '/v1/projects/vault', { token });

  /** Two allowed reads, the second without a token read: the cached path is warm. */
  async function warm(token: string): Promise<void> {
    assert.equal((await read(token)).status, 200);
    const before = tokenReads;
    assert.equal((await read(token)).status, 200);
    assert.equal(tokenReads, before, 'the second request must be served from the cache');
  }

  test('a revoked token is refused on the next request', async () => {
    const u = await user();
    await warm(u.token);
    assert.equal((await h.call('DELETE', `/v1/tokens/${u.tokenId}`, { token: h.adminToken })).status, 204);
    const r = await read(u.token);
    assert.equal(r.status, 401);
    assert.equal(r.body.error.code, 'COFFER_AUTH_TOKEN_REVOKED');
  });

  test('a disabled principal is refused on the next request', async () => {
    const u = await user();
    await warm(u.token);
    assert.equal((await h.call('POST', `/v1/principals/${u.name}/disable`, { token: h.adminToken })).status, 204);
    const r = await read(u.token);
    assert.equal(r.status, 401);
    assert.equal(r.body.error.code, 'COFFER_AUTH_PRINCIPAL_DISABLED');
  });

  test('a revoked grant denies the next request; a grant through a new group allows it again', async () => {
    const u = await user();
    await warm(u.token);
    assert.equal((await h.call('DELETE', `/v1/grants/${u.grantId}`, { token: h.adminToken })).status, 204);
    assert.equal((await read(u.token)).status, 404);
    const group = `group-${n}`;
    assert.equal((await h.call('POST', '/v1/principals', { token: h.adminToken, body: { kind: 'group', name: group } })).status, 201);
    assert.equal((await h.call('POST', '/v1/grants', { token: h.adminToken, body: { principal: group, role: 'reader', project: 'vault' } })).status, 201);
    assert.equal((await read(u.token)).status, 404, 'the group grant does not reach a non-member');
    assert.equal((await h.call('POST', `/v1/groups/${group}/members`, { token: h.adminToken, body: { member: u.name } })).status, 204);
    assert.equal((await read(u.token)).status, 200);
  });

  test('an expired token is refused on the cached path', async () => {
    const u = await user({ ttlSeconds: 60 });
    await warm(u.token);
    h.advance(61_000);
    const r = await read(u.token);
    assert.equal(r.status, 401);
    assert.equal(r.body.error.code, 'COFFER_AUTH_TOKEN_EXPIRED');
  });

  test('an expired grant denies on the cached path', async () => {
    const u = await user({ grantExpiresAt: new Date(h.now() + 30_000).toISOString() });
    await warm(u.token);
    h.advance(31_000);
    assert.equal((await read(u.token)).status, 404);
  });

  test('a revocation written by another process into the same database is seen on the next request', async () => {
    const u = await user();
    await warm(u.token);
    // a second connection: what the CLI or another server on this data directory would write
    const other = openSqliteStore(join(h.config.dataDir, 'coffer.db'));
    try {
      await other.revokeToken(u.tokenId, h.now());
    } finally {
      await other.close();
    }
    const r = await read(u.token);
    assert.equal(r.status, 401);
    assert.equal(r.body.error.code, 'COFFER_AUTH_TOKEN_REVOKED');
  });

  test('audit appends and other neutral writes keep the cache warm', async () => {
    const u = await user();
    await warm(u.token);
    // each read appended audit records; a third read is still served from the cache
    const before = tokenReads;
    assert.equal((await read(u.token)).status, 200);
    assert.equal(tokenReads, before);
  });
});
