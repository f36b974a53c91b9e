import { createHash, createPrivateKey, generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto';
import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';
import type { JsonWebKey as NodeJsonWebKey } from 'node:crypto';
import type { Command } from 'commander';
import { SignJWT, exportJWK, importJWK } from 'jose';
import type { JWK } from 'jose';
import { CofferApiError, CofferClient } from '../client/index.js';
import { IdentityClient } from '../client/identity-client.js';
import type { SessionTokens } from '../client/identity-client.js';
import { clearCredentials, credentialsPath, loadCredentials } from './credentials.js';
import { installDeviceSigning, markDeviceApproved, readDeviceKey } from './device-signing.js';
import type { CliContext, CommandRegistrar } from './program.js';

/** What `coffer login` caches (0600): the API token, or a session's access and refresh tokens. */
interface CachedCredentials {
  server: string;
  token: string;
  refreshToken?: string;
  /** Epoch ms when `token` (an access token) expires. */
  expiresAt?: number;
  sessionId?: string;
  /** The API token the session was stepped up from (`coffer step-up`): used again when the session ends. */
  apiToken?: string;
}

function readCache(env: NodeJS.ProcessEnv): CachedCredentials | null {
  try {
    return JSON.parse(readFileSync(credentialsPath(env), 'utf8')) as CachedCredentials;
  } catch {
    return null;
  }
}

function writeCache(env: NodeJS.ProcessEnv, creds: CachedCredentials): string {
  const path = credentialsPath(env);
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  writeFileSync(path, JSON.stringify(creds, null, 2) + '\n', { mode: 0o600 });
  // writeFileSync keeps the mode of an existing file: force it (tokens are secrets)
  chmodSync(path, 0o600);
  return path;
}

function sessionCache(server: string, t: SessionTokens, now = Date.now()): CachedCredentials {
  return { server, token: t.accessToken, ...(t.refreshToken ? { refreshToken: t.refreshToken } : {}), expiresAt: now + t.expiresIn * 1000, sessionId: t.sessionId };
}

/** Reads a secret: from stdin when piped (or asked), else a prompt that does not echo. */
async function readSecret(ctx: CliContext, prompt: string, fromStdin: boolean): Promise<string> {
  if (fromStdin || !process.stdin.isTTY) return readFileSync(0, 'utf8').split('\n')[0]!.trim();
  const muted = new Writable({ write: (_c, _e, cb) => cb() });
  ctx.io.err(prompt);
  const rl = createInterface({ input: process.stdin, output: muted, terminal: true });
  const answer = await new Promise<string>((resolve) => rl.question('', resolve));
  rl.close();
  ctx.io.err('\n');
  return answer.trim();
}

async function ask(ctx: CliContext, prompt: string): Promise<string> {
  ctx.io.err(prompt);
  const rl = createInterface({ input: process.stdin, terminal: false });
  const answer = await new Promise<string>((resolve) => rl.once('line', resolve));
  rl.close();
  return answer.trim();
}

/** Opens a URL in the user's browser if one can be found; always prints it. */
function openBrowser(ctx: CliContext, url: string, open: boolean): void {
  ctx.io.err(`open this page to continue (waiting up to 5 minutes):\n  ${url}\n`);
  if (!open) return;
  const cmd = process.platform === 'darwin' ? 'open' : process.platform === 'win32' ? 'explorer' : 'xdg-open';
  try {
    spawn(cmd, [url], { stdio: 'ignore', detached: true }).on('error', () => undefined).unref();
  } catch {
    // no browser launcher: the printed URL is enough
  }
}

/**
 * Waits for a browser flow to hand its session back: a one-shot listener on 127.0.0.1
 * receives the code, which is exchanged with the verifier only this process knows.
 */
async function browserHandoff(ctx: CliContext, server: string, buildUrl: (redirect: string, challenge: string) => string | Promise<string>, open: boolean): Promise<SessionTokens> {
  const verifier = randomBytes(32).toString('base64url');
  const challenge = createHash('sha256').update(verifier).digest('base64url');
  let resolveCode!: (code: string) => void;
  const gotCode = new Promise<string>((resolve) => (resolveCode = resolve));
  const listener = createServer((req, res) => {
    const code = new URL(req.url ?? '/', 'http://127.0.0.1').searchParams.get('code');
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end('<!doctype html><title>Coffer</title><p>Signed in. You can close this window and return to the command line.</p>');
    if (code) resolveCode(code);
  });
  await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
  try {
    const redirect = `http://127.0.0.1:${(listener.address() as AddressInfo).port}/callback`;
    openBrowser(ctx, await buildUrl(redirect, challenge), open);
    let timer: NodeJS.Timeout | undefined;
    const code = await Promise.race([gotCode, new Promise<never>((_r, reject) => (timer = setTimeout(() => reject(new Error('no answer from the browser within 5 minutes')), 5 * 60_000)))]).finally(() => clearTimeout(timer));
    return await new IdentityClient({ baseUrl: server }).exchangeHandoff(code, verifier);
  } finally {
    listener.closeAllConnections();
    listener.close();
  }
}

/**
 * Waits for the browser to come back to a one-shot 127.0.0.1 listener with the query
 * parameters of a page result; a random `state` it must echo ties the answer to this
 * invocation.
 */
async function browserCallback(ctx: CliContext, buildUrl: (redirect: string, state: string) => string, open: boolean): Promise<URLSearchParams> {
  const state = randomBytes(16).toString('base64url');
  let resolveParams!: (p: URLSearchParams) => void;
  const got = new Promise<URLSearchParams>((resolve) => (resolveParams = resolve));
  const listener = createServer((req, res) => {
    const params = new URL(req.url ?? '/', 'http://127.0.0.1').searchParams;
    const mine = params.get('state') === state;
    res.writeHead(mine ? 200 : 400, { 'content-type': 'text/html; charset=utf-8' }).end(mine ? '<!doctype html><title>Coffer</title><p>Done. You can close this window and return to the command line.</p>' : '<!doctype html><title>Coffer</title><p>Unexpected answer.</p>');
    if (mine) resolveParams(params);
  });
  listener.maxHeadersCount = 20;
  await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
  try {
    openBrowser(ctx, buildUrl(`http://127.0.0.1:${(listener.address() as AddressInfo).port}/callback`, state), open);
    let timer: NodeJS.Timeout | undefined;
    return await Promise.race([got, new Promise<never>((_r, reject) => (timer = setTimeout(() => reject(new Error('no answer from the browser within 5 minutes')), 5 * 60_000)))]).finally(() => clearTimeout(timer));
  } finally {
    listener.closeAllConnections();
    listener.close();
  }
}

/** The Ed25519 device key of this CLI (0600, next to the credentials). */
function deviceKeyPath(env: NodeJS.ProcessEnv): string {
  return join(dirname(credentialsPath(env)), 'device-key.json');
}

async function signAssertion(privateJwk: JWK, client: string, audience: string): Promise<string> {
  const alg = privateJwk.kty === 'OKP' ? 'EdDSA' : privateJwk.kty === 'EC' ? (privateJwk.crv === 'P-384' ? 'ES384' : 'ES256') : 'RS256';
  const key = await importJWK(privateJwk, alg);
  const { d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, ...pub } = privateJwk;
  void [_d, _p, _q, _dp, _dq, _qi];
  const { calculateJwkThumbprint } = await import('jose');
  const kid = await calculateJwkThumbprint(pub, 'sha256');
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ jti: randomUUID() }).setProtectedHeader({ alg, kid }).setIssuer(client).setSubject(client).setAudience(audience).setIssuedAt(now).setExpirationTime(now + 120).sign(key);
}

