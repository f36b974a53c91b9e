import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { CofferApiError, CofferClient } from '../../src/client/index.js';
import { MonitorClient } from '../../src/client/monitor-client.js';
import { loadConfig } from '../../src/config/index.js';
import { startServer, type RunningServer } from '../../src/main.js';
import { verifyWebhookSignature } from '../../src/monitor/alerting/webhook-signature.js';
import { parseAuditExport, readText, runCli, waitFor } from '../support/index.js';

// The scenario against a real server (sockets, SQLite, the composition root):
// a data scientist bulk-downloads a project; the volume rule crosses its cap; the
// account is locked at once (next request refused, token revoked, the download still
// in flight cut); the alert carries the audit records that crossed the threshold and
// reaches a signed webhook and a JSON Lines file; an administrator reviews and unlocks.

const MiB = 1024 * 1024;
const SECRET = 'whsec-test-0123456789abcdef';
const METRICS_TOKEN = 'scrape-token-for-the-monitor-lock-test-0123';

interface Delivery {
  headers: IncomingMessage['headers'];
  body: string;
}

void describe('monitor: bulk download by a data scientist ends in a lock with evidence', { timeout: 120_000 }, () => {
  let dir: string;
  let server: RunningServer;
  let hook: Server;
  const deliveries: Delivery[] = [];
  let admin: CofferClient;
  let adminToken: string;
  let monitor: MonitorClient;
  let danaToken: string;
  let dana: CofferClient;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'coffer-monitor-'));
    hook = createServer((req, res) => {
      let body = '';
      req.setEncoding('utf8').on('data', (c: string) => (body += c));
      req.on('end', () => {
        deliveries.push({ headers: req.headers, body });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
    const hookPort = (hook.address() as { port: number }).port;
    // a low cap on internal data so a few MiB are "bulk"
    await writeFile(join(dir, 'rules.json'), JSON.stringify({ volume: { tierCapsBytes: { internal: 3 * MiB } } }));
    let setup: string | null = null;
    const config = loadConfig({
      flags: {
        dataDir: join(dir, 'data'),
        listen: '127.0.0.1:0',
        logLevel: 'silent',
        monitorRulesFile: join(dir, 'rules.json'),
        monitorAlertFile: join(dir, 'alerts.jsonl'),
        monitorWebhookUrl: `http://127.0.0.1:${hookPort}/coffer-alerts`,
        monitorWebhookSecret: SECRET,
        metricsToken: METRICS_TOKEN,
      },
    });
    server = await startServer(config, { printSetupToken: (t) => (setup = t) });
    const boot = await new CofferClient({ baseUrl: server.url }).bootstrap({ setupToken: setup!, name: 'olga' });
    adminToken = boot.token;
    admin = new CofferClient({ baseUrl: server.url, token: adminToken });
    monitor = new MonitorClient({ baseUrl: server.url, token: adminToken });

    await admin.createProject({ name: 'vision' });
    for (const name of ['datasets/d1', 'datasets/d2', 'datasets/d3', 'datasets/d4', 'datasets/d5', 'datasets/big']) {
      await admin.createArtifact('vision', { name, kind: 'dataset', tier: 'internal', environment: 'dev' });
      const data = randomBytes(name === 'datasets/big' ? 16 * MiB : MiB);
      await admin.push('vision', name, Readable.from([data]), { size: data.length });
    }
    await admin.createPrincipal({ kind: 'user', name: 'dana' });
    await admin.createGrant({ principal: 'dana', role: 'reader', project: 'vision' });
    danaToken = (await admin.createToken({ principal: 'dana' })).token;
    dana = new CofferClient({ baseUrl: server.url, token: danaToken, userAgent: 'coffer-cli/0.1.0' });
  });

  after(async () => {
    await server?.runtime.audit.flush().catch(() => undefined);
    await server?.close();
    await new Promise<void>((r) => (hook ? hook.close(() => r()) : r()));
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  let inflight: Awaited<ReturnType<CofferClient['pull']>>;

  void test('downloads under the cap pass; the one that crosses it locks the account at once', async () => {
    // a large download started first and left unread: it is in flight when the lock falls
    inflight = await dana.pull('vision', 'datasets/big', 'latest');
    for (const name of ['datasets/d1', 'datasets/d2', 'datasets/d3']) {
      const d = await dana.pull('vision', name, 'latest');
      assert.equal((await readAll(d.body)).length, MiB);
    }
    await server.runtime.monitor.idle();
    assert.deepEqual((await monitor.listAlerts()).items, [], '3 MiB is not above the 3 MiB cap');

    const d4 = await dana.pull('vision', 'datasets/d4', 'latest');
    assert.equal((await readAll(d4.body)).length, MiB);
    const started = Date.now();
    const alert = await waitFor('the lock', async () => (await monitor.listAlerts()).items[0], { timeoutMs: 10_000 });
    assert.ok(Date.now() - started < 5_000, 'locked within seconds of the crossing record');
    assert.equal(alert.rule, 'volume');
    assert.equal(alert.action, 'lock');
    assert.equal(alert.principal, 'dana');
    assert.match(alert.summary, /internal data > cap 3\.0 MiB/);

    const refused = await dana.pull('vision', 'datasets/d5', 'latest').then(
      () => null,
      (err: unknown) => err,
    );
    assert.ok(refused instanceof CofferApiError, 'the next request is refused');
    assert.equal(refused.status, 401);
    assert.match(refused.code, /COFFER_AUTH_(TOKEN_REVOKED|PRINCIPAL_DISABLED)/);
  });

  void test('the download in flight was cut short', async () => {
    let received = 0;
    const outcome = await (async () => {
      try {
        for await (const chunk of inflight.body) received += (chunk as Buffer).length;
        return 'ended';
      } catch {
        return 'failed';
      }
    })();
    assert.ok(received < 16 * MiB, `received ${received} of ${16 * MiB} bytes (${outcome})`);
    await server.runtime.audit.flush();
    const records = parseAuditExport(await readText(await admin.exportAudit(1)));
    const big = records.find((r) => r.body.actor?.name === 'dana' && r.body.resource === 'project/vision/artifact/datasets/big@latest' && r.body.outcome === 'failure');
    assert.ok(big, 'the cut download has its failure record');
    assert.equal(big.body.reason, 'COFFER_ACCOUNT_LOCKED');
    assert.ok((big.body.bytes ?? 0) < 16 * MiB);
  });

  void test('the alert carries the evidence: the audit records that crossed the threshold', async (t) => {
    const [alert] = (await monitor.listAlerts()).items;
    const shown = await monitor.showAlert(alert!.id);
    const records = parseAuditExport(await readText(await admin.exportAudit(1)));
    const bySeq = new Map(records.map((r) => [r.seq, r]));
    // every evidence record is one of dana's downloads, and all four completions are there
    for (const seq of shown.evidence) {
      const r = bySeq.get(seq)!;
      assert.equal(r.body.actor?.name, 'dana');
      assert.equal(r.body.action, 'download');
    }
    const completions = shown.evidence.map((s) => bySeq.get(s)!).filter((r) => r.body.outcome === 'success');
    assert.deepEqual(completions.map((r) => r.body.resource).sort(), ['d1', 'd2', 'd3', 'd4'].map((d) => `project/vision/artifact/datasets/${d}@latest`));
    assert.equal(shown.triggerSeq, completions.map((r) => r.seq).sort((a, b) => b - a)[0], 'the last completion crossed the cap');
    assert.deepEqual(shown.records.map((r) => r.seq), shown.evidence);
    assert.equal(shown.measures.internalBytes, 4 * MiB);
    // the lock itself is on record
    const lockRecord = records.find((r) => r.body.action === 'monitor-lock');
    assert.equal(lockRecord?.body.resource, 'principal/dana');
    assert.equal(lockRecord?.body.context.downloadsAborted, 1);
    // the lock falls right after the record that crossed the threshold is stored
    const latency = lockRecord.body.time - bySeq.get(shown.triggerSeq)!.body.time;
    t.diagnostic(`lock ${latency} ms after the crossing record`);
    assert.ok(latency >= 0 && latency < 1000, `lock latency ${latency} ms`);

    const locks = (await monitor.listLocks()).items;
    assert.equal(locks.length, 1);
    assert.equal(locks[0]!.principal, 'dana');
    assert.equal(locks[0]!.downloadsAborted, 1);
    assert.ok(locks[0]!.tokensRevoked >= 1);
  });

  void test('the alert reached the signed webhook and the JSON Lines file', async () => {
    await server.runtime.monitor.idle();
    const [alert] = (await monitor.listAlerts()).items;
    const d = await waitFor('a webhook delivery', () => deliveries[0]);
    const ts = String(d.headers['x-coffer-timestamp']);
    const sig = String(d.headers['x-coffer-signature']);
    assert.ok(verifyWebhookSignature(SECRET, ts, d.body, sig, Math.floor(Date.now() / 1000)), 'signature verifies');
    assert.equal(verifyWebhookSignature('another-secret-0123456789', ts, d.body, sig, Math.floor(Date.now() / 1000)), false);
    assert.equal(verifyWebhookSignature(SECRET, ts, d.body.replace('dana', 'anna'), sig, Math.floor(Date.now() / 1000)), false);
    const notice = JSON.parse(d.body) as { alert: { id: string; evidence: number[] }; lock: { principal: string } | null };
    assert.equal(notice.alert.id, alert!.id);
    assert.equal(notice.lock?.principal, 'dana');
    assert.ok(notice.alert.evidence.length >= 8);
    const lines = (await readFile(join(dir, 'alerts.jsonl'), 'utf8')).trim().split('\n');
    assert.equal((JSON.parse(lines[0]!) as { alert: { id: string } }).alert.id, alert!.id);
  });

  void test('metrics count the alert and the lock', async () => {
    const text = await (await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })).text();
    assert.match(text, /coffer_monitor_alerts_total\{rule="volume",action="lock"\} 1/);
    assert.match(text, /coffer_monitor_locks_total 1/);
    assert.match(text, /coffer_monitor_locked_principals 1/);
    assert.match(text, /coffer_monitor_downloads_aborted_total 1/);
    // what the detectors cost is visible (issue 12): time per record, state held
    const count = /coffer_monitor_detector_seconds_count (\d+)/.exec(text);
    assert.ok(count && Number(count[1]) > 10, 'the detectors timed every record');
    const principals = /coffer_monitor_state_principals (\d+)/.exec(text);
    assert.ok(principals && Number(principals[1]) >= 2, 'state of olga and dana at least');
    assert.match(text, /coffer_monitor_state_largest_bytes \d+/);
    assert.match(text, /coffer_monitor_persisted_bytes_total \d+/);
    assert.match(text, /coffer_http_requests_total/, 'the server\'s own metrics are still there');
  });

  void test('the CLI lists and acknowledges; an administrator unlocks; old credentials stay dead', async () => {
    const env = { COFFER_URL: server.url, COFFER_TOKEN: adminToken, COFFER_CREDENTIALS_FILE: join(dir, 'creds.json'), XDG_CONFIG_HOME: join(dir, 'xdg') };
    const list = await runCli(['alerts', 'list'], { env });
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, /volume dana \(locked\)/);
    const [alert] = (await monitor.listAlerts()).items;
    const ack = await runCli(['alerts', 'ack', alert!.id, '--note', 'reviewed with dana'], { env });
    assert.equal(ack.code, 0, ack.stderr);
    assert.deepEqual((await monitor.listAlerts({ status: 'open' })).items, [], 'no open alert left');
    assert.equal((await monitor.listAlerts()).items[0]?.ackedBy, 'olga');

    // a user without manage-principals cannot unlock
    const eveToken = await (async () => {
      await admin.createPrincipal({ kind: 'user', name: 'eve' });
      return (await admin.createToken({ principal: 'eve' })).token;
    })();
    await assert.rejects(new MonitorClient({ baseUrl: server.url, token: eveToken }).unlock('dana'), (err: CofferApiError) => err.status === 403);

    const unlock = await runCli(['unlock', 'dana', '--note', 'verified: migration of a project'], { env });
    assert.equal(unlock.code, 0, unlock.stderr);
    assert.match(unlock.stdout, /`dana` unlocked \(1 lock lifted\)/);
    assert.deepEqual((await monitor.listLocks()).items, []);
    await assert.rejects(dana.whoami(), (err: CofferApiError) => err.code === 'COFFER_AUTH_TOKEN_REVOKED');
    const fresh = new CofferClient({ baseUrl: server.url, token: (await admin.createToken({ principal: 'dana' })).token });
    const d5 = await fresh.pull('vision', 'datasets/d5', 'latest');
    assert.equal((await readAll(d5.body)).length, MiB);
    await server.runtime.monitor.idle();
    assert.deepEqual((await monitor.listLocks()).items, [], 'reviewed windows start afresh: one more download does not lock again');
    const records = parseAuditExport(await readText(await admin.exportAudit(1)));
    const unlockRecord = records.find((r) => r.body.action === 'manage-principals' && r.body.resource === 'principal/dana' && r.body.outcome === 'success' && r.body.context.op === 'unlock');
    assert.ok(unlockRecord, 'the unlock is audited');
  });
});

async function readAll(body: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of body) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}
