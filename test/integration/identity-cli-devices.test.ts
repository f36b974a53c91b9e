import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { runCli, startInProcess } from '../support/index.js';
import type { CliRun, InProcessServer } from '../support/index.js';

// The CLI signs its requests with the enrolled device key once the device is approved.

function ok(run: CliRun, what: string): CliRun {
  assert.equal(run.code, 0, `${what} failed (exit ${run.code}):\nstdout: ${run.stdout}\nstderr: ${run.stderr}`);
  return run;
}

void describe('identity CLI: device enrolment, signed requests, device certificate', { timeout: 180_000 }, () => {
  let dir: string;
  let server: InProcessServer;
  let adminEnv: Record<string, string>;
  let anaEnv: Record<string, string>;
  let deviceId: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'coffer-identity-cli-dev-'));
    server = await startInProcess(join(dir, 'data'));
    adminEnv = { COFFER_URL: server.url, COFFER_CREDENTIALS_FILE: join(dir, 'admin', 'credentials.json') };
    anaEnv = { COFFER_URL: server.url, COFFER_CREDENTIALS_FILE: join(dir, 'ana', 'credentials.json') };
    ok(await runCli(['bootstrap', '--name', 'root', '--setup-token', server.setupToken!], { env: adminEnv }), 'bootstrap');
    ok(await runCli(['user', 'create', 'ana'], { env: adminEnv }), 'user create');
    const token = /coffer_pat_\S+/.exec(ok(await runCli(['token', 'create', '--for', 'ana'], { env: adminEnv }), 'token create').stdout)![0];
    ok(await runCli(['login', '--token', token], { env: anaEnv }), 'login');
  });
  after(async () => {
    await server?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('pending: requests go unsigned (and work); approved: signed, so the session shows a managed device', async () => {
    const enrol = ok(await runCli(['device', 'enrol', '--name', 'laptop'], { env: anaEnv }), 'enrol').stdout;
    deviceId = /device (dev_\S+) enrolled \(pending\)/.exec(enrol)![1]!;
    const keyFile = join(dir, 'ana', 'device-key.json');
    assert.equal(statSync(keyFile).mode & 0o777, 0o600);
    const pending = ok(await runCli(['session'], { env: anaEnv }), 'session (pending)').stdout;
    assert.ok(!pending.includes('managed device'), pending);
    ok(await runCli(['device', 'approve', deviceId], { env: adminEnv }), 'approve');
    const managed = ok(await runCli(['session'], { env: anaEnv }), 'session (approved)').stdout;
    assert.match(managed, new RegExp(`managed device ${deviceId}`));
    assert.equal((JSON.parse(readFileSync(keyFile, 'utf8')) as { approved: boolean }).approved, true);
    assert.equal(statSync(keyFile).mode & 0o777, 0o600);
    // the core client's requests carry the proof as well, and it verifies
    assert.match(ok(await runCli(['whoami'], { env: anaEnv }), 'whoami').stdout, /^ana \(user/);
  });

  test('device cert writes a certificate of the device CA for this device key', async () => {
    const out = ok(await runCli(['device', 'cert'], { env: anaEnv }), 'device cert').stdout;
    assert.match(out, new RegExp(`certificate for device ${deviceId} \\(serial [0-9A-F]+\\) valid until`));
    const cert = new X509Certificate(readFileSync(join(dir, 'ana', 'device-cert.pem')));
    const ca = new X509Certificate(readFileSync(join(dir, 'ana', 'device-ca.pem')));
    assert.equal(cert.subject, `CN=${deviceId}`);
    assert.ok(cert.verify(ca.publicKey));
    assert.equal(statSync(join(dir, 'ana', 'device-key.pem')).mode & 0o777, 0o600);
  });

  test('revoked: the signed request is refused once, then the CLI goes back to unsigned requests', async () => {
    ok(await runCli(['device', 'revoke', deviceId], { env: adminEnv }), 'revoke');
    const refused = await runCli(['session'], { env: anaEnv });
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /COFFER_AUTH_DEVICE_SIGNATURE_INVALID/);
    assert.match(refused.stderr, /is not approved \(any more\)/);
    const after = ok(await runCli(['session'], { env: anaEnv }), 'session (revoked)').stdout;
    assert.ok(!after.includes('managed device'), after);
  });
});
