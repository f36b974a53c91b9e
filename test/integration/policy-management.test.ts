/**
 * Policy management end to end through the REST API (in-process app, real SQLite and
 * files): validate with file:line:column, test cases, diff, apply (next request,
 * audited), rollback, explain, impact analysis over the audit log, refusal for
 * non-admins, and a second node on the same database following an apply within about
 * a second (SQLite here; PostgreSQL too when COFFER_TEST_PG_URL is set).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { loadConfig } from '../../src/config/index.js';
import { openRuntime } from '../../src/runtime/open-runtime.js';
import { buildApp } from '../../src/server/app.js';
import { bearer, openAppHarness, type AppHarness } from '../support/app-harness.js';
import { repoRoot } from '../support/index.js';
import { parseAuditExport } from '../support/index.js';

const WORKING_HOURS = readFileSync(join(repoRoot(), 'src', 'policy', 'examples', 'working-hours.cedar'), 'utf8');
const WORKING_HOURS_TESTS = JSON.parse(readFileSync(join(repoRoot(), 'src', 'policy', 'examples', 'working-hours.tests.json'), 'utf8')) as { tests: unknown[] };
const NO_DEV_DOWNLOADS = '// dev artifacts are for their writers\n@id("no-dev-downloads")\nforbid (principal, action == Coffer::Action::"download", resource)\nwhen { resource has environment && resource.environment == "dev" };\n';

/** A clock the test moves: Tuesday 2025-03-04 10:00 UTC to start. */
let now = Date.UTC(2025, 2, 4, 10);

async function json<T>(h: AppHarness, method: 'GET' | 'POST', url: string, token: string, payload?: unknown, status = 200): Promise<T> {
  const r = await h.app.inject({ method, url, headers: bearer(token), payload: payload as object });
  assert.equal(r.statusCode, status, `${method} ${url}: ${r.body}`);
  return r.json<T>();
}

