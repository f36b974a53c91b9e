import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import * as catalog from '../domain/errors.js';
import { MAPPED_CODES } from './error-handler.js';
import { bearer, openAppHarness } from '../../test/support/app-harness.js';
import type { AppHarness } from '../../test/support/app-harness.js';

const METRICS_TOKEN = 'a-scrape-token-of-thirty-two-chars-or-more';
let h: AppHarness;
let bob: string;
const secretPlain = randomBytes(100_000);
const marker = 'PLAINTEXT-MARKER-7c1f';
secretPlain.write(marker, 500);

before(async () => {
  h = await openAppHarness({ segmentSize: 4096, metricsToken: METRICS_TOKEN });
  bob = await h.user('bob');
  const admin = bearer(h.adminToken);
  assert.equal((await h.app.inject({ method: 'POST', url: '/v1/projects', headers: admin, payload: { name: 'ml' } })).statusCode, 201);
  for (const [name, tier] of [['secret', 'restricted'], ['open', 'internal']]) {
    const r = await h.app.inject({ method: 'POST', url: '/v1/projects/ml/artifacts', headers: admin, payload: { name, kind: 'model', tier, environment: 'dev' } });
    assert.equal(r.statusCode, 201, r.body);
  }
  for (const body of [secretPlain, Buffer.from('second version')]) {
    const r = await h.app.inject({ method: 'POST', url: '/v1/projects/ml/artifacts/secret/versions', headers: { ...admin, 'content-type': 'application/octet-stream' }, payload: body });
    assert.equal(r.statusCode, 201, r.body);
  }
  const g = await h.app.inject({ method: 'POST', url: '/v1/grants', headers: admin, payload: { principal: 'bob', role: 'reader', project: 'ml', artifact: 'secret', version: 1 } });
  assert.equal(g.statusCode, 201, g.body);
});

after(async () => {
  await h.close();
});

test('every catalog code has an HTTP status in the error table', () => {
  const codes = Object.values(catalog)
    .filter((v): v is typeof catalog.CofferError & { code: string } => typeof v === 'function' && 'code' in v && typeof v.code === 'string')
    .map((v) => v.code);
  assert.deepEqual(codes.filter((c) => !MAPPED_CODES.includes(c)), []);
});

test('health, readiness, metrics and the OpenAPI document', async () => {
  assert.equal((await h.app.inject('/v1/health')).statusCode, 200);
  assert.deepEqual((await h.app.inject('/v1/ready')).json(), { status: 'ready' });
  const metrics = await h.app.inject({ url: '/metrics', headers: bearer(METRICS_TOKEN) });
  assert.match(metrics.body, /coffer_http_requests_total/);
  const doc = (await h.app.inject('/v1/openapi.json')).json<{ openapi: string; paths: Record<string, unknown> }>();
  assert.equal(doc.openapi, '3.1.0');
  assert.ok(doc.paths['/v1/projects/{project}/artifacts/{artifact}/versions/{version}/content']);
});

