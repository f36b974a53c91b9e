import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { IdentityClient } from '../../src/client/identity-client.js';
import { base32Decode, totp } from '../../src/identity/totp.js';
import { runCli, startInProcess } from '../support/index.js';
import type { CliRun, InProcessServer } from '../support/index.js';

// The CLI as a user runs it (subprocesses) against a real server on 127.0.0.1.

function ok(run: CliRun, what: string): CliRun {
  assert.equal(run.code, 0, `${what} failed (exit ${run.code}):\nstdout: ${run.stdout}\nstderr: ${run.stderr}`);
  return run;
}

void describe('identity CLI: login with password + TOTP, logout, refresh, service tokens, token scan', { timeout: 180_000 }, () => {
  let dir: string;
  let server: InProcessServer;
  let adminEnv: Record<string, string>;
  let anaEnv: Record<string, string>;
  let totpSecret: Buffer;
  const PASSWORD = 'cobalt-lighthouse-pepper-6';

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'coffer-identity-cli-'));
    server = await startInProcess(join(dir, 'data'));
    adminEnv = { COFFER_URL: server.url, COFFER_CREDENTIALS_FILE: join(dir, 'admin.json') };
    anaEnv = { COFFER_URL: server.url, COFFER_CREDENTIALS_FILE: join(dir, 'ana.json') };
    ok(await runCli(['bootstrap', '--name', 'root', '--setup-token', server.setupToken!], { env: adminEnv }), 'bootstrap');
    ok(await runCli(['user', 'create', 'ana'], { env: adminEnv }), 'user create');
    ok(await runCli(['password', '--user', 'ana', '--password-stdin'], { env: adminEnv, stdin: `${PASSWORD}\n` }), 'password');
  });
  after(async () => {
    await server?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const creds = (env: Record<string, string>) => JSON.parse(readFileSync(env.COFFER_CREDENTIALS_FILE!, 'utf8')) as { token: string; refreshToken?: string; expiresAt?: number; sessionId?: string };

  test('password login caches a session 0600; whoami and session work; logout ends it on the server', async () => {
    const login = ok(await runCli(['login', '--user', 'ana', '--password-stdin'], { env: anaEnv, stdin: `${PASSWORD}\n` }), 'login');
    assert.match(login.stdout, /logged in to http:\/\/127\.0\.0\.1:\d+ as `ana` with password \(session ses_/);
    assert.ok(!login.stdout.includes(PASSWORD) && !login.stderr.includes(PASSWORD));
    assert.equal(statSync(anaEnv.COFFER_CREDENTIALS_FILE!).mode & 0o777, 0o600);
    const c = creds(anaEnv);
    assert.match(c.refreshToken!, /^coffer_refresh_/);
    assert.match(ok(await runCli(['whoami'], { env: anaEnv }), 'whoami').stdout, /^ana \(user/);
    assert.match(ok(await runCli(['session'], { env: anaEnv }), 'session').stdout, /methods password, strongest factor \d+ s ago/);
    ok(await runCli(['logout'], { env: anaEnv }), 'logout');
    const client = new IdentityClient({ baseUrl: server.url, token: c.token });
    await assert.rejects(client.session(), (err: { code?: string }) => err.code === 'COFFER_AUTH_TOKEN_REVOKED');
  });

  test('with TOTP enrolled, login asks for the code; a wrong code fails with the generic error', async () => {
    ok(await runCli(['login', '--user', 'ana', '--password-stdin'], { env: anaEnv, stdin: `${PASSWORD}\n` }), 'login');
    const client = new IdentityClient({ baseUrl: server.url, token: creds(anaEnv).token });
    const e = await client.totpEnroll();
    totpSecret = base32Decode(e.secret)!;
    const r = await client.totpConfirm(totp(totpSecret, Date.now()));
    assert.equal(r.recoveryCodes.length, 10);
    const bad = await runCli(['login', '--user', 'ana', '--password-stdin', '--totp', '000000'], { env: anaEnv, stdin: `${PASSWORD}\n` });
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /error: COFFER_AUTH_INVALID_CREDENTIALS: invalid credentials/);
    // the next 30-second step: a code is never accepted twice
    const code = totp(totpSecret, Date.now() + 30_000);
    const good = ok(await runCli(['login', '--user', 'ana', '--password-stdin', '--totp', code], { env: anaEnv, stdin: `${PASSWORD}\n` }), 'login totp');
    assert.match(good.stdout, /as `ana` with password \+ totp/);
  });

  test('an access token about to expire is refreshed before the command runs', async () => {
    const before = creds(anaEnv);
    writeFileSync(anaEnv.COFFER_CREDENTIALS_FILE!, JSON.stringify({ ...before, server: server.url, expiresAt: Date.now() + 5000 }), { mode: 0o600 });
    ok(await runCli(['whoami'], { env: anaEnv }), 'whoami');
    const after = creds(anaEnv);
    assert.notEqual(after.token, before.token);
    assert.notEqual(after.refreshToken, before.refreshToken);
    assert.equal(after.sessionId, before.sessionId);
  });

  test('a service account gets a short-lived token with its key (private_key_jwt)', async () => {
    ok(await runCli(['service-account', 'create', 'trainer', '--owner', 'root'], { env: adminEnv }), 'sa create');
    const keyFile = join(dir, 'trainer.jwk');
    const pub = ok(await runCli(['sa', 'key-generate', keyFile], { env: adminEnv }), 'key-generate').stdout;
    assert.equal(statSync(keyFile).mode & 0o777, 0o600);
    writeFileSync(join(dir, 'trainer.pub.jwk'), pub);
    assert.match(ok(await runCli(['sa', 'key-add', 'trainer', join(dir, 'trainer.pub.jwk')], { env: adminEnv }), 'key-add').stdout, /registered for `trainer`/);
    const pat = await runCli(['token', 'create', '--for', 'trainer'], { env: adminEnv });
    assert.match(pat.stderr, /COFFER_AUTH_LONG_LIVED_TOKEN_DISABLED/);
    const t = ok(await runCli(['sa', 'token', 'trainer', '--key', keyFile], { env: { COFFER_URL: server.url, COFFER_CREDENTIALS_FILE: join(dir, 'none.json') } }), 'sa token');
    assert.match(t.stderr, /expires in 900 s/);
    const me = ok(await runCli(['whoami', '--json'], { env: { COFFER_URL: server.url, COFFER_TOKEN: t.stdout.trim(), COFFER_CREDENTIALS_FILE: join(dir, 'none.json') } }), 'sa whoami');
    assert.equal((JSON.parse(me.stdout) as { name: string }).name, 'trainer');
  });

  test('token scan finds checksum-valid tokens in files and git history, and revokes them', async () => {
    const repo = join(dir, 'repo');
    mkdirSync(repo);
    const leaked = ok(await runCli(['token', 'create', '--for', 'ana'], { env: adminEnv }), 'token create').stdout.trim();
    const historic = ok(await runCli(['token', 'create', '--for', 'ana'], { env: adminEnv }), 'token create 2').stdout.trim();
    const fake = 'coffer_pat_' + 'A'.repeat(38);
    writeFileSync(join(repo, 'config.env'), `API=${leaked}\nOTHER=${fake}\n`);
    const git = (...args: string[]) => execFileSync('git', ['-C', repo, '-c', 'user.email=t@example.com', '-c', 'user.name=t', ...args], { stdio: 'ignore' });
    git('init', '-q');
    writeFileSync(join(repo, 'old.txt'), `token: ${historic}\n`);
    git('add', '.');
    git('commit', '-q', '-m', 'oops');
    rmSync(join(repo, 'old.txt'));
    git('add', '-A');
    git('commit', '-q', '-m', 'remove');
    const scan = await runCli(['token', 'scan', repo, '--json'], { env: adminEnv });
    assert.equal(scan.code, 3, 'found tokens: exit 3');
    const found = JSON.parse(scan.stdout) as { kind: string; redacted: string; source: string; path: string; where: string }[];
    assert.ok(found.some((f) => f.source === 'worktree' && f.where === 'config.env:1' && f.redacted === `${leaked.slice(0, 15)}…`));
    assert.ok(found.some((f) => f.source === 'history' && f.path === 'old.txt' && f.redacted === `${historic.slice(0, 15)}…`));
    assert.ok(!scan.stdout.includes(leaked) && !scan.stdout.includes(historic), 'the scanner never prints the secret');
    assert.ok(found.every((f) => f.kind === 'coffer-token' && !fake.startsWith(f.redacted.slice(0, -1))), 'a bad checksum is not a finding');
    const revoked = ok(await runCli(['token', 'scan', repo, '--revoke', '--json'], { env: adminEnv }), 'scan --revoke');
    assert.ok((JSON.parse(revoked.stdout) as { revoke: string }[]).every((f) => f.revoke === 'revoked'));
    for (const t of [leaked, historic]) {
      const r = await runCli(['whoami'], { env: { COFFER_URL: server.url, COFFER_TOKEN: t, COFFER_CREDENTIALS_FILE: join(dir, 'none.json') } });
      assert.match(r.stderr, /COFFER_AUTH_TOKEN_REVOKED/);
    }
  });
});