void describe('policy management through the API', { timeout: 120_000 }, () => {
  let h: AppHarness;
  let alice: string;
  before(async () => {
    h = await openAppHarness({ trustedNetworks: '10.0.0.0/8,127.0.0.0/8,::1/128', promotionApprovalsProd: 0 }, { clock: () => now });
    alice = await h.user('alice');
    const admin = h.adminToken;
    await json(h, 'POST', '/v1/projects', admin, { name: 'ml' }, 201);
    await json(h, 'POST', '/v1/projects/ml/artifacts', admin, { name: 'scratch', kind: 'model', tier: 'internal', environment: 'dev' }, 201);
    // the prod model: prod is reached through promotions (docs/access.md)
    await json(h, 'POST', '/v1/projects/ml/artifacts', admin, { name: 'resnet', kind: 'model', tier: 'internal', environment: 'dev' }, 201);
    const push = await h.app.inject({ method: 'POST', url: '/v1/projects/ml/artifacts/resnet/versions', headers: { ...bearer(admin), 'content-type': 'application/octet-stream' }, payload: Buffer.from('prod weights') });
    assert.equal(push.statusCode, 201, push.body);
    for (const to of ['staging', 'prod']) await json(h, 'POST', '/v1/promotions', admin, { project: 'ml', artifact: 'resnet', version: 1, to }, 201);
    await json(h, 'POST', '/v1/grants', admin, { principal: 'alice', role: 'reader', project: 'ml' }, 201);
  });
  after(async () => h.close());

  const showAs = (token: string, artifact: string) => h.app.inject({ method: 'GET', url: `/v1/projects/ml/artifacts/${artifact}`, headers: bearer(token) });

  it('refuses policy management to non-admins (audited like every request)', async () => {
    for (const [method, url, payload] of [['GET', '/v1/policy', undefined], ['POST', '/v1/policy/apply', { sources: [] }], ['POST', '/v1/policy/rollback', {}], ['POST', '/v1/authz/explain', { principal: 'alice', action: 'download', resource: 'system' }]] as const) {
      const r = await h.app.inject({ method, url, headers: bearer(alice), ...(payload ? { payload } : {}) });
      assert.equal(r.statusCode, 403, `${url}: ${r.body}`);
    }
  });

  it('validates strictly, with the file, line and column of the first problem', async () => {
    const ok = await json<{ policies: { id: string; source: string; line: number }[] }>(h, 'POST', '/v1/policy/validate', h.adminToken, { sources: [{ name: 'wh.cedar', text: WORKING_HOURS }] });
    assert.deepEqual(ok.policies.map((p) => [p.id, p.source, p.line]), [['working-hours/prod-and-restricted', 'wh.cedar', 5]]);
    const bad = await h.app.inject({ method: 'POST', url: '/v1/policy/validate', headers: bearer(h.adminToken), payload: { sources: [{ name: 'typo.cedar', text: '\n@id("t")\nforbid (principal, action, resource)\nwhen { resource has tier && resource.teir == "x" };\n' }] } });
    assert.equal(bad.statusCode, 400);
    const err = bad.json<{ error: { code: string; message: string } }>().error;
    assert.equal(err.code, 'COFFER_POLICY_INVALID');
    assert.match(err.message, /typo\.cedar:4:29: .*attribute `teir`.*not found/);
  });

  it('runs policy test cases against a draft and against the active set', async () => {
    const draft = await json<{ passed: number; failed: number }>(h, 'POST', '/v1/policy/test', h.adminToken, { sources: [{ name: 'working-hours.cedar', text: WORKING_HOURS }], tests: WORKING_HOURS_TESTS.tests });
    assert.deepEqual(draft, { ...draft, passed: 7, failed: 0 });
    const active = await json<{ passed: number; failed: number; tested: unknown; results: { passed: boolean; message: string }[] }>(h, 'POST', '/v1/policy/test', h.adminToken, { tests: WORKING_HOURS_TESTS.tests });
    assert.deepEqual(active.tested, { version: 0 });
    assert.equal(active.failed, 4);
    const malformed = await h.app.inject({ method: 'POST', url: '/v1/policy/test', headers: bearer(h.adminToken), payload: { tests: [{ name: 'x' }] } });
    assert.equal(malformed.statusCode, 400);
    assert.match(malformed.body, /tests\[0\]\.principal/);
  });

  it('applies a set atomically: refused drafts leave the active set untouched, an apply takes effect on the next request', async () => {
    assert.equal((await showAs(alice, 'scratch')).statusCode, 200);
    const download = () => h.app.inject({ method: 'GET', url: '/v1/projects/ml/artifacts/scratch/versions/1/content', headers: bearer(alice) });
    const push = await h.app.inject({ method: 'POST', url: '/v1/projects/ml/artifacts/scratch/versions', headers: { ...bearer(h.adminToken), 'content-type': 'application/octet-stream' }, payload: Buffer.from('weights') });
    assert.equal(push.statusCode, 201, push.body);
    assert.equal((await download()).statusCode, 200);

    const broken = await h.app.inject({ method: 'POST', url: '/v1/policy/apply', headers: bearer(h.adminToken), payload: { sources: [{ name: 'x.cedar', text: '@id("x")\nforbid (principal, action, resource) when { 1 + };' }] } });
    assert.equal(broken.statusCode, 400);
    assert.match(broken.body, /x\.cedar:2:/);
    assert.equal((await json<{ active: { version: number } }>(h, 'GET', '/v1/policy', h.adminToken)).active.version, 0);
    assert.equal((await download()).statusCode, 200);

    const applied = await json<{ version: number; policies: number; unchanged: boolean }>(h, 'POST', '/v1/policy/apply', h.adminToken, { sources: [{ name: 'no-dev.cedar', text: NO_DEV_DOWNLOADS }], message: 'dev is for writers' });
    assert.deepEqual(applied, { version: 1, activation: 1, policies: 1, unchanged: false });
    assert.equal((await download()).statusCode, 403);
    const again = await json<{ unchanged: boolean; version: number }>(h, 'POST', '/v1/policy/apply', h.adminToken, { sources: [{ name: 'no-dev.cedar', text: NO_DEV_DOWNLOADS }] });
    assert.deepEqual([again.unchanged, again.version], [true, 1]);

    const list = await json<{ active: { version: number }; versions: { version: number; message: string; createdBy: string; active: boolean }[] }>(h, 'GET', '/v1/policy', h.adminToken);
    assert.deepEqual(list.versions.map((v) => [v.version, v.message, v.createdBy, v.active]), [[1, 'dev is for writers', 'admin', true]]);
    const shown = await json<{ sources: { name: string; text: string }[]; policies: { id: string; at: string }[] }>(h, 'GET', '/v1/policy/versions/1', h.adminToken);
    assert.deepEqual(shown.policies, [{ id: 'no-dev-downloads', at: 'no-dev.cedar:2:1' }]);
    const builtin = await json<{ policies: { id: string }[] }>(h, 'GET', '/v1/policy/versions/0', h.adminToken);
    assert.ok(builtin.policies.some((p) => p.id === 'network/restricted-trusted-only'));

    // audited: attempt before, outcome after, for the refused draft and the apply
    const records = parseAuditExport(await readAuditExport(h)).filter((r) => r.body.action === 'manage-policy' && r.body.actor?.name === 'admin');
    assert.deepEqual(records.map((r) => [r.body.outcome, r.body.reason]).slice(0, 4), [['attempt', null], ['failure', 'COFFER_POLICY_INVALID'], ['attempt', null], ['success', null]]);
    assert.equal((records[3]!.body.context as { version?: number }).version, 1);
  });

  it('diffs the active set against a draft and between versions', async () => {
    const d = await json<{ from: number; to: string; added: { id: string }[]; removed: { id: string }[]; changed: unknown[] }>(h, 'POST', '/v1/policy/diff', h.adminToken, { sources: [{ name: 'wh.cedar', text: WORKING_HOURS }] });
    assert.deepEqual([d.from, d.to, d.added.map((p) => p.id), d.removed.map((p) => p.id)], [1, 'draft', ['working-hours/prod-and-restricted'], ['no-dev-downloads']]);
    const v = await json<{ added: { id: string }[] }>(h, 'POST', '/v1/policy/diff', h.adminToken, { from: 0, to: 1 });
    assert.deepEqual(v.added.map((p) => p.id), ['no-dev-downloads']);
  });

  it('explains decisions: the forbid behind a deny, the grant behind an allow, what a default deny lacks', async () => {
    type Explain = { allowed: boolean; cause: string; determining: { id: string; at: string }[]; grants: { role: string; scope: string; status: string }[]; suggestion: string | null };
    const forbidden = await json<Explain>(h, 'POST', '/v1/authz/explain', h.adminToken, { principal: 'alice', action: 'download', resource: { project: 'ml', artifact: 'scratch', version: 1 } });
    assert.deepEqual([forbidden.allowed, forbidden.cause, forbidden.determining.map((p) => [p.id, p.at])], [false, 'forbidden', [['no-dev-downloads', 'no-dev.cedar:2:1']]]);
    assert.deepEqual(forbidden.grants.map((g) => [g.role, g.scope, g.status]), [['reader', 'project/ml', 'overridden']]);
    const allowed = await json<Explain>(h, 'POST', '/v1/authz/explain', h.adminToken, { principal: 'alice', action: 'read-metadata', resource: { project: 'ml', artifact: 'resnet' } });
    assert.deepEqual([allowed.allowed, allowed.grants.map((g) => g.status)], [true, ['applied']]);
    const lacking = await json<Explain>(h, 'POST', '/v1/authz/explain', h.adminToken, { principal: 'alice', action: 'upload', resource: { project: 'ml', artifact: 'resnet' } });
    assert.deepEqual([lacking.cause, lacking.grants.map((g) => g.status), lacking.suggestion], ['no-permit', ['role-lacks-action'], 'grant writer on project/ml/artifact/resnet to `alice`']);
    const offsite = await json<Explain>(h, 'POST', '/v1/authz/explain', h.adminToken, { principal: 'admin', action: 'promote', resource: { project: 'ml', artifact: 'resnet', version: 1 }, context: { sourceIp: '192.0.2.9' } });
    assert.deepEqual([offsite.cause, offsite.determining.map((p) => p.id)], ['forbidden', ['network/prod-changes-trusted-only']]);
    const missing = await h.app.inject({ method: 'POST', url: '/v1/authz/explain', headers: bearer(h.adminToken), payload: { principal: 'nobody', action: 'download', resource: 'system' } });
    assert.equal(missing.statusCode, 404);
  });

  it('reports the impact of a draft on the decisions recorded in the audit log', async () => {
    // alice reads the prod model's metadata on a Tuesday at 10:00 and downloads it on Saturday
    assert.equal((await showAs(alice, 'resnet')).statusCode, 200);
    now = Date.UTC(2025, 2, 8, 22);
    const pulled = await h.app.inject({ method: 'GET', url: '/v1/projects/ml/artifacts/resnet/versions/1/content', headers: bearer(alice) });
    assert.equal(pulled.statusCode, 200);
    type Impact = { replayed: number; toDeny: number; toAllow: number; drifted: number; changes: { actor: string; action: string; resource: string; from: string; to: string; count: number; draftDetermining: string[] }[] };
    const impact = await json<Impact>(h, 'POST', '/v1/policy/impact', h.adminToken, { sources: [{ name: 'wh.cedar', text: WORKING_HOURS }], days: 7 });
    assert.ok(impact.replayed > 10, JSON.stringify(impact));
    // dropping no-dev-downloads re-allows alice's refused downloads of scratch; working hours deny her Saturday night pull
    const alices = impact.changes.filter((c) => c.actor === 'alice');
    assert.equal(alices.length, 2, JSON.stringify(alices));
    // her two allowed downloads of scratch (before the apply) and the refused one after it
    const scratch = alices.find((c) => c.resource === 'project/ml/artifact/scratch@1')!;
    assert.deepEqual([scratch.action, scratch.from, scratch.to, scratch.count], ['download', 'deny', 'allow', 3]);
    assert.match(scratch.draftDetermining[0]!, /^grt_/);
    const resnet = alices.find((c) => c.resource === 'project/ml/artifact/resnet@1')!;
    assert.deepEqual([resnet.action, resnet.from, resnet.to, resnet.count, resnet.draftDetermining], ['download', 'allow', 'deny', 1, ['working-hours/prod-and-restricted']]);
    // the two downloads allowed at the time are denied by the active set today
    assert.equal(impact.drifted, 2);
    assert.ok(impact.toDeny >= 1 && impact.toAllow >= 1);
    const bad = await h.app.inject({ method: 'POST', url: '/v1/policy/impact', headers: bearer(h.adminToken), payload: { sources: [{ name: 'x.cedar', text: '@id("x") permit (' }], days: 7 } });
    assert.equal(bad.statusCode, 400);
  });

  it('replays a decision with the MFA age, tier and environment it was taken with', async () => {
    const saturday = parseAuditExport(await readAuditExport(h)).find((r) => r.body.actor?.name === 'alice' && r.body.action === 'download' && r.body.resource === 'project/ml/artifact/resnet@1');
    const ctx = saturday!.body.context as { mfaAgeSeconds?: number; resourceTier?: string; resourceEnvironment?: string };
    // alice's API token was made on Tuesday 10:00; she pulled on Saturday 22:00
    assert.deepEqual([ctx.mfaAgeSeconds, ctx.resourceTier, ctx.resourceEnvironment], [(Date.UTC(2025, 2, 8, 22) - Date.UTC(2025, 2, 4, 10)) / 1000, 'internal', 'prod']);
    const STALE = '@id("stale-factor")\nforbid (principal, action == Coffer::Action::"download", resource)\nwhen { context.mfa.ageSeconds > 86400 };\n';
    type Impact = { changes: { actor: string; action: string; resource: string; from: string; to: string; draftDetermining: string[] }[] };
    const impact = await json<Impact>(h, 'POST', '/v1/policy/impact', h.adminToken, { sources: [{ name: 'no-dev.cedar', text: NO_DEV_DOWNLOADS }, { name: 'stale.cedar', text: STALE }], days: 7 });
    // only the Saturday pull was made with a factor over a day old (replayed as 0 it would not change)
    assert.deepEqual(
      impact.changes.map((c) => [c.actor, c.action, c.resource, c.from, c.to, c.draftDetermining]),
      [['alice', 'download', 'project/ml/artifact/resnet@1', 'allow', 'deny', ['stale-factor']]],
    );
  });

  it('rolls back to the previous version, or to a given one, and refuses unknown versions', async () => {
    const back = await json<{ version: number }>(h, 'POST', '/v1/policy/rollback', h.adminToken, {});
    assert.equal(back.version, 0);
    const download = await h.app.inject({ method: 'GET', url: '/v1/projects/ml/artifacts/scratch/versions/1/content', headers: bearer(alice) });
    assert.equal(download.statusCode, 200);
    assert.equal((await json<{ version: number }>(h, 'POST', '/v1/policy/rollback', h.adminToken, { version: 1 })).version, 1);
    assert.equal((await h.app.inject({ method: 'GET', url: '/v1/projects/ml/artifacts/scratch/versions/1/content', headers: bearer(alice) })).statusCode, 403);
    const unknown = await h.app.inject({ method: 'POST', url: '/v1/policy/rollback', headers: bearer(h.adminToken), payload: { version: 42 } });
    assert.equal(unknown.statusCode, 404);
  });
});

