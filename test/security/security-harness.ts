/**
 * Harness of the adversarial suite (test/security/): a real Coffer (the access
 * harness: runtime, REST app, clock the test moves, software security keys) plus its
 * S3 listener on 127.0.0.1, and the data every attack needs: project `ml` with a
 * restricted artifact `secret` and an internal one `open`, and a user `erin` who reads
 * both and has a password. Attacks are driven as an attacker would: through the API
 * and real S3 clients, never by writing the database.
 */
import { GetObjectCommand } from '@aws-sdk/client-s3';
import type { S3Client } from '@aws-sdk/client-s3';
import type { S3Credentials } from '../../src/client/s3-client.js';
import { listenS3 } from '../../src/server/s3-app.js';
import { openAccessHarness } from '../integration/access-harness.js';
import type { AccessHarness } from '../integration/access-harness.js';
import { sdkClient } from '../integration/s3-client-helpers.js';

/** erin's password (set by the admin). */
export const ERIN_PASSWORD = 'quartz-meadow-falcon-77';

/** What a JSON call answers. */
export interface Answer<T = Record<string, unknown>> {
  status: number;
  body: T;
}

/** Tokens of a login. */
export interface Login {
  accessToken: string;
  refreshToken: string;
  sessionId: string;
}

export interface SecurityHarness extends AccessHarness {
  s3Url: string;
  /** A JSON call: status and parsed body (`error.code` on failures). */
  json<T = Record<string, unknown>>(token: string | null, method: string, url: string, body?: unknown): Promise<Answer<T>>;
  /** A password login of `name` (a session with the password only). */
  login(name: string, password: string): Promise<Login>;
  /** Mints an API token from `token`'s credential (POST /v1/tokens); the answer, not just the secret. */
  mint(token: string, input?: { principal?: string; ttlSeconds?: number }): Promise<Answer<{ token: string; info: { id: string; expiresAt: string | null; parentId: string }; error?: { code: string } }>>;
  /** Mints S3 credentials from `token`'s credential (POST /v1/s3/credentials). */
  s3Key(token: string, ttlSeconds?: number): Promise<Answer<S3Credentials & { error?: { code: string } }>>;
  /** GetObject with `creds` at the harness's clock: `200` or the S3 error code. */
  s3Get(creds: S3Credentials, bucket: string, key: string): Promise<string>;
  /** GET of version 1 of `ml/<artifact>` with `token`: `200` or the error code. */
  download(token: string, artifact: 'secret' | 'open'): Promise<string>;
  /** The token of `erin` the admin issued (rests on the bootstrap token: exempt from step-up). */
  erinToken: string;
}

/** Opens the harness; `flags` are config keys. */
export async function openSecurityHarness(flags: Record<string, unknown> = {}): Promise<SecurityHarness> {
  const h = await openAccessHarness(flags);
  const s3 = (await listenS3(h.runtime.s3, h.config))!;
  const json = async <T>(token: string | null, method: string, url: string, body?: unknown): Promise<Answer<T>> => {
    const r = await h.call(token, method, url, body);
    let parsed: unknown = r.body;
    try {
      parsed = r.body.length > 0 ? JSON.parse(r.body) : null;
    } catch {
      // not JSON (a download): keep the text
    }
    return { status: r.statusCode, body: parsed as T };
  };
  const must = async (token: string, method: string, url: string, body?: unknown) => {
    const r = await json<Record<string, unknown>>(token, method, url, body);
    if (r.status >= 300) throw new Error(`${method} ${url}: ${r.status} ${JSON.stringify(r.body)}`);
    return r;
  };
  // in hardened mode the bootstrap token administers nothing: the setup runs in a stepped-up admin session
  const setup = flags.requireStepUpForUserTokens === 1 ? await h.steppedUp('admin') : h.adminToken;
  await must(setup, 'POST', '/v1/projects', { name: 'ml' });
  await must(setup, 'POST', '/v1/principals', { kind: 'user', name: 'erin' });
  // the password first: setting it ends every credential erin had
  await must(setup, 'PUT', '/v1/auth/password', { principal: 'erin', password: ERIN_PASSWORD });
  const erinToken = (await must(setup, 'POST', '/v1/tokens', { principal: 'erin' })).body.token as string;
  for (const [name, tier] of [['secret', 'restricted'], ['open', 'internal']] as const) {
    await must(setup, 'POST', '/v1/projects/ml/artifacts', { name, kind: 'model', tier, environment: 'dev' });
    await h.push(setup, 'ml', name, Buffer.from(`weights of ${name}`));
    await must(setup, 'POST', '/v1/grants', { principal: 'erin', role: 'reader', project: 'ml', artifact: name });
  }
  const clients: S3Client[] = [];
  return {
    ...h,
    s3Url: s3.url,
    erinToken,
    json,
    async login(name, password) {
      const r = await json<Login & { status: string }>(null, 'POST', '/v1/auth/login', { name, password });
      if (r.status !== 200 || r.body.status !== 'authenticated') throw new Error(`login ${name}: ${r.status} ${JSON.stringify(r.body)}`);
      return r.body;
    },
    mint: (token, input = {}) => json(token, 'POST', '/v1/tokens', input),
    s3Key: (token, ttlSeconds) => json(token, 'POST', '/v1/s3/credentials', ttlSeconds === undefined ? {} : { ttlSeconds }),
    async s3Get(creds, bucket, key) {
      // the SDK signs with the harness's clock, as a client whose clock agrees with the server's
      const client = sdkClient(s3.url, creds, { clockOffsetMs: h.now() - Date.now() });
      clients.push(client);
      try {
        const out = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
        await out.Body?.transformToByteArray();
        return '200';
      } catch (err) {
        const e = err as { name?: string; Code?: string };
        return e.Code ?? e.name ?? 'unknown';
      }
    },
    async download(token, artifact) {
      const r = await json<{ error?: { code: string } }>(token, 'GET', `/v1/projects/ml/artifacts/${artifact}/versions/1/content`);
      return r.status === 200 ? '200' : (r.body?.error?.code ?? String(r.status));
    },
    async close() {
      for (const c of clients) c.destroy();
      s3.app.server.closeAllConnections();
      await s3.app.close();
      await h.close();
    },
  };
}
