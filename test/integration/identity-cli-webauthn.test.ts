import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { runCli, startInProcess } from '../support/index.js';
import type { CliRun, InProcessServer } from '../support/index.js';
import { cleanEnv, cliArgs, repoRoot } from '../support/paths.js';
import { SoftAuthenticator } from './identity-harness.js';

// `coffer mfa webauthn add` and `coffer step-up` as a user runs them, with the browser
// page's part played by this test (the same HTTP calls web/login/login.js makes) and a
// software authenticator. Server: requireStepUpForUserTokens on.

function ok(run: CliRun, what: string): CliRun {
  assert.equal(run.code, 0, `${what} failed (exit ${run.code}):\nstdout: ${run.stdout}\nstderr: ${run.stderr}`);
  return run;
}

/** Runs the CLI; when it prints the page URL, `browser` plays the page; resolves when the CLI exits. */
function runWithBrowser(args: string[], env: Record<string, string>, browser: (pageUrl: URL) => Promise<void>): Promise<CliRun & { browserError?: unknown }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...cliArgs(), ...args, '--no-browser'], { cwd: repoRoot(), env: cleanEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let started = false;
    let browserError: unknown;
    child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => {
      stderr += s;
      const m = /open this page to continue[^\n]*\n\s+(\S+)/.exec(stderr);
      if (m && !started) {
        started = true;
        browser(new URL(m[1]!)).catch((err: unknown) => {
          browserError = err;
          child.kill('SIGKILL');
        });
      }
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.once('error', reject);
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, ...(browserError !== undefined ? { browserError } : {}) });
    });
  });
}

async function json<T>(res: Response): Promise<T> {
  const body = (await res.json()) as T;
  assert.ok(res.ok, `HTTP ${res.status}: ${JSON.stringify(body)}`);
  return body;
}