/**
 * Identity commands: `login` (API token, password + TOTP or security key, browser SSO),
 * `logout`, `session`, `sessions`, `step-up`, `password`, `mfa`, service-account keys and
 * tokens, workload issuers, SSO providers, SCIM tokens, devices (`token scan` is in
 * commands-token-scan.ts).
 * Session credentials are refreshed before each command when they are about to expire.
 */
export const identityCommands: CommandRegistrar = (program: Command, ctx: CliContext) => {
  const { io } = ctx;
  const serverUrl = () => loadCredentials(io.env, program.opts<{ server?: string }>().server).server;
  const identity = () => {
    const creds = loadCredentials(io.env, program.opts<{ server?: string }>().server);
    return new IdentityClient({ baseUrl: creds.server, token: creds.token, userAgent: 'coffer-cli' });
  };

  // a session's access token lives 15 minutes: rotate it before it runs out
  program.hook('preAction', async (_this, action) => {
    if (['login', 'logout', 'server', 'bootstrap'].includes(action.name()) || io.env.COFFER_TOKEN) return;
    const cache = readCache(io.env);
    if (!cache?.refreshToken || cache.expiresAt === undefined || cache.expiresAt - Date.now() > 60_000) return;
    try {
      const t = await new IdentityClient({ baseUrl: cache.server }).refresh(cache.refreshToken);
      writeCache(io.env, { ...sessionCache(cache.server, t), ...(cache.apiToken !== undefined ? { apiToken: cache.apiToken } : {}) });
    } catch (err) {
      if (err instanceof CofferApiError && cache.apiToken !== undefined) {
        // the stepped-up session is over: back to the API token it came from
        writeCache(io.env, { server: cache.server, token: cache.apiToken });
      } else if (err instanceof CofferApiError) io.err(`session could not be refreshed (${err.code}): run \`coffer login\`\n`);
    }
  });

  // requests are signed with this machine's device key once the device is approved (an
  // unapproved device's proof would be refused, so until then nothing is signed)
  let signing = false;
  program.hook('preAction', async (_this, action) => {
    if (signing || ['login', 'logout', 'server', 'bootstrap'].includes(action.name())) return;
    const keyPath = deviceKeyPath(io.env);
    const d = readDeviceKey(keyPath);
    if (d === null) return;
    if (d.approved !== true) {
      const mine = await identity().listDevices().catch(() => null);
      if (mine?.items.find((x) => x.id === d.id)?.status !== 'approved') return;
      markDeviceApproved(keyPath, d, true);
    }
    installDeviceSigning(serverUrl(), d, () => {
      markDeviceApproved(keyPath, d, false);
      io.err(`device ${d.id} is not approved (any more): requests will be sent unsigned from the next command on\n`);
    });
    signing = true;
  });

  // `login` replaces the core one: same API-token behaviour, plus sessions
  const existing = program.commands.find((c) => c.name() === 'login');
  if (existing) (program as unknown as { commands: Command[] }).commands.splice(program.commands.indexOf(existing), 1);
  program
    .command('login')
    .description('log in: with an API token, a password (+ TOTP code or security key), or browser single sign-on; credentials cached 0600')
    .option('--token <token>', 'API token (default: $COFFER_TOKEN, or read from stdin)')
    .option('--user <name>', 'log in with a password (prompted, or --password-stdin)')
    .option('--password-stdin', 'read the password from stdin')
    .option('--totp <code>', 'TOTP or recovery code (prompted when needed)')
    .option('--webauthn', 'second factor with a security key, in the browser')
    .option('--sso <provider>', 'single sign-on with an OpenID provider, in the browser')
    .option('--no-browser', 'print the URL instead of opening a browser')
    .action(async (opts: { token?: string; user?: string; passwordStdin?: boolean; totp?: string; webauthn?: boolean; sso?: string; browser: boolean }) => {
      const server = serverUrl();
      const client = new IdentityClient({ baseUrl: server, userAgent: 'coffer-cli' });
      let tokens: SessionTokens;
      if (opts.sso !== undefined) {
        tokens = await browserHandoff(ctx, server, (redirect, challenge) => `${server}/v1/auth/sso/${encodeURIComponent(opts.sso!)}/start?redirect=${encodeURIComponent(redirect)}&challenge=${challenge}`, opts.browser);
      } else if (opts.user !== undefined) {
        const password = await readSecret(ctx, 'password: ', opts.passwordStdin === true);
        let answer = await client.login(opts.user, password);
        if (answer.status === 'mfa-required') {
          const useKey = opts.webauthn === true || (opts.totp === undefined && !answer.methods.includes('totp') && answer.methods.includes('webauthn'));
          if (useKey) {
            const ticket = answer.ticket;
            tokens = await browserHandoff(ctx, server, (redirect, challenge) => `${server}/login/index.html#mfa=${encodeURIComponent(ticket)}&redirect=${encodeURIComponent(redirect)}&challenge=${challenge}`, opts.browser);
            answer = { status: 'authenticated', ...tokens };
          } else {
            const code = opts.totp ?? (await ask(ctx, 'authentication code (or recovery code): '));
            answer = await client.loginMfa(answer.ticket, code);
          }
        }
        if (answer.status !== 'authenticated') throw new Error('login did not complete');
        tokens = answer;
      } else {
        const token = opts.token ?? io.env.COFFER_TOKEN ?? readFileSync(0, 'utf8').trim();
        const me = await new CofferClient({ baseUrl: server, token }).whoami();
        const path = writeCache(io.env, { server, token });
        io.out(`logged in to ${server} as \`${me.name}\` (credentials in ${path})\n`);
        return;
      }
      const path = writeCache(io.env, sessionCache(server, tokens));
      const session = await client.withToken(tokens.accessToken).session();
      io.out(`logged in to ${server} as \`${session.principal}\` with ${session.mfa.methods.join(' + ')} (session ${tokens.sessionId}; credentials in ${path})\n`);
    });

  const existingLogout = program.commands.find((c) => c.name() === 'logout');
  if (existingLogout) (program as unknown as { commands: Command[] }).commands.splice(program.commands.indexOf(existingLogout), 1);
  program
    .command('logout')
    .description('end the session on the server (when logged in with a session) and forget the cached credentials')
    .action(async () => {
      const cache = readCache(io.env);
      if (cache?.refreshToken) {
        // revoking the refresh token revokes the whole session, even if the access token expired
        await new IdentityClient({ baseUrl: cache.server }).revokeToken(cache.refreshToken).catch(() => undefined);
      }
      clearCredentials(io.env);
      io.out('logged out\n');
    });

  program
    .command('session')
    .description('the current session: authentication methods and the age of the strongest one')
    .option('--json', 'JSON output')
    .action(async (opts: { json?: boolean }) => {
      const s = await identity().session();
      ctx.print(opts.json, s, () => `${s.principal}: session ${s.sessionId ?? '(API token)'}, methods ${s.mfa.methods.join(', ')}, strongest factor ${s.mfa.ageSeconds} s ago${s.device.managed ? `, managed device ${s.device.id}` : ''}\n`);
    });

  const sessions = program.command('sessions').description('sessions');
  sessions
    .command('list')
    .option('--user <name>', "another principal's sessions (admins)")
    .option('--json', 'JSON output')
    .action(async (opts: { user?: string; json?: boolean }) => {
      const { items } = await identity().sessions(opts.user);
      ctx.print(opts.json, items, () => ctx.table(items as { id: string }[], ['id', 'kind', 'active', 'current', 'createdAt', 'sourceIp'] as never));
    });
  sessions.command('revoke <id>').action(async (id: string) => {
    await identity().revokeSession(id);
    io.out(`session ${id} revoked\n`);
  });
  sessions
    .command('revoke-all')
    .option('--user <name>', 'another principal (admins)')
    .option('--tokens', 'also revoke its API tokens')
    .action(async (opts: { user?: string; tokens?: boolean }) => {
      const r = await identity().revokeAllSessions({ ...(opts.user ? { principal: opts.user } : {}), ...(opts.tokens ? { tokens: true } : {}) });
      io.out(`${r.sessions} sessions and ${r.tokens} API tokens revoked\n`);
    });

  program
    .command('step-up')
    .description('confirm with your security key (in the browser) so actions that need a recent WebAuthn assertion pass')
    .option('--no-browser', 'print the URL instead of opening a browser')
    .action(async (opts: { browser: boolean }) => {
      const client = identity();
      const creds = loadCredentials(io.env, program.opts<{ server?: string }>().server);
      if (creds.token?.startsWith('coffer_pat_')) {
        // an API token has no session to confirm: the security key starts one, handed back to this process
        const tokens = await browserHandoff(ctx, creds.server, async (redirect, challenge) => {
          const begun = await client.stepUp({ redirect, challenge });
          return begun.url ?? `${creds.server}/login/#ceremony=${encodeURIComponent(begun.ceremonyId)}`;
        }, opts.browser);
        const path = writeCache(io.env, { ...sessionCache(creds.server, tokens), apiToken: creds.token });
        io.out(`confirmed with your security key: session ${tokens.sessionId} cached in ${path} (your API token is used again when it ends); retry the command\n`);
        if (io.env.COFFER_TOKEN) io.err('note: COFFER_TOKEN is set and wins over the cached session: unset it for the retry\n');
        return;
      }
      const begun = await client.stepUp();
      openBrowser(ctx, begun.url ?? `${serverUrl()}/login/#ceremony=${encodeURIComponent(begun.ceremonyId)}`, opts.browser);
      const deadline = Date.now() + 5 * 60_000;
      for (;;) {
        const s = await client.session();
        if (s.mfa.methods.includes('webauthn') && s.mfa.ageSeconds <= 60) break;
        if (Date.now() > deadline) throw new Error('no confirmation within 5 minutes');
        await new Promise((r) => setTimeout(r, 1000));
      }
      io.out('confirmed with your security key: retry the command\n');
    });

  program
    .command('password')
    .description('set your password (or another user\'s, for admins)')
    .option('--user <name>', 'another user (admins)')
    .option('--password-stdin', 'read the new password (and the current one, on the next line) from stdin')
    .action(async (opts: { user?: string; passwordStdin?: boolean }) => {
      let password: string;
      let current: string | undefined;
      if (opts.passwordStdin || !process.stdin.isTTY) {
        const lines = readFileSync(0, 'utf8').split('\n');
        password = lines[0]!.trim();
        current = lines[1]?.trim() || undefined;
      } else {
        if (!opts.user) current = (await readSecret(ctx, 'current password (empty if none): ', false)) || undefined;
        password = await readSecret(ctx, 'new password: ', false);
      }
      await identity().setPassword({ ...(opts.user ? { principal: opts.user } : {}), password, ...(current ? { currentPassword: current } : {}) });
      io.out('password set\n');
    });

  program
    .command('enrollment-ticket <user>')
    .description('issue a one-time ticket with which <user> sets a first password (`coffer enroll`); shown once')
    .option('--ttl <seconds>', 'lifetime (60-86400, default 3600)', (v) => Number(v))
    .option('--json', 'JSON output')
    .action(async (user: string, opts: { ttl?: number; json?: boolean }) => {
      const t = await identity().enrollmentTicket(user, opts.ttl);
      if (opts.json) io.out(JSON.stringify(t, null, 2) + '\n');
      else {
        io.out(`${t.ticket}\n`);
        io.err(`enrollment ticket for \`${t.principal}\` (${t.hint}), valid once until ${t.expiresAt}; hand it over out of band: coffer enroll --ticket ...\n`);
      }
    });
  program
    .command('enroll')
    .description('set your first password with the enrollment ticket an administrator gave you (no login needed)')
    .requiredOption('--ticket <ticket>', 'the enrollment ticket (coffer_enroll_...)')
    .option('--password-stdin', 'read the new password from stdin')
    .action(async (opts: { ticket: string; passwordStdin?: boolean }) => {
      const password = await readSecret(ctx, 'new password: ', opts.passwordStdin === true);
      const r = await new IdentityClient({ baseUrl: serverUrl() }).enroll(opts.ticket, password);
      io.out(`password set for \`${r.principal}\`; log in with: coffer login --user ${r.principal}\n`);
    });

  const mfa = program.command('mfa').description('second factors');
  mfa
    .command('totp-enroll')
    .description('set up an authenticator app (TOTP); prints the secret, asks for a first code, prints recovery codes')
    .option('--code <code>', 'the first code (prompted otherwise)')
    .action(async (opts: { code?: string }) => {
      const client = identity();
      const e = await client.totpEnroll();
      io.out(`secret: ${e.secret}\nuri: ${e.uri}\n`);
      const code = opts.code ?? (await ask(ctx, 'code from the app: '));
      const r = await client.totpConfirm(code);
      io.out(`TOTP enabled. Recovery codes (each works once; keep them offline):\n${r.recoveryCodes.map((c) => `  ${c}`).join('\n')}\n`);
    });
  mfa.command('totp-disable').action(async () => {
    await identity().totpDisable();
    io.out('TOTP removed\n');
  });
  mfa.command('recovery-codes').description('new recovery codes (the old ones stop working)').action(async () => {
    const r = await identity().recoveryCodes();
    io.out(r.recoveryCodes.map((c) => `${c}\n`).join(''));
  });
  mfa
    .command('keys')
    .description('security keys (register one with `coffer mfa webauthn add`, or on the sign-in page SERVER/login/)')
    .option('--json', 'JSON output')
    .action(async (opts: { json?: boolean }) => {
      const { items } = await identity().securityKeys();
      ctx.print(opts.json, items, () => ctx.table(items, ['id', 'name', 'createdAt', 'lastUsedAt']));
    });
  const webauthn = mfa.command('webauthn').description('security keys (FIDO2/WebAuthn)');
  webauthn
    .command('add')
    .description('register a security key: the browser talks to the key and hands the result back to this command')
    .option('--name <name>', 'a name for the key', 'security key')
    .option('--no-browser', 'print the URL instead of opening a browser')
    .action(async (opts: { name: string; browser: boolean }) => {
      const client = identity();
      const begun = await client.webauthnRegisterBegin();
      // the browser only creates the credential; this process (holding the session) submits it
      const params = await browserCallback(ctx, (redirect, state) => `${serverUrl()}/login/#register=${encodeURIComponent(begun.ceremonyId)}&redirect=${encodeURIComponent(redirect)}&state=${state}`, opts.browser);
      const response = JSON.parse(Buffer.from(params.get('response') ?? '', 'base64url').toString('utf8')) as unknown;
      const r = await client.webauthnRegisterFinish(begun.ceremonyId, response, opts.name);
      io.out(`security key \`${r.name}\` registered (${r.id.slice(0, 16)}…)\n`);
      if (r.recoveryCodes) io.out(`Recovery codes (each works once; keep them offline):\n${r.recoveryCodes.map((c) => `  ${c}`).join('\n')}\n`);
    });
  mfa.command('key-delete <id>').action(async (id: string) => {
    await identity().deleteSecurityKey(id);
    io.out('security key removed\n');
  });

  program
    .command('delete-principal <name>')
    .description('delete a user or service account and everything attached to it (admins)')
    .action(async (name: string) => {
      await identity().deletePrincipal(name);
      io.out(`\`${name}\` deleted\n`);
    });

  const sa = program.command('sa').description('service accounts: keys and short-lived tokens');
  sa.command('key-add <service-account> <public-jwk-file>')
    .description('register a public key (JWK) the service account signs token requests with')
    .action(async (name: string, file: string) => {
      const r = await identity().addClientKey(name, JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>);
      io.out(`key ${r.kid} (${r.alg}) registered for \`${name}\`\n`);
    });
  sa.command('key-generate <private-jwk-file>')
    .description('generate an Ed25519 key pair: private JWK to the file (0600), public JWK to stdout')
    .action(async (file: string) => {
      const { privateKey, publicKey } = generateKeyPairSync('ed25519');
      writeFileSync(file, JSON.stringify(await exportJWK(privateKey)) + '\n', { mode: 0o600 });
      io.out(JSON.stringify(await exportJWK(publicKey)) + '\n');
    });
  sa.command('key-list <service-account>').option('--json', 'JSON output').action(async (name: string, opts: { json?: boolean }) => {
    const { items } = await identity().listClientKeys(name);
    ctx.print(opts.json, items, () => ctx.table(items, ['kid', 'createdAt', 'revokedAt']));
  });
  sa.command('key-revoke <service-account> <kid>').action(async (name: string, kid: string) => {
    await identity().revokeClientKey(name, kid);
    io.out(`key ${kid} revoked\n`);
  });
  sa.command('token <service-account>')
    .description('get a short-lived access token (private_key_jwt, or --id-token from a CI issuer); prints it')
    .option('--key <private-jwk-file>', 'the private key registered with `sa key-add`')
    .option('--id-token <file>', 'an OIDC ID token from a trusted workload issuer (`-` = stdin)')
    .option('--ttl <seconds>', 'lifetime (at most the server limit, never above 3600)')
    .action(async (name: string, opts: { key?: string; idToken?: string; ttl?: string }) => {
      const server = serverUrl();
      const client = new IdentityClient({ baseUrl: server });
      let fields: Record<string, string>;
      if (opts.key) {
        const assertion = await signAssertion(JSON.parse(readFileSync(opts.key, 'utf8')) as JWK, name, `${server}/v1/auth/token`);
        fields = { grant_type: 'client_credentials', client_id: name, client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', client_assertion: assertion };
      } else if (opts.idToken) {
        const idToken = readFileSync(opts.idToken === '-' ? 0 : opts.idToken, 'utf8').trim();
        fields = { grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange', subject_token: idToken, subject_token_type: 'urn:ietf:params:oauth:token-type:id_token' };
      } else {
        throw new Error('give --key or --id-token');
      }
      const t = await client.serviceToken({ ...fields, ...(opts.ttl ? { expires_in: opts.ttl } : {}) });
      io.out(`${t.access_token}\n`);
      io.err(`expires in ${t.expires_in} s\n`);
    });

  const wl = program.command('workload-issuer').description('trusted CI/workload OIDC issuers (admins)');
  wl.command('set <name>')
    .requiredOption('--issuer <url>')
    .requiredOption('--jwks-uri <url>')
    .requiredOption('--audience <aud>')
    .requiredOption('--bind <sa:claim=value,...>', 'service account and the claims a token must carry (repeatable)', (v: string, prev: string[] = []) => [...prev, v])
    .action(async (name: string, opts: { issuer: string; jwksUri: string; audience: string; bind: string[] }) => {
      const bindings = opts.bind.map((b) => {
        const [serviceAccount, rest = ''] = b.split(/:(.*)/s);
        const claims = Object.fromEntries(rest.split(',').filter(Boolean).map((kv) => [kv.split('=')[0]!, kv.split('=').slice(1).join('=')]));
        return { serviceAccount: serviceAccount!, claims };
      });
      await identity().putWorkloadIssuer(name, { issuer: opts.issuer, jwksUri: opts.jwksUri, audience: opts.audience, bindings });
      io.out(`workload issuer \`${name}\` trusted (${bindings.length} bindings)\n`);
    });
  wl.command('list').option('--json', 'JSON output').action(async (opts: { json?: boolean }) => {
    const { items } = await identity().listWorkloadIssuers();
    ctx.print(opts.json, items, () => ctx.table(items, ['name', 'issuer', 'audience']));
  });
  wl.command('delete <name>').action(async (name: string) => {
    await identity().deleteWorkloadIssuer(name);
    io.out(`workload issuer \`${name}\` removed\n`);
  });

  program
    .command('sso-provider <name>')
    .description('configure an OpenID Connect provider for `coffer login --sso NAME` (client secret on stdin)')
    .requiredOption('--issuer <url>')
    .requiredOption('--client-id <id>')
    .option('--groups-claim <claim>', 'claim with the groups', 'groups')
    .option('--username-claim <claim>', 'claim for the user name', 'preferred_username')
    .option('--map <idp-group=coffer-group...>', 'group mapping')
    .action(async (name: string, opts: { issuer: string; clientId: string; groupsClaim: string; usernameClaim: string; map?: string[] }) => {
      const clientSecret = await readSecret(ctx, 'client secret: ', true);
      const groupMap = Object.fromEntries((opts.map ?? []).map((m) => [m.split('=')[0]!, m.split('=').slice(1).join('=')]));
      const r = await identity().putSsoProvider(name, { issuer: opts.issuer, clientId: opts.clientId, clientSecret, groupsClaim: opts.groupsClaim, usernameClaim: opts.usernameClaim, groupMap });
      io.out(`provider \`${name}\` configured; register this redirect URI with it: ${r.redirectUri}\n`);
    });

  const scim = program.command('scim-token').description('SCIM tokens for identity providers (admins)');
  scim.command('create').action(async () => {
    const t = await identity().createScimToken();
    io.out(`${t.token}\n`);
    io.err(`SCIM token ${t.id}; base URL ${serverUrl()}/scim/v2; shown only once\n`);
  });
  scim.command('list').option('--json', 'JSON output').action(async (opts: { json?: boolean }) => {
    const { items } = await identity().listScimTokens();
    ctx.print(opts.json, items, () => ctx.table(items, ['id', 'hint', 'createdAt', 'revokedAt']));
  });
  scim.command('revoke <id>').action(async (id: string) => {
    await identity().revokeScimToken(id);
    io.out(`SCIM token ${id} revoked\n`);
  });

  const identityCmd = program.commands.find((c) => c.name() === 'identity') ?? program.command('identity').description('identity administration');
  identityCmd
    .command('rotate-signing-key')
    .description('new Ed25519 key for access tokens; the previous one verifies until its tokens expire (--retire-now: at once)')
    .option('--retire-now', 'the old key is compromised: its tokens stop working now (sessions refresh)')
    .option('--json', 'JSON output')
    .action(async (opts: { retireNow?: boolean; json?: boolean }) => {
      const r = await identity().rotateSigningKey(opts.retireNow === true);
      ctx.print(opts.json, r, () => `signing key ${r.kid} in use; previous key ${r.previousKid} verifies until ${r.previousValidUntil}\n`);
    });

  const device = program.command('device').description('managed devices');
  device
    .command('enrol')
    .description('generate this machine\'s device key (0600) and enrol it; an admin approves it')
    .requiredOption('--name <name>')
    .action(async (opts: { name: string }) => {
      const { privateKey, publicKey } = generateKeyPairSync('ed25519');
      const d = await identity().enrolDevice(opts.name, await exportJWK(publicKey));
      const path = deviceKeyPath(io.env);
      mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
      writeFileSync(path, JSON.stringify({ id: d.id, jwk: await exportJWK(privateKey) }) + '\n', { mode: 0o600 });
      io.out(`device ${d.id} enrolled (${d.status}); key in ${path}\n`);
    });
  device.command('list').option('--all', 'every device (admins)').option('--json', 'JSON output').action(async (opts: { all?: boolean; json?: boolean }) => {
    const { items } = await identity().listDevices(opts.all === true);
    ctx.print(opts.json, items, () => ctx.table(items, ['id', 'name', 'principalId', 'status', 'createdAt']));
  });
  for (const verb of ['approve', 'reject', 'revoke'] as const) {
    device.command(`${verb} <id>`).action(async (id: string) => {
      const d = await identity().decideDevice(id, verb);
      io.out(`device ${d.id} ${d.status}\n`);
    });
  }
  device
    .command('cert [id]')
    .description('get a client certificate of Coffer\'s device CA for this (approved) device, for mTLS; writes the certificate, the CA and the key as PEM next to the device key')
    .action(async (id: string | undefined) => {
      const keyPath = deviceKeyPath(io.env);
      const stored = JSON.parse(readFileSync(keyPath, 'utf8')) as { id: string; jwk: JWK };
      const c = await identity().certifyDevice(id ?? stored.id);
      if (c.deviceId !== stored.id) throw new Error(`device ${c.deviceId} is not this machine's device (${stored.id}): its key is elsewhere`);
      const dir = dirname(keyPath);
      const pem = createPrivateKey({ key: stored.jwk as NodeJsonWebKey, format: 'jwk' }).export({ type: 'pkcs8', format: 'pem' }) as string;
      writeFileSync(join(dir, 'device-key.pem'), pem, { mode: 0o600 });
      chmodSync(join(dir, 'device-key.pem'), 0o600);
      writeFileSync(join(dir, 'device-cert.pem'), c.certificate);
      writeFileSync(join(dir, 'device-ca.pem'), c.caCertificate);
      io.out(`certificate for device ${c.deviceId} (serial ${c.serial}) valid until ${c.notAfter}:\n  ${join(dir, 'device-cert.pem')}\n  key ${join(dir, 'device-key.pem')} (0600), CA ${join(dir, 'device-ca.pem')}\n`);
    });
};
