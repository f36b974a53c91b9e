import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { CofferClient } from '../../src/client/index.js';
import { MonitorClient } from '../../src/client/monitor-client.js';
import { loadConfig } from '../../src/config/index.js';
import type { ReminderNotice } from '../../src/monitor/index.js';
import { verifyWebhookSignature } from '../../src/monitor/alerting/webhook-signature.js';
import { openRuntime, type Runtime } from '../../src/runtime/open-runtime.js';
import { buildApp } from '../../src/server/app.js';
import { parseAuditExport, readText, runCli } from '../support/index.js';

// Reminders of pending review items against a real server whose clock the test moves,
// delivered to a real webhook receiver on 127.0.0.1 and to the JSON Lines file.

const HOUR = 3_600_000;
const SECRET = 'whsec-reminders-0123456789';

void describe('monitor: reminders of pending access review items', { timeout: 120_000 }, () => {
  let dir: string;
  let runtime: Runtime;
  let app: FastifyInstance;
  let hook: Server;
  let url: string;
  let now = Date.now();
  let olgaToken: string;
  let monitor: MonitorClient;
  let owenMonitor: MonitorClient;
  let campaignId: string;
  const received: Array<{ timestamp: string; signature: string; body: string }> = [];
  const reminders = () => received.map((r) => JSON.parse(r.body) as { type: string }).filter((n): n is ReminderNotice => n.type === 'coffer.review-reminder');
  const env = () => ({ COFFER_URL: url, COFFER_TOKEN: olgaToken, COFFER_CREDENTIALS_FILE: join(dir, 'creds.json'), XDG_CONFIG_HOME: join(dir, 'xdg') });
  /** Sweeps, then waits for the deliveries it started. */
  async function sweep() {
    const round = await runtime.monitor.sweepReminders();
    await runtime.audit.flush();
    await runtime.monitor.idle();
    return round;
  }

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'coffer-remind-'));
    hook = createServer((req, res) => {
      let body = '';
      req.setEncoding('utf8').on('data', (c: string) => (body += c));
      req.on('end', () => {
        received.push({ timestamp: String(req.headers['x-coffer-timestamp']), signature: String(req.headers['x-coffer-signature']), body });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
    const hookUrl = `http://127.0.0.1:${(hook.address() as { port: number }).port}/hook`;
    const config = loadConfig({
      flags: { dataDir: join(dir, 'data'), listen: '127.0.0.1:0', logLevel: 'silent', tokenTtlSeconds: 0, monitorWebhookUrl: hookUrl, monitorWebhookSecret: SECRET, monitorAlertFile: join(dir, 'alerts.jsonl'), reviewReminderHours: 24 },
    });
    runtime = await openRuntime(config, { clock: () => now, warn: () => undefined });
    app = await buildApp({ service: runtime.service, ready: () => runtime.store.ping(), logLevel: 'silent', extensions: runtime.routes, publicRoutes: runtime.publicRoutes, metricRegistries: runtime.metricRegistries });
    await app.listen({ host: '127.0.0.1', port: 0 });
    url = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
    const boot = await new CofferClient({ baseUrl: url }).bootstrap({ setupToken: runtime.setupToken!, name: 'olga' });
    olgaToken = boot.token;
    const olga = new CofferClient({ baseUrl: url, token: olgaToken });
    monitor = new MonitorClient({ baseUrl: url, token: olgaToken });
    await olga.createProject({ name: 'vision' });
    await olga.createArtifact('vision', { name: 'datasets/a', kind: 'dataset', tier: 'internal', environment: 'dev' });
    for (const name of ['bob', 'carl', 'owen']) await olga.createPrincipal({ kind: 'user', name });
    // owen co-owns the project: with olga (its creator) he reviews the others' grants; olga reviews his
    await olga.createGrant({ principal: 'owen', role: 'owner', project: 'vision' });
    owenMonitor = new MonitorClient({ baseUrl: url, token: (await olga.createToken({ principal: 'owen' })).token });
    await olga.createGrant({ principal: 'bob', role: 'reader', project: 'vision' });
    await olga.createGrant({ principal: 'carl', role: 'writer', project: 'vision', artifact: 'datasets/a' });
    const started = await monitor.startReview({ scope: 'project', project: 'vision', staleDays: 0, dueDays: 7 });
    campaignId = started.id;
    // olga also owns the artifact she created: 5 grants
    assert.equal(started.pending, 5);
  });

  after(async () => {
    await runtime?.audit.flush().catch(() => undefined);
    await app?.close();
    await runtime?.close();
    if (hook) await new Promise((r) => hook.close(r));
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  void test('nothing is sent before the interval has passed since the start', async () => {
    now += 23 * HOUR;
    assert.deepEqual(await sweep(), { campaigns: 0, reminders: 0, reviewers: [] });
    assert.equal(reminders().length, 0);
  });

  void test('past the interval, one signed reminder per reviewer, recorded and shown as last reminded', async () => {
    now += 2 * HOUR;
    const round = await sweep();
    assert.deepEqual(round, { campaigns: 1, reminders: 2, reviewers: ['olga', 'owen'] });
    const got = reminders();
    assert.deepEqual(got.map((n) => n.reviewer).sort(), ['olga', 'owen']);
    for (const r of received) assert.ok(verifyWebhookSignature(SECRET, r.timestamp, r.body, r.signature, Math.floor(Date.now() / 1000)), 'signed as the alerts are');
    const owen = got.find((n) => n.reviewer === 'owen')!;
    // owen may decide bob's, carl's and olga's two grants, never his own
    assert.deepEqual(owen.items.map((i) => i.principal).sort(), ['bob', 'carl', 'olga', 'olga']);
    assert.equal(owen.pending, 4);
    assert.equal(owen.campaign.id, campaignId);
    assert.equal(owen.campaign.overdue, false);
    const olgaNotice = got.find((n) => n.reviewer === 'olga')!;
    assert.deepEqual(olgaNotice.items.map((i) => i.principal).sort(), ['bob', 'carl', 'owen']);

    const lines = (await readFile(join(dir, 'alerts.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { type: string; id?: string });
    assert.deepEqual(lines.filter((l) => l.type === 'coffer.review-reminder').map((l) => l.id).sort(), got.map((n) => n.id).sort());

    const { campaign } = await monitor.showReview(campaignId);
    assert.equal(campaign.lastRemindedAt, new Date(now).toISOString());
    const records = parseAuditExport(await readText(await new CofferClient({ baseUrl: url, token: olgaToken }).exportAudit(1)));
    const remindRecords = records.filter((r) => r.body.action === 'review-remind');
    assert.deepEqual(remindRecords.map((r) => r.body.context.reviewer).sort(), ['olga', 'owen']);
    assert.ok(remindRecords.every((r) => r.body.actor?.name === 'coffer-review' && r.body.resource === `review/${campaignId}`));

    const cli = await runCli(['review', 'list'], { env: env() });
    assert.equal(cli.code, 0, cli.stderr);
    assert.match(cli.stdout, new RegExp(`LASTREMINDEDAT[\\s\\S]*${campaignId}.*${new Date(now).toISOString()}`));
  });

  void test('a sweep right after sends nothing; the next interval sends again', async () => {
    assert.equal((await sweep()).reminders, 0);
    now += 12 * HOUR;
    assert.equal((await sweep()).reminders, 0);
    assert.equal(reminders().length, 2);
    now += 13 * HOUR;
    assert.equal((await sweep()).reminders, 2);
    assert.equal(reminders().length, 4);
  });

  void test('`coffer review remind` sends now; once every item is decided, no more reminders', async () => {
    const run = await runCli(['review', 'remind', campaignId], { env: env() });
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /2 reminders sent: olga, owen/);
    await runtime.monitor.idle();
    assert.equal(reminders().length, 6);

    const { items } = await monitor.showReview(campaignId);
    // nobody decides their own grant: owen reviews olga's
    for (const i of items) await (i.principal === 'olga' ? owenMonitor : monitor).decide(i.id, i.principal === 'carl' ? 'revoke' : 'certify', 'reviewed');
    const { campaign } = await monitor.showReview(campaignId);
    assert.equal(campaign.status, 'closed');
    now += 48 * HOUR;
    assert.deepEqual(await sweep(), { campaigns: 0, reminders: 0, reviewers: [] });
    assert.equal(reminders().length, 6);
  });
});