async function readAuditExport(h: AppHarness): Promise<string> {
  const r = await h.app.inject({ method: 'GET', url: '/v1/audit/export?fromSeq=1', headers: bearer(h.adminToken) });
  assert.equal(r.statusCode, 200);
  return r.body;
}

/** Two nodes on one database: an apply on the first is in force on the second within about a second. */
async function twoNodes(flags: Record<string, unknown>): Promise<void> {
  const h = await openAppHarness(flags);
  const config = loadConfig({ flags: { dataDir: h.dir, listen: '127.0.0.1:0', logLevel: 'silent', ...flags } });
  const second = await openRuntime(config, { warn: () => undefined });
  const app2 = await buildApp({ service: second.service, ready: () => second.store.ping(), logLevel: 'silent', maxJsonBytes: config.maxJsonBytes, extensions: second.routes });
  try {
    const alice = await h.user('alice');
    const admin = h.adminToken;
    await json(h, 'POST', '/v1/projects', admin, { name: 'ml' }, 201);
    const whoami = () => app2.inject({ method: 'GET', url: '/v1/whoami', headers: bearer(alice) });
    assert.equal((await whoami()).statusCode, 200);
    await json(h, 'POST', '/v1/policy/apply', admin, { sources: [{ name: 'lock.cedar', text: '@id("no-whoami")\nforbid (principal, action == Coffer::Action::"read-metadata", resource is Coffer::System);\n' }] });
    const start = Date.now();
    let status = 200;
    while (status === 200 && Date.now() - start < 5000) {
      await new Promise((r) => setTimeout(r, 50));
      status = (await whoami()).statusCode;
    }
    const took = Date.now() - start;
    assert.equal(status, 403, 'the second node never picked up the new policy set');
    assert.ok(took < 2500, `the second node took ${took} ms`);
    const policy2 = await app2.inject({ method: 'GET', url: '/v1/policy', headers: bearer(admin) });
    assert.equal(policy2.json<{ active: { version: number } }>().active.version, 1);
  } finally {
    await app2.close();
    await second.close();
    await h.close();
  }
}

void describe('policy sets across nodes', { timeout: 60_000 }, () => {
  it('SQLite: a second node follows an apply within about a second', async () => {
    await twoNodes({});
  });

  const pgUrl = process.env.COFFER_TEST_PG_URL;
  it('PostgreSQL: a second node follows an apply within about a second', { skip: pgUrl ? false : 'COFFER_TEST_PG_URL is not set' }, async () => {
    const name = `coffer_policy_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
    const admin = new pg.Client({ connectionString: pgUrl });
    await admin.connect();
    await admin.query(`create database ${name}`);
    await admin.end();
    const url = new URL(pgUrl!);
    url.pathname = `/${name}`;
    try {
      await twoNodes({ databaseUrl: url.toString() });
    } finally {
      const c = new pg.Client({ connectionString: pgUrl });
      await c.connect();
      await c.query(`drop database if exists ${name} with (force)`);
      await c.end();
    }
  });
});
