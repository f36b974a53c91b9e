/**
 * Attack: read `/metrics` without any credential (penetration test of issue 11,
 * finding 17). Seen: anyone who reached the listener got the counts of locks, alerts
 * and per-route traffic, which tell an attacker what the server watches and whether a
 * probe raised an alert.
 *
 * Now: the main listener serves `/metrics` only with `metricsToken` configured and
 * presented as a bearer token (an API token, even an admin's, is not it); without a
 * token `/metrics` is not served there at all. `metricsListen` gives it a listener of
 * its own (for a private interface), which serves nothing else.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bootstrapAdmin, startInProcess } from '../support/index.js';

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function dataDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'coffer-metrics-'));
  dirs.push(dir);
  return join(dir, 'data');
}

const TOKEN = 'metrics-scrape-token-0123456789abcdef';

test('unauthenticated metrics scrape: by default the main listener does not serve /metrics', async () => {
  const server = await startInProcess(await dataDir());
  try {
    const r = await fetch(`${server.url}/metrics`);
    const body = await r.text();
    assert.equal(r.status, 404, body);
    assert.doesNotMatch(body, /coffer_/);
    assert.equal((JSON.parse(body) as { error: { code: string } }).error.code, 'COFFER_ROUTE_NOT_FOUND');
  } finally {
    await server.close();
  }
});

test('unauthenticated metrics scrape: with metricsToken, only that token opens /metrics', async () => {
  const server = await startInProcess(await dataDir(), { flags: { metricsToken: TOKEN } });
  try {
    const { token: adminToken } = await bootstrapAdmin(server.url, server.setupToken);
    const get = (authorization?: string) => fetch(`${server.url}/metrics`, authorization === undefined ? {} : { headers: { authorization } });
    const cases: Array<[string, string | undefined, number, string | null]> = [
      ['no credential', undefined, 401, 'COFFER_AUTH_REQUIRED'],
      ['wrong token', `Bearer ${TOKEN.slice(0, -1)}x`, 401, 'COFFER_AUTH_TOKEN_INVALID'],
      ['a prefix of the token', `Bearer ${TOKEN.slice(0, 8)}`, 401, 'COFFER_AUTH_TOKEN_INVALID'],
      ["an admin's API token", `Bearer ${adminToken}`, 401, 'COFFER_AUTH_TOKEN_INVALID'],
      ['basic auth', `Basic ${Buffer.from(`x:${TOKEN}`).toString('base64')}`, 401, 'COFFER_AUTH_REQUIRED'],
    ];
    for (const [label, authorization, status, code] of cases) {
      const r = await get(authorization);
      const body = await r.text();
      assert.equal(r.status, status, `${label}: ${body}`);
      assert.doesNotMatch(body, /coffer_/, label);
      assert.equal((JSON.parse(body) as { error: { code: string } }).error.code, code, label);
    }
    const ok = await get(`Bearer ${TOKEN}`);
    assert.equal(ok.status, 200);
    const text = await ok.text();
    assert.match(text, /coffer_http_requests_total/);
    assert.match(text, /coffer_monitor_/, 'the feature registries are served too');
  } finally {
    await server.close();
  }
});

test('unauthenticated metrics scrape: metricsListen serves /metrics on a listener of its own, and nothing else', async () => {
  const server = await startInProcess(await dataDir(), { flags: { metricsListen: '127.0.0.1:7079' } });
  try {
    assert.ok(server.metricsUrl !== null && server.metricsUrl !== server.url);
    const scraped = await fetch(`${server.metricsUrl}/metrics`);
    assert.equal(scraped.status, 200);
    assert.match(await scraped.text(), /coffer_http_requests_total/);
    // the API is not reachable there, and /metrics is not served on the main listener
    const api = await fetch(`${server.metricsUrl}/v1/health`);
    assert.equal(api.status, 404);
    await api.body?.cancel();
    const main = await fetch(`${server.url}/metrics`);
    assert.equal(main.status, 404);
    await main.body?.cancel();
  } finally {
    await server.close();
  }
});

test('unauthenticated metrics scrape: a short metricsToken is refused at startup', async () => {
  await assert.rejects(startInProcess(await dataDir(), { flags: { metricsToken: 'short' } }), /metricsToken/);
});
