import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { chromium } from 'playwright-core';
import type { Browser, Page } from 'playwright-core';
import { loadConfig } from '../../src/config/index.js';
import { openRuntime } from '../../src/runtime/open-runtime.js';
import type { Runtime } from '../../src/runtime/open-runtime.js';
import { buildApp } from '../../src/server/app.js';

// WebAuthn end to end in Debian's Chromium, driven by playwright-core, with Chrome's
// virtual authenticator (DevTools WebAuthn domain: CTAP2, internal transport, user
// verification): register a key, get refused a restricted download, step up, download;
// sign out and sign in again with password + security key; the CLI's hand-offs
// (`coffer login --webauthn`, `coffer step-up`, `coffer mfa webauthn add`, and the step-up
// of an API token under `requireStepUpForUserTokens`).

const CHROMIUM = '/usr/bin/chromium';
const PASSWORD = 'juniper-beacon-mosaic-31';

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

void describe('e2e: WebAuthn in Chromium with a virtual authenticator', { skip: existsSync(CHROMIUM) ? false : `${CHROMIUM} is not installed (apt-get install chromium)`, timeout: 120_000 }, () => {
  let dir: string;
  let runtime: Runtime;
  let app: FastifyInstance;
  let browser: Browser;
  let page: Page;
  let origin: string;
  let admin: string;

  const api = async (method: string, path: string, body?: unknown) => {
    const r = await app.inject({ method: method as 'GET', url: path, headers: { authorization: `Bearer ${admin}` }, ...(body !== undefined ? { payload: body as Record<string, unknown> } : {}) });
    assert.ok(r.statusCode < 300, `${method} ${path}: ${r.body}`);
    return r;
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'coffer-webauthn-'));
    const port = await freePort();
    // WebAuthn needs a secure context and a domain RP id: http://localhost is both
    origin = `http://localhost:${port}`;
    const config = loadConfig({ flags: { dataDir: dir, listen: `127.0.0.1:${port}`, logLevel: 'silent', publicUrl: origin } });
    runtime = await openRuntime(config, { warn: () => undefined });
    app = await buildApp({ service: runtime.service, ready: () => runtime.store.ping(), logLevel: 'silent', extensions: runtime.routes, publicRoutes: runtime.publicRoutes });
    await app.listen({ host: '127.0.0.1', port });
    const boot = await app.inject({ method: 'POST', url: '/v1/bootstrap', payload: { setupToken: runtime.setupToken, name: 'admin' } });
    admin = boot.json<{ token: string }>().token;
    await api('POST', '/v1/principals', { kind: 'user', name: 'mia' });
    await api('PUT', '/v1/auth/password', { principal: 'mia', password: PASSWORD });
    await api('POST', '/v1/projects', { name: 'ml' });
    await api('POST', '/v1/projects/ml/artifacts', { name: 'model', kind: 'model', tier: 'restricted', environment: 'dev' });
    const up = await app.inject({ method: 'POST', url: '/v1/projects/ml/artifacts/model/versions', headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/octet-stream' }, payload: Buffer.from('restricted model weights v1') });
    assert.equal(up.statusCode, 201, up.body);
    await api('POST', '/v1/grants', { principal: 'mia', role: 'reader', project: 'ml', artifact: 'model' });

    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--host-resolver-rules=MAP localhost 127.0.0.1'] });
    page = await browser.newPage();
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('WebAuthn.enable');
    await cdp.send('WebAuthn.addVirtualAuthenticator', { options: { protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true } });
  });

  after(async () => {
    await browser?.close().catch(() => undefined);
    await app?.close();
    await runtime?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const statusText = () => page.locator('#status').innerText();
  const waitStatus = async (re: RegExp) => {
    // a locator wait, not a page function: the sign-in page's CSP forbids eval, as it should
    await page.locator('#status', { hasText: re }).waitFor({ timeout: 20_000 });
    return statusText();
  };

  test('password sign-in, register a key, refused without step-up, allowed after it', async () => {
    await page.goto(`${origin}/login/`);
    await waitStatus(/Sign in to Coffer/);
    await page.fill('#name', 'mia');
    await page.fill('#password', PASSWORD);
    await page.click('#login');
    assert.match(await waitStatus(/Signed in|failed/), /Signed in with password/);

    await page.click('#register');
    assert.match(await waitStatus(/registered|failed/), /Security key registered\. Recovery codes: /);

    await page.fill('#download-path', 'ml/model@1');
    await page.click('#download');
    await waitStatus(/Step-up|allowed|refused/);
    assert.equal(await page.locator('#result').innerText(), 'refused: COFFER_AUTH_STEP_UP_REQUIRED');

    await page.click('#stepup');
    assert.match(await waitStatus(/Confirmed|failed/), /Confirmed with your security key/);
    await page.click('#download');
    await waitStatus(/allowed|refused/);
    assert.match(await page.locator('#result').innerText(), /^downloaded 27 bytes, sha256 [0-9a-f]{64}$/);

    const mia = await runtime.store.getPrincipalByName('mia');
    const keys = await runtime.identity.identityStore.listWebAuthnCredentials(mia!.id);
    assert.equal(keys.length, 1);
    assert.ok(keys[0]!.counter >= 1, 'the virtual authenticator counter is tracked');
  });

  test('sign out, sign in again with password + security key: restricted download at once', async () => {
    await page.click('#logout');
    await waitStatus(/Signed out/);
    await page.fill('#name', 'mia');
    await page.fill('#password', PASSWORD);
    await page.click('#login');
    assert.match(await waitStatus(/Signed in with|failed/), /Signed in with password and security key/);
    await page.fill('#download-path', 'ml/model@1');
    await page.click('#download');
    await waitStatus(/allowed|refused/);
    assert.match(await page.locator('#result').innerText(), /^downloaded 27 bytes/);
  });

  test('ceremonies handed over by the CLI: login (#mfa=..., loopback hand-off) and step-up (#ceremony=...)', async () => {
    // the CLI's loopback listener, waiting for the hand-off code
    const codes: string[] = [];
    const listener = createHttpServer((req, res) => {
      // only the callback counts (the browser may also ask this origin for /favicon.ico)
      const u = new URL(req.url ?? '/', 'http://x');
      if (u.pathname === '/callback') codes.push(u.searchParams.get('code') ?? '');
      res.writeHead(200, { 'content-type': 'text/plain' }).end('back to the CLI');
    });
    await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
    try {
      const waiting = `http://127.0.0.1:${(listener.address() as { port: number }).port}/callback`;
      const verifier = randomBytes(32).toString('base64url');
      const challenge = createHash('sha256').update(verifier).digest('base64url');
      // `coffer login --webauthn`: the password step is done by the CLI, the key step in the browser
      const first = await app.inject({ method: 'POST', url: '/v1/auth/login', payload: { name: 'mia', password: PASSWORD } });
      const { ticket, methods } = first.json<{ ticket: string; methods: string[] }>();
      assert.deepEqual(methods, ['webauthn', 'recovery-code']);
      await page.goto('about:blank');
      await page.goto(`${origin}/login/index.html#mfa=${encodeURIComponent(ticket)}&redirect=${encodeURIComponent(waiting)}&challenge=${challenge}`);
      await page.waitForURL((u) => u.toString().startsWith(waiting), { timeout: 20_000 });
      assert.equal(codes.length, 1);
      const exchanged = await app.inject({ method: 'POST', url: '/v1/auth/handoff/exchange', payload: { code: codes[0], verifier } });
      assert.equal(exchanged.statusCode, 200, exchanged.body);
      const token = exchanged.json<{ accessToken: string }>().accessToken;
      const dl = await app.inject({ url: '/v1/projects/ml/artifacts/model/versions/1/content', headers: { authorization: `Bearer ${token}` } });
      assert.equal(dl.statusCode, 200);

      // `coffer` meets COFFER_AUTH_STEP_UP_REQUIRED: it starts a step-up and opens the page with the ceremony
      const up = await app.inject({ method: 'POST', url: '/v1/auth/step-up', headers: { authorization: `Bearer ${token}` } });
      const { url } = up.json<{ url: string }>();
      assert.match(url, new RegExp(`^${origin}/login/#ceremony=`));
      await page.goto('about:blank');
      await page.goto(url);
      assert.match(await waitStatus(/Confirmed|Failed/), /Confirmed with your security key/);
      const session = await app.inject({ url: '/v1/auth/session', headers: { authorization: `Bearer ${token}` } });
      const mfa = session.json<{ mfa: { methods: string[]; ageSeconds: number } }>().mfa;
      assert.deepEqual(mfa.methods, ['password', 'webauthn']);
      assert.ok(mfa.ageSeconds <= 5);
    } finally {
      listener.closeAllConnections();
      await new Promise<void>((resolve) => listener.close(() => resolve()));
    }
  });

  test('CLI hand-offs: `coffer mfa webauthn add` (#register=...) and, with requireStepUpForUserTokens, `coffer step-up` from an API token', async () => {
    const got: URLSearchParams[] = [];
    const listener = createHttpServer((req, res) => {
      const u = new URL(req.url ?? '/', 'http://x');
      if (u.pathname === '/callback') got.push(u.searchParams);
      res.writeHead(200, { 'content-type': 'text/plain' }).end('back to the CLI');
    });
    await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
    try {
      const waiting = `http://127.0.0.1:${(listener.address() as { port: number }).port}/callback`;
      await api('POST', '/v1/principals', { kind: 'user', name: 'noah' });
      await api('PUT', '/v1/auth/password', { principal: 'noah', password: PASSWORD });
      await api('POST', '/v1/grants', { principal: 'noah', role: 'reader', project: 'ml', artifact: 'model' });
      const pat = (await api('POST', '/v1/tokens', { principal: 'noah' })).json<{ token: string }>().token;
      const session = (await app.inject({ method: 'POST', url: '/v1/auth/login', payload: { name: 'noah', password: PASSWORD } })).json<{ accessToken: string }>().accessToken;

      // `coffer mfa webauthn add`: the page creates the credential and hands the result to the CLI, which submits it
      const begun = (await app.inject({ method: 'POST', url: '/v1/auth/webauthn/registrations', headers: { authorization: `Bearer ${session}` } })).json<{ ceremonyId: string }>();
      await page.goto('about:blank');
      await page.goto(`${origin}/login/#register=${encodeURIComponent(begun.ceremonyId)}&redirect=${encodeURIComponent(waiting)}&state=st4te`);
      await page.waitForURL((u) => u.toString().startsWith(waiting), { timeout: 20_000 });
      assert.equal(got[0]!.get('state'), 'st4te');
      const response = JSON.parse(Buffer.from(got[0]!.get('response')!, 'base64url').toString('utf8')) as unknown;
      const done = await app.inject({ method: 'POST', url: '/v1/auth/webauthn/registrations/finish', headers: { authorization: `Bearer ${session}` }, payload: { ceremonyId: begun.ceremonyId, response: response as Record<string, unknown>, name: 'cli key' } });
      assert.equal(done.statusCode, 201, done.body);
      // the page refuses to hand a credential to anything but this machine
      await page.goto('about:blank');
      await page.goto(`${origin}/login/#register=${encodeURIComponent(begun.ceremonyId)}&redirect=${encodeURIComponent('https://evil.example/cb')}&state=x`);
      assert.match(await waitStatus(/Failed/), /must listen on this machine/);

      // the operator withdraws the API-token exemption (config requireStepUpForUserTokens)
      runtime.identity.settings.requireStepUpForUserTokens = true;
      try {
        const refused = await app.inject({ url: '/v1/projects/ml/artifacts/model/versions/1/content', headers: { authorization: `Bearer ${pat}` } });
        assert.equal(refused.statusCode, 401);
        assert.equal(refused.json<{ error: { code: string } }>().error.code, 'COFFER_AUTH_STEP_UP_REQUIRED');
        const verifier = randomBytes(32).toString('base64url');
        const challenge = createHash('sha256').update(verifier).digest('base64url');
        const up = await app.inject({ method: 'POST', url: '/v1/auth/step-up/handoff', headers: { authorization: `Bearer ${pat}` }, payload: { redirect: waiting, challenge } });
        assert.equal(up.statusCode, 200, up.body);
        await page.goto('about:blank');
        await page.goto(up.json<{ url: string }>().url);
        await page.waitForURL((u) => u.toString().startsWith(waiting), { timeout: 20_000 });
        const code = got[1]!.get('code')!;
        const exchanged = await app.inject({ method: 'POST', url: '/v1/auth/handoff/exchange', payload: { code, verifier } });
        assert.equal(exchanged.statusCode, 200, exchanged.body);
        const stepped = exchanged.json<{ accessToken: string }>().accessToken;
        const dl = await app.inject({ url: '/v1/projects/ml/artifacts/model/versions/1/content', headers: { authorization: `Bearer ${stepped}` } });
        assert.equal(dl.statusCode, 200);
        assert.equal(dl.body, 'restricted model weights v1');
        const still = await app.inject({ url: '/v1/projects/ml/artifacts/model/versions/1/content', headers: { authorization: `Bearer ${pat}` } });
        assert.equal(still.statusCode, 401, 'the token alone is still refused');
      } finally {
        runtime.identity.settings.requireStepUpForUserTokens = false;
      }
    } finally {
      listener.closeAllConnections();
      await new Promise<void>((resolve) => listener.close(() => resolve()));
    }
  });
});
