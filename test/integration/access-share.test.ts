/**
 * Share links against a real runtime and app: the unauthenticated download route with
 * Range, download limits taken atomically, network binding, revocation effective at
 * once (no byte served), tampered and replayed links, expiry on the injected clock, the
 * approval a restricted version needs, the creator's access bounding the link's, the
 * secret kept out of logs, every use audited with its source.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { generateShareToken } from '../../src/access/share-token.js';
import { auditRecords, openAccessHarness } from './access-harness.js';
import type { AccessHarness } from './access-harness.js';

interface Created {
  token: string;
  path: string;
  link: { id: string; state: string; expiresAt: string | null; requestId: string | null; hint: string };
}

void describe('share links', () => {
  let h: AccessHarness;
  let olivia: string;
  let dana: string;
  let ron: string;
  const data = randomBytes(300_000);
  const secret = randomBytes(4000);
  const tokens: string[] = [];

  before(async () => {
    h = await openAccessHarness();
    olivia = await h.principal('olivia');
    dana = await h.principal('dana');
    ron = await h.principal('ron');
    await h.call(h.adminToken, 'POST', '/v1/projects', { name: 'vision' });
    await h.call(h.adminToken, 'POST', '/v1/grants', { principal: 'olivia', role: 'owner', project: 'vision' });
    await h.call(olivia, 'POST', '/v1/projects/vision/artifacts', { name: 'eval/report', kind: 'evaluation', tier: 'internal', environment: 'dev' });
    await h.call(olivia, 'POST', '/v1/projects/vision/artifacts', { name: 'models/resnet', kind: 'model', tier: 'restricted', environment: 'dev' });
    await h.push(olivia, 'vision', 'eval/report', data);
    await h.push(olivia, 'vision', 'models/resnet', secret);
  });
  after(async () => h.close());

  const create = async (token: string, body: Record<string, unknown> = {}): Promise<Created> => {
    const r = await h.call(token, 'POST', '/v1/share-links', { project: 'vision', artifact: 'eval/report', version: 1, ...body });
    assert.equal(r.statusCode, 201, r.body);
    const c = r.json<Created>();
    tokens.push(c.token);
    return c;
  };
  const get = (path: string, extra: Record<string, unknown> = {}) => h.call(null, 'GET', path, undefined, extra);

  void it('serves one version without authentication, with Range, and counts every use', async () => {
    const c = await create(olivia, { ttlSeconds: 3600, maxDownloads: 3 });
    assert.match(c.token, /^coffer_share_[0-9A-Za-z]{38}$/);
    assert.equal(c.path, `/v1/share/${c.token}`);
    assert.equal(c.link.state, 'active');
    const full = await get(c.path);
    assert.equal(full.statusCode, 200);
    assert.ok(full.rawPayload.equals(data));
    assert.equal(full.headers['referrer-policy'], 'no-referrer');
    const part = await get(c.path, { headers: { range: 'bytes=1000-1999' } });
    assert.equal(part.statusCode, 206);
    assert.ok(part.rawPayload.equals(data.subarray(1000, 2000)));
    assert.equal((await get(c.path, { headers: { range: 'bytes=999999999-' } })).statusCode, 416, 'a bad range is refused without using the link up');
    assert.equal((await get(c.path)).statusCode, 200);
    const over = await get(c.path);
    assert.equal(over.statusCode, 410, 'the fourth use is over the limit of 3');
    assert.equal(over.json().error.code, 'COFFER_SHARE_LINK_UNAVAILABLE');
    assert.ok(!over.rawPayload.includes(data.subarray(0, 64)), 'no byte of the content');
    const listed = (await h.call(olivia, 'GET', '/v1/share-links')).json().items as Array<{ id: string; downloads: number; state: string }>;
    assert.deepEqual(listed.filter((l) => l.id === c.link.id).map((l) => [l.downloads, l.state]), [[3, 'used-up']]);
  });

  void it('lets exactly one of several racing downloads take the last use', async () => {
    const c = await create(olivia, { maxDownloads: 1 });
    const results = await Promise.all([get(c.path), get(c.path), get(c.path), get(c.path)]);
    assert.deepEqual(results.map((r) => r.statusCode).sort(), [200, 410, 410, 410]);
  });

  void it('stops working the moment it is revoked, and never serves a byte after', async () => {
    const c = await create(olivia);
    assert.equal((await get(c.path)).statusCode, 200);
    const revoked = await h.call(olivia, 'DELETE', `/v1/share-links/${c.link.id}`);
    assert.equal(revoked.statusCode, 200, revoked.body);
    assert.equal(revoked.json().state, 'revoked');
    const after = await get(c.path);
    assert.equal(after.statusCode, 410);
    assert.match(after.json<{ error: { message: string } }>().error.message, /revoked/);
    assert.equal(after.headers['content-type'], 'application/json; charset=utf-8');
    assert.equal((await h.call(olivia, 'DELETE', `/v1/share-links/${c.link.id}`)).statusCode, 409);
    assert.equal((await h.call(dana, 'DELETE', `/v1/share-links/${c.link.id}`)).statusCode, 404, 'a stranger cannot even see it');
  });

  void it('refuses tampered, unknown and replayed-after-expiry links', async () => {
    const c = await create(olivia, { ttlSeconds: 600 });
    const flip = (s: string, i: number) => s.slice(0, i) + (s[i] === 'a' ? 'b' : 'a') + s.slice(i + 1);
    for (const bad of [flip(c.token, 20), flip(c.token, c.token.length - 1), c.token.slice(0, -1), 'coffer_pat_x', generateShareToken().token, '..%2f..%2fetc']) {
      const r = await get(`/v1/share/${bad}`);
      assert.equal(r.statusCode, 404, `${bad}: ${r.body}`);
      assert.equal(r.json().error.code, 'COFFER_SHARE_LINK_INVALID');
    }
    assert.equal((await get(c.path)).statusCode, 200);
    h.advance(600_000);
    const late = await get(c.path);
    assert.equal(late.statusCode, 410);
    assert.match(late.json<{ error: { message: string } }>().error.message, /expired/);
  });

  void it('binds a link to networks', async () => {
    const c = await create(olivia, { cidrs: ['10.20.0.0/16', '2001:db8::/32'] });
    assert.equal((await get(c.path, { remoteAddress: '10.20.3.4' })).statusCode, 200);
    assert.equal((await get(c.path, { remoteAddress: '2001:db8::1' })).statusCode, 200);
    const outside = await get(c.path, { remoteAddress: '10.21.0.1' });
    assert.equal(outside.statusCode, 403);
    assert.equal((await get(c.path)).statusCode, 403, 'loopback is outside too');
    const bad = await h.call(olivia, 'POST', '/v1/share-links', { project: 'vision', artifact: 'eval/report', version: 1, cidrs: ['10.0.0.0/33'] });
    assert.equal(bad.statusCode, 400);
  });

  void it('checks who may share, and the maximum lifetime', async () => {
    await h.call(h.adminToken, 'POST', '/v1/grants', { principal: 'dana', role: 'reader', project: 'vision' });
    const reader = await h.call(dana, 'POST', '/v1/share-links', { project: 'vision', artifact: 'eval/report', version: 1 });
    assert.equal(reader.statusCode, 403, 'readers download but do not share');
    const long = await h.call(olivia, 'POST', '/v1/share-links', { project: 'vision', artifact: 'eval/report', version: 1, ttlSeconds: 24 * 3600 + 1 });
    assert.equal(long.json().error.code, 'COFFER_ACCESS_DURATION_INVALID');
  });

  void it('never outlives its creator access', async () => {
    const g = await h.call(h.adminToken, 'POST', '/v1/grants', { principal: 'ron', role: 'writer', project: 'vision', artifact: 'eval/report' });
    const c = await create(ron);
    assert.equal((await get(c.path)).statusCode, 200);
    await h.call(h.adminToken, 'DELETE', `/v1/grants/${g.json().id}`);
    const r = await get(c.path);
    assert.equal(r.statusCode, 410);
    assert.match(r.json<{ error: { message: string } }>().error.message, /creator may no longer share/);
  });

  void it('needs an approval for a restricted version, and the link starts at approval', async () => {
    const noWhy = await h.call(olivia, 'POST', '/v1/share-links', { project: 'vision', artifact: 'models/resnet', version: 1 });
    assert.equal(noWhy.statusCode, 400);
    const c = await create(olivia, { artifact: 'models/resnet', ttlSeconds: 3600, justification: 'external auditor needs the weights' });
    assert.equal(c.link.state, 'pending-approval');
    assert.ok(c.link.requestId);
    const waiting = await get(c.path);
    assert.equal(waiting.statusCode, 410);
    assert.match(waiting.json<{ error: { message: string } }>().error.message, /waiting for approval/);
    assert.equal((await h.call(olivia, 'POST', `/v1/access/requests/${c.link.requestId}/approve`, {})).json().error.code, 'COFFER_ACCESS_SELF_APPROVAL');
    h.advance(5 * 60_000);
    const approvedAt = h.now();
    const ok = await h.call(h.adminToken, 'POST', `/v1/access/requests/${c.link.requestId}/approve`, { comment: 'auditor NDA on file' });
    assert.equal(ok.statusCode, 200, ok.body);
    const served = await get(c.path);
    assert.equal(served.statusCode, 200);
    assert.ok(served.rawPayload.equals(secret));
    const link = ((await h.call(olivia, 'GET', '/v1/share-links')).json().items as Array<{ id: string; expiresAt: string }>).find((l) => l.id === c.link.id)!;
    assert.equal(Date.parse(link.expiresAt), approvedAt + 3600_000);
    // revoking the approval kills the link
    await h.call(h.adminToken, 'POST', `/v1/access/requests/${c.link.requestId}/revoke`, { reason: 'auditor done' });
    assert.equal((await get(c.path)).statusCode, 410);
  });

  void it('records every use with its source, and never logs a link secret', async () => {
    const records = await auditRecords(h.runtime);
    const uses = records.filter((r) => r.action === 'share-download');
    assert.ok(uses.some((r) => r.outcome === 'success' && r.bytes === data.length && r.context.sourceIp === '127.0.0.1'));
    assert.ok(uses.some((r) => r.outcome === 'success' && r.context.sourceIp === '10.20.3.4'));
    assert.ok(uses.some((r) => r.outcome === 'denied' && r.reason === 'COFFER_SHARE_LINK_INVALID' && r.actor === null));
    assert.ok(uses.some((r) => r.outcome === 'denied' && r.context.sourceIp === '10.21.0.1'));
    const text = JSON.stringify(records) + h.logs();
    assert.ok(tokens.length > 5);
    for (const t of tokens) assert.ok(!text.includes(t.slice('coffer_share_'.length)), 'a link secret reached the audit log or the server log');
    assert.match(h.logs(), /\/v1\/share\/:token/);
  });
});