test('a version grant opens that version only; the rest is not found, with one message shape', async () => {
  const ok = await h.app.inject({ url: '/v1/projects/ml/artifacts/secret/versions/1/content', headers: bearer(bob) });
  assert.equal(ok.statusCode, 200);
  assert.ok(ok.rawPayload.equals(secretPlain));
  assert.equal(ok.headers['x-coffer-sha256'], (await import('node:crypto')).createHash('sha256').update(secretPlain).digest('hex'));
  const hidden = await h.app.inject({ url: '/v1/projects/ml/artifacts/secret/versions/2/content', headers: bearer(bob) });
  const missing = await h.app.inject({ url: '/v1/projects/ml/artifacts/secret/versions/9/content', headers: bearer(bob) });
  const otherArtifact = await h.app.inject({ url: '/v1/projects/ml/artifacts/open/versions/1/content', headers: bearer(bob) });
  const otherProject = await h.app.inject({ url: '/v1/projects/nope/artifacts/open/versions/1/content', headers: bearer(bob) });
  for (const r of [hidden, missing, otherArtifact, otherProject]) {
    assert.equal(r.statusCode, 404);
    const body = r.json<{ error: { code: string; message: string } }>();
    assert.equal(body.error.code, 'COFFER_NOT_FOUND');
    assert.match(body.error.message, /^artifact version `[^`]+` not found$/);
  }
  // a range on a hidden version is "not found", never a 416 that would reveal its size
  const hiddenRange = await h.app.inject({ url: '/v1/projects/ml/artifacts/secret/versions/2/content', headers: { ...bearer(bob), range: 'bytes=999999-' } });
  assert.equal(hiddenRange.statusCode, 404);
});

test('visible but not permitted is 403: admins see restricted metadata but need a grant to download', async () => {
  const admin = bearer(h.adminToken);
  assert.equal((await h.app.inject({ url: '/v1/projects/ml/artifacts/secret/versions/1', headers: admin })).statusCode, 200);
  // the admin created the artifact, so it holds an owner grant on it: revoke that for this check
  const grants = (await h.app.inject({ url: '/v1/grants?project=ml&artifact=secret', headers: admin })).json<{ items: { id: string; principalId: string }[] }>();
  const me = (await h.app.inject({ url: '/v1/whoami', headers: admin })).json<{ id: string }>();
  const own = grants.items.find((g) => g.principalId === me.id)!;
  assert.equal((await h.app.inject({ method: 'DELETE', url: `/v1/grants/${own.id}`, headers: admin })).statusCode, 204);
  const denied = await h.app.inject({ url: '/v1/projects/ml/artifacts/secret/versions/1/content', headers: admin });
  assert.equal(denied.statusCode, 403);
  assert.equal((denied.json<{ error: { code: string } }>()).error.code, 'COFFER_FORBIDDEN');
});

test('HTTP ranges: bounded, open-ended, suffix and unsatisfiable', async () => {
  const url = '/v1/projects/ml/artifacts/secret/versions/1/content';
  const r1 = await h.app.inject({ url, headers: { ...bearer(bob), range: 'bytes=4090-8200' } });
  assert.equal(r1.statusCode, 206);
  assert.equal(r1.headers['content-range'], `bytes 4090-8200/${secretPlain.length}`);
  assert.ok(r1.rawPayload.equals(secretPlain.subarray(4090, 8201)));
  const r2 = await h.app.inject({ url, headers: { ...bearer(bob), range: 'bytes=-10' } });
  assert.ok(r2.rawPayload.equals(secretPlain.subarray(secretPlain.length - 10)));
  const r3 = await h.app.inject({ url, headers: { ...bearer(bob), range: 'bytes=99000-' } });
  assert.ok(r3.rawPayload.equals(secretPlain.subarray(99000)));
  const r4 = await h.app.inject({ url, headers: { ...bearer(bob), range: `bytes=${secretPlain.length}-` } });
  assert.equal(r4.statusCode, 416);
  assert.equal(r4.headers['content-range'], `bytes */${secretPlain.length}`);
});

test('logs never contain tokens or plaintext', async () => {
  await h.app.inject({ url: '/v1/whoami', headers: bearer('coffer_pat_definitelynotvalid') });
  const text = h.logs();
  assert.ok(text.length > 0);
  assert.ok(!text.includes(h.adminToken), 'admin token in logs');
  assert.ok(!text.includes(bob), 'user token in logs');
  assert.ok(!text.includes('definitelynotvalid'), 'presented token in logs');
  assert.ok(!text.includes(marker), 'plaintext in logs');
  assert.ok(!text.includes(h.runtime.setupToken ?? 'no-setup-token-left'));
});

test('every request is in the audit log, allowed or denied, and the chain verifies', async () => {
  const admin = bearer(h.adminToken);
  const verify = (await h.app.inject({ url: '/v1/audit/verify', headers: admin })).json<{ ok: boolean; checked: number }>();
  assert.equal(verify.ok, true);
  const exported = await h.app.inject({ url: '/v1/audit/export', headers: admin });
  assert.equal(exported.statusCode, 200, exported.body);
  const lines = exported.body.trim().split('\n').map((l) => JSON.parse(l) as { body?: { action: string; decision: string; outcome: string; actor: { name: string } | null } });
  const records = lines.flatMap((l) => (l.body ? [l.body] : []));
  const bobs = records.filter((b) => b.actor?.name === 'bob');
  assert.ok(bobs.some((b) => b.action === 'download' && b.decision === 'allow' && b.outcome === 'success'));
  assert.ok(bobs.some((b) => b.action === 'download' && b.decision === 'deny'));
  assert.ok(records.some((b) => b.action === 'authenticate' && b.decision === 'deny' && b.actor === null));
  // verify's completion and the export's own records come after the verified tail
  assert.ok(verify.checked >= records.length - 3, `${verify.checked} vs ${records.length}`);
});

test('non-admins cannot run system actions', async () => {
  for (const [method, url] of [['POST', '/v1/keys/rotate'], ['POST', '/v1/keys/rotate-root'], ['GET', '/v1/audit/verify'], ['GET', '/v1/principals']] as const) {
    const r = await h.app.inject({ method, url, headers: bearer(bob) });
    assert.equal(r.statusCode, 403, `${method} ${url}`);
  }
  const r = await h.app.inject({ method: 'POST', url: '/v1/projects', headers: bearer(bob), payload: { name: 'bobs' } });
  assert.equal(r.statusCode, 403);
});

test('key rotation rewraps every data key and data stays readable', async () => {
  const admin = bearer(h.adminToken);
  const rot = await h.app.inject({ method: 'POST', url: '/v1/keys/rotate', headers: admin });
  assert.equal(rot.statusCode, 200, rot.body);
  const { term, rewrapped } = rot.json<{ term: number; rewrapped: number }>();
  assert.equal(term, 2);
  assert.equal(rewrapped, 2);
  const v = (await h.app.inject({ url: '/v1/projects/ml/artifacts/secret/versions/1', headers: admin })).json<{ keyTerm: number }>();
  assert.equal(v.keyTerm, 2);
  const ok = await h.app.inject({ url: '/v1/projects/ml/artifacts/secret/versions/1/content', headers: bearer(bob) });
  assert.ok(ok.rawPayload.equals(secretPlain));
  // audit keys followed the rotation: the chain still verifies with the same keys after rewrap
  assert.equal(((await h.app.inject({ url: '/v1/audit/verify', headers: admin })).json<{ ok: boolean }>()).ok, true);
});

test('an exported checkpoint verifies, and a forged one is refused', async () => {
  const admin = bearer(h.adminToken);
  const cp = await h.app.inject({ method: 'POST', url: '/v1/audit/checkpoints', headers: admin });
  assert.equal(cp.statusCode, 201, cp.body);
  const checkpoint = cp.json<{ seq: number; hash: string; signature: string; publicKey: string }>();
  assert.match(checkpoint.publicKey, /^[A-Za-z0-9_-]{43}$/);
  const good = await h.app.inject({ method: 'POST', url: '/v1/audit/verify', headers: admin, payload: { checkpoint: { seq: checkpoint.seq, hash: checkpoint.hash, signature: checkpoint.signature } } });
  assert.equal((good.json<{ ok: boolean }>()).ok, true);
  const forgedHash = checkpoint.hash.replace(/^./, (c) => (c === '0' ? '1' : '0'));
  const bad = await h.app.inject({ method: 'POST', url: '/v1/audit/verify', headers: admin, payload: { checkpoint: { seq: checkpoint.seq, hash: forgedHash, signature: checkpoint.signature } } });
  assert.equal((bad.json<{ ok: boolean }>()).ok, false);
});
