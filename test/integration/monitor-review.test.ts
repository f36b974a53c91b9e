import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { CofferClient } from '../../src/client/index.js';
import type { CofferApiError } from '../../src/client/index.js';
import { MonitorClient } from '../../src/client/monitor-client.js';
import { loadConfig } from '../../src/config/index.js';
import { openRuntime, type Runtime } from '../../src/runtime/open-runtime.js';
import { buildApp } from '../../src/server/app.js';
import { parseAuditExport, readText, runCli } from '../support/index.js';

// Access reviews and least-privilege recommendations against a real server whose clock
// the test moves: a campaign revokes a stale grant and a disabled user's grant, owners
// decide the rest; a recommendation shrinks an over-privileged pipeline account and the
// pipeline still works.

const DAY = 86_400_000;

void describe('monitor: access reviews and least-privilege recommendations', { timeout: 180_000 }, () => {
  let dir: string;
  let runtime: Runtime;
  let app: FastifyInstance;
  let url: string;
  let now = Date.now();
  let olgaToken: string;
  let olga: CofferClient;
  let monitor: MonitorClient;
  const tokens: Record<string, string> = {};
  const as = (name: string) => new CofferClient({ baseUrl: url, token: tokens[name]!, userAgent: 'coffer-cli/0.1.0' });
  const env = () => ({ COFFER_URL: url, COFFER_TOKEN: olgaToken, COFFER_CREDENTIALS_FILE: join(dir, 'creds.json'), XDG_CONFIG_HOME: join(dir, 'xdg') });

  /** One run of the training pipeline as `trainer`: pull the dataset, push a model. */
  async function pipelineRun(): Promise<void> {
    const trainer = as('trainer');
    const d = await trainer.pull('vision', 'datasets/train', 'latest');
    for await (const _ of d.body) void _;
    const model = randomBytes(64 * 1024);
    await trainer.push('vision', 'models/resnet', Readable.from([model]), { size: model.length });
  }

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'coffer-review-'));
    const config = loadConfig({ flags: { dataDir: join(dir, 'data'), listen: '127.0.0.1:0', logLevel: 'silent', tokenTtlSeconds: 0, servicePatMaxTtlSeconds: 365 * 24 * 3600 } });
    runtime = await openRuntime(config, { clock: () => now, warn: () => undefined });
    app = await buildApp({ service: runtime.service, ready: () => runtime.store.ping(), logLevel: 'silent', extensions: runtime.routes, publicRoutes: runtime.publicRoutes, metricRegistries: runtime.metricRegistries });
    await app.listen({ host: '127.0.0.1', port: 0 });
    url = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
    const boot = await new CofferClient({ baseUrl: url }).bootstrap({ setupToken: runtime.setupToken!, name: 'olga' });
    olgaToken = boot.token;
    olga = new CofferClient({ baseUrl: url, token: olgaToken });
    monitor = new MonitorClient({ baseUrl: url, token: olgaToken });

    await olga.createProject({ name: 'vision' });
    for (const name of ['datasets/train', 'datasets/a', 'datasets/b', 'models/resnet', 'models/old']) {
      await olga.createArtifact('vision', { name, kind: name.startsWith('models') ? 'model' : 'dataset', tier: 'internal', environment: 'dev' });
      const data = randomBytes(32 * 1024);
      await olga.push('vision', name, Readable.from([data]), { size: data.length });
    }
    for (const name of ['bob', 'carl', 'dave', 'erin']) {
      await olga.createPrincipal({ kind: 'user', name });
      tokens[name] = (await olga.createToken({ principal: name })).token;
    }
    await olga.createGrant({ principal: 'bob', role: 'reader', project: 'vision' });
    await olga.createGrant({ principal: 'carl', role: 'reader', project: 'vision', artifact: 'datasets/a' });
    await olga.createGrant({ principal: 'dave', role: 'reader', project: 'vision', artifact: 'datasets/b' });
    await olga.setDisabled('dave', true);
    // the pipeline's account was given owner on the whole project "to make it work"
    await olga.createPrincipal({ kind: 'service-account', name: 'trainer', owner: 'olga' });
    await olga.createGrant({ principal: 'trainer', role: 'owner', project: 'vision' });
    tokens.trainer = (await olga.createToken({ principal: 'trainer', ttlSeconds: 300 * 24 * 3600 })).token;

    // two months of use: bob reads datasets, the pipeline runs; carl never uses his grant
    now += 30 * DAY;
    await pipelineRun();
    now += 29 * DAY;
    // erin got write access a month before the review and has not needed it yet
    await olga.createGrant({ principal: 'erin', role: 'writer', project: 'vision', artifact: 'models/old' });
    now += DAY;
    const b = await as('bob').pull('vision', 'datasets/b', 'latest');
    for await (const _ of b.body) void _;
    await pipelineRun();
    await pipelineRun();
    await runtime.audit.flush();
    await runtime.monitor.idle();
    now += 40 * DAY;
  });

  after(async () => {
    await runtime?.audit.flush().catch(() => undefined);
    await app?.close();
    await runtime?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  let campaignId: string;

  void test('a campaign over the project revokes the stale grant and the disabled user\'s at once', async () => {
    const run = await runCli(['review', 'start', '--project', 'vision', '--stale-days', '90', '--json'], { env: env() });
    assert.equal(run.code, 0, run.stderr);
    const started = JSON.parse(run.stdout) as { id: string; autoRevoked: number; items: number; pending: number };
    campaignId = started.id;
    assert.equal(started.autoRevoked, 2);

    const { items } = await monitor.showReview(campaignId);
    const byPrincipal = (name: string, scope?: string) => items.find((i) => i.principal === name && (scope === undefined || i.scope === scope))!;
    const carl = byPrincipal('carl');
    assert.equal(carl.decision, 'revoke');
    assert.equal(carl.decidedBy, 'coffer-review');
    assert.equal(carl.lastUsedAt, null);
    assert.match(carl.note ?? '', /never used in 90 days/);
    const dave = byPrincipal('dave');
    assert.equal(dave.decision, 'revoke');
    assert.equal(dave.note, 'principal is disabled');
    // used within 90 days: left to the reviewers, with their last use from the audit log
    const bob = byPrincipal('bob');
    assert.equal(bob.decision, 'pending');
    assert.equal(bob.lastUsedAt, new Date(now - 40 * DAY).toISOString().replace(/\.\d{3}Z$/, bob.lastUsedAt!.slice(19)));
    assert.deepEqual(bob.reviewers, ['olga', 'trainer']);
    // the only owner of the project keeps its grant even though it is old: someone must be able to manage it
    const olgaOwner = byPrincipal('olga', 'project/vision');
    assert.equal(olgaOwner.decision, 'pending');

    // the revoked grant is gone: carl no longer sees the dataset
    await assert.rejects(as('carl').pull('vision', 'datasets/a', 'latest'), (err: CofferApiError) => err.status === 404);
    await runtime.audit.flush();
    const records = parseAuditExport(await readText(await olga.exportAudit(1)));
    const auto = records.filter((r) => r.body.action === 'review-auto-revoke' && r.body.outcome === 'success');
    assert.deepEqual(auto.map((r) => r.body.context.grantee).sort(), ['carl', 'dave']);
  });

  void test('reviewers are chosen by policy: owners decide, a reader or the holder cannot', async () => {
    const { items } = await monitor.showReview(campaignId);
    const bob = items.find((i) => i.principal === 'bob')!;
    await assert.rejects(new MonitorClient({ baseUrl: url, token: tokens.bob! }).decide(bob.id, 'certify'), (err: CofferApiError) => err.status === 403);
    const trainerItem = items.find((i) => i.principal === 'trainer')!;
    await assert.rejects(new MonitorClient({ baseUrl: url, token: tokens.trainer! }).decide(trainerItem.id, 'certify'), (err: CofferApiError) => err.status === 403 && /holder/.test(err.message));
    // bob sees no campaign to review
    assert.deepEqual((await new MonitorClient({ baseUrl: url, token: tokens.bob! }).listReviews()).items, []);

    const run = await runCli(['review', 'decide', bob.id, 'certify', '--note', 'still on the project'], { env: env() });
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /bob reader on project\/vision: certified/);
    await assert.rejects(monitor.decide(bob.id, 'revoke'), (err: CofferApiError) => err.status === 409);
    const erin = items.find((i) => i.principal === 'erin')!;
    assert.equal(erin.decision, 'pending', 'unused, but granted less than 90 days ago');
    await monitor.decide(erin.id, 'revoke', 'nobody writes the old model any more');
    const olgaOwn = items.find((i) => i.principal === 'olga' && i.scope === 'project/vision')!;
    await assert.rejects(monitor.decide(olgaOwn.id, 'certify'), (err: CofferApiError) => err.status === 403 && /holder/.test(err.message));
  });

  void test('the campaign exports as CSV and JSON', async () => {
    const out = join(dir, 'review.csv');
    const run = await runCli(['review', 'export', campaignId, '--format', 'csv', '-o', out], { env: env() });
    assert.equal(run.code, 0, run.stderr);
    const csv = await readFile(out, 'utf8');
    const lines = csv.trim().split('\r\n');
    assert.equal(lines[0], 'campaign,campaignName,id,grant,principal,principalKind,principalDisabled,role,scope,tier,grantCreatedAt,grantExpiresAt,lastUsedAt,reviewers,decision,decidedBy,decidedAt,note');
    assert.ok(lines.some((l) => /,carl,user,false,reader,project\/vision\/artifact\/datasets\/a,.*,revoke,coffer-review,/.test(l)));
    assert.ok(lines.some((l) => /,bob,user,false,reader,project\/vision,.*,certify,olga,.*still on the project/.test(l)));
    const json = JSON.parse(await monitor.exportReview(campaignId, 'json')) as { campaign: { id: string }; items: unknown[] };
    assert.equal(json.campaign.id, campaignId);
    assert.equal(json.items.length, lines.length - 1);
    await runtime.audit.flush();
    const records = parseAuditExport(await readText(await olga.exportAudit(1)));
    const decisions = records.filter((r) => r.body.context.op === 'review-decide' && r.body.outcome === 'success');
    assert.deepEqual(decisions.map((r) => `${String(r.body.context.grantee)}:${String(r.body.context.decision)}`).sort(), ['bob:certify', 'erin:revoke']);
  });

  void test('a recommendation shrinks the over-privileged pipeline account, and the pipeline still works', async () => {
    // last night's run
    await pipelineRun();
    await runtime.audit.flush();
    const report = await monitor.overPrivileged();
    const flagged = report.items.find((i) => i.principal === 'trainer');
    assert.ok(flagged, 'trainer is reported');
    assert.ok(flagged.findings.some((f) => /owner on the whole project `vision`/.test(f)), flagged.findings.join('; '));

    const show = await runCli(['recommend', 'trainer'], { env: env() });
    assert.equal(show.code, 0, show.stderr);
    assert.match(show.stdout, /remove +owner +project\/vision/);
    assert.match(show.stdout, /add +reader +project\/vision\/artifact\/datasets\/train/);
    assert.match(show.stdout, /add +writer +project\/vision\/artifact\/models\/resnet/);

    const applied = await runCli(['recommend', 'trainer', '--apply', '--json'], { env: env() });
    assert.equal(applied.code, 0, applied.stderr);
    const r = JSON.parse(applied.stdout) as { applied: boolean; grantsNow: number; grantsAfter: number };
    assert.deepEqual([r.applied, r.grantsNow, r.grantsAfter], [true, 1, 2]);
    const me = await as('trainer').whoami();
    assert.deepEqual(me.grants.map((g) => `${g.role}:${g.scopeKind}`).sort(), ['reader:artifact', 'writer:artifact']);

    // the pipeline still works...
    now += DAY;
    await pipelineRun();
    // ...and nothing else is reachable any more
    await assert.rejects(as('trainer').pull('vision', 'datasets/a', 'latest'), (err: CofferApiError) => err.status === 404);
    const model = randomBytes(1024);
    await assert.rejects(as('trainer').push('vision', 'datasets/train', Readable.from([model]), { size: model.length }), (err: CofferApiError) => err.status === 403 || err.status === 404);

    await runtime.audit.flush();
    await runtime.monitor.idle();
    const after = await monitor.recommend('trainer');
    assert.deepEqual([after.add, after.remove], [[], []], 'the applied set is already minimal');
    assert.equal((await monitor.overPrivileged()).items.find((i) => i.principal === 'trainer')?.findings.some((f) => /whole project/.test(f)) ?? false, false);
    const records = parseAuditExport(await readText(await olga.exportAudit(1)));
    const apply = records.find((r) => r.body.context.op === 'recommend-apply' && r.body.outcome === 'success');
    assert.ok(apply, 'applying is audited');
    assert.equal((apply.body.context.removed as string[]).length, 1);
    assert.equal((apply.body.context.added as string[]).length, 2);
  });
});