void describe('identity CLI: register a security key, step up from a session and from an API token', { timeout: 240_000 }, () => {
  let dir: string;
  let server: InProcessServer;
  let adminEnv: Record<string, string>;
  let anaEnv: Record<string, string>;
  let key: SoftAuthenticator;
  let adminKey: SoftAuthenticator;
  const PASSWORD = 'cobalt-lighthouse-pepper-6';
  const ADMIN_PASSWORD = 'granite-compass-delta-5';

  /** The page for `#register=…&redirect=…&state=…`: create the credential, go back to the CLI. */
  const registerPage = (authenticator: SoftAuthenticator) => async (page: URL) => {
    const p = new URLSearchParams(page.hash.slice(1));
    const c = await json<{ kind: string; options: { challenge: string; rp: { id: string } } }>(await fetch(`${server.url}/v1/auth/webauthn/ceremonies/${encodeURIComponent(p.get('register')!)}`));
    assert.equal(c.kind, 'register');
    const back = new URL(p.get('redirect')!);
    assert.equal(back.hostname, '127.0.0.1');
    back.searchParams.set('state', p.get('state')!);
    back.searchParams.set('response', Buffer.from(JSON.stringify(authenticator.register(c.options))).toString('base64url'));
    assert.equal((await fetch(back)).status, 200);
  };
  /** The page for `#ceremony=…`: assert, finish, follow the hand-off redirect if any. */
  const stepUpPage = (authenticator: SoftAuthenticator) => async (page: URL) => {
    const id = new URLSearchParams(page.hash.slice(1)).get('ceremony')!;
    const c = await json<{ options: { challenge: string; rpId?: string } }>(await fetch(`${server.url}/v1/auth/webauthn/ceremonies/${encodeURIComponent(id)}`));
    const done = await json<{ redirect?: string }>(await fetch(`${server.url}/v1/auth/step-up/finish`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ceremonyId: id, response: authenticator.assert(c.options) }) }));
    if (done.redirect !== undefined) assert.equal((await fetch(done.redirect)).status, 200);
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'coffer-identity-cli-wa-'));
    server = await startInProcess(join(dir, 'data'), { flags: { requireStepUpForUserTokens: 1 } as never });
    key = new SoftAuthenticator(server.url);
    adminKey = new SoftAuthenticator(server.url);
    adminEnv = { COFFER_URL: server.url, COFFER_CREDENTIALS_FILE: join(dir, 'admin.json') };
    anaEnv = { COFFER_URL: server.url, COFFER_CREDENTIALS_FILE: join(dir, 'ana.json') };
    ok(await runCli(['bootstrap', '--name', 'root', '--setup-token', server.setupToken!, '--password-stdin'], { env: adminEnv, stdin: `${ADMIN_PASSWORD}\n` }), 'bootstrap');
  });
  after(async () => {
    await server?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('the administrator: API token refused for admin work; password session, `mfa webauthn add`, `step-up`, then admin work', async () => {
    const refused = await runCli(['user', 'create', 'ana'], { env: adminEnv });
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /COFFER_AUTH_STEP_UP_REQUIRED[\s\S]*run `coffer step-up`/);
    // the token has no key to step up with yet: a session registers one (the password was set at bootstrap;
    // a bearer token alone cannot enroll a first password)
    const first = await runCli(['password', '--password-stdin'], { env: adminEnv, stdin: `other-first-password-9\n` });
    assert.notEqual(first.code, 0);
    ok(await runCli(['login', '--user', 'root', '--password-stdin'], { env: adminEnv, stdin: `${ADMIN_PASSWORD}\n` }), 'login');
    const add = await runWithBrowser(['mfa', 'webauthn', 'add', '--name', 'yubikey'], adminEnv, registerPage(adminKey));
    ok(add, 'mfa webauthn add');
    assert.match(add.stdout, /security key `yubikey` registered/);
    assert.match(add.stdout, /Recovery codes/);
    assert.match(ok(await runCli(['mfa', 'keys'], { env: adminEnv }), 'mfa keys').stdout, /yubikey/);
    const up = await runWithBrowser(['step-up'], adminEnv, stepUpPage(adminKey));
    ok(up, 'step-up');
    assert.match(up.stdout, /confirmed with your security key/);
    ok(await runCli(['user', 'create', 'ana'], { env: adminEnv }), 'user create after step-up');
  });

  test('a user with an API token: restricted pull refused, `coffer step-up` turns the token into a stepped-up session, pull works', async () => {
    ok(await runCli(['project', 'create', 'ml'], { env: adminEnv }), 'project');
    ok(await runCli(['artifact', 'create', 'ml/secret', '--tier', 'restricted'], { env: adminEnv }), 'artifact');
    writeFileSync(join(dir, 'weights.bin'), 'restricted weights');
    ok(await runCli(['push', 'ml/secret', join(dir, 'weights.bin'), '--no-progress'], { env: adminEnv }), 'push');
    ok(await runCli(['grant', 'ana', 'reader', 'ml/secret'], { env: adminEnv }), 'grant');
    ok(await runCli(['password', '--user', 'ana', '--password-stdin'], { env: adminEnv, stdin: `${PASSWORD}\n` }), 'password ana');
    const token = /coffer_pat_\S+/.exec(ok(await runCli(['token', 'create', '--for', 'ana'], { env: adminEnv }), 'token').stdout)![0];
    // ana registers her key from a password session, then works with her API token
    ok(await runCli(['login', '--user', 'ana', '--password-stdin'], { env: anaEnv, stdin: `${PASSWORD}\n` }), 'login ana');
    ok(await runWithBrowser(['mfa', 'webauthn', 'add'], anaEnv, registerPage(key)), 'ana webauthn add');
    ok(await runCli(['login', '--token', token], { env: anaEnv }), 'login --token');

    const out = join(dir, 'pulled.bin');
    const refused = await runCli(['pull', 'ml/secret@1', '-o', out, '--no-progress'], { env: anaEnv });
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /COFFER_AUTH_STEP_UP_REQUIRED/);
    const up = await runWithBrowser(['step-up'], anaEnv, stepUpPage(key));
    ok(up, 'step-up with a token');
    assert.match(up.stdout, /confirmed with your security key: session ses_\S+ cached/);
    const cache = JSON.parse(readFileSync(anaEnv.COFFER_CREDENTIALS_FILE!, 'utf8')) as { token: string; refreshToken: string; apiToken: string };
    assert.equal(cache.apiToken, token);
    assert.match(cache.refreshToken, /^coffer_refresh_/);
    assert.match(ok(await runCli(['session'], { env: anaEnv }), 'session').stdout, /methods api-token, webauthn/);
    ok(await runCli(['pull', 'ml/secret@1', '-o', out, '--no-progress'], { env: anaEnv }), 'pull after step-up');
    assert.equal(readFileSync(out, 'utf8'), 'restricted weights');
  });
});
