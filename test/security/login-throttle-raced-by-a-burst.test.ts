/**
 * Attack (issue 11, finding 5): the login throttle checked first and counted failures
 * later, so one burst of 30 concurrent logins had 29 wrong passwords checked, and the
 * right password in the same burst logged in. Each attempt is now reserved (counted,
 * and the key blocked at the limit) in one statement before any password is verified.
 * Run on SQLite and PostgreSQL, with the burst spread over two nodes on one database.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { loadConfig } from '../../src/config/index.js';
import { ACCOUNT_RULE, ADDRESS_RULE, SECOND_FACTOR_RULE } from '../../src/identity/login-throttle.js';
import { openRuntime } from '../../src/runtime/open-runtime.js';
import type { Runtime } from '../../src/runtime/open-runtime.js';
import { buildApp } from '../../src/server/app.js';
import { DIALECTS } from './dialects.js';
import type { TestDatabase } from './dialects.js';

const PASSWORD = 'quartz-meadow-falcon-77';

interface Node {
  runtime: Runtime;
  app: FastifyInstance;
}

async function openNode(db: TestDatabase, name: string, rootKey: string, clock: () => number): Promise<Node> {
  const config = loadConfig({ flags: { dataDir: db.url === null ? db.dir : join(db.dir, name), listen: '127.0.0.1:0', logLevel: 'silent', rootKey, ...(db.url !== null ? { databaseUrl: db.url } : {}) } });
  const runtime = await openRuntime(config, { clock, warn: () => undefined });
  const app = await buildApp({ service: runtime.service, ready: () => runtime.store.ping(), logLevel: 'silent', extensions: runtime.routes, publicRoutes: runtime.publicRoutes });
  return { runtime, app };
}

for (const dialect of DIALECTS) {
  void describe(`attack: a burst of logins races the throttle (${dialect.name}, two nodes)`, { skip: dialect.skip, timeout: 120_000 }, () => {
    let db: TestDatabase;
    let a: Node;
    let b: Node;
    let time = Date.UTC(2030, 0, 1);
    before(async () => {
      db = await dialect.open();
      const rootKey = randomBytes(32).toString('base64');
      a = await openNode(db, 'a', rootKey, () => time);
      const boot = await a.app.inject({ method: 'POST', url: '/v1/bootstrap', payload: { setupToken: a.runtime.setupToken, name: 'admin' } });
      assert.equal(boot.statusCode, 201, boot.body);
      const admin = boot.json<{ token: string }>().token;
      for (const [url, payload] of [['/v1/principals', { kind: 'user', name: 'erin' }], ['/v1/principals', { kind: 'user', name: 'fred' }]] as const) {
        assert.equal((await a.app.inject({ method: 'POST', url, headers: { authorization: `Bearer ${admin}` }, payload })).statusCode, 201);
      }
      for (const principal of ['erin', 'fred']) {
        assert.equal((await a.app.inject({ method: 'PUT', url: '/v1/auth/password', headers: { authorization: `Bearer ${admin}` }, payload: { principal, password: PASSWORD } })).statusCode, 204);
      }
      b = await openNode(db, 'b', rootKey, () => time);
    });
    after(async () => {
      for (const n of [a, b]) {
        await n?.app.close();
        await n?.runtime.close();
      }
      await db?.drop();
    });

    const login = (node: Node, name: string, password: string, ip: string) =>
      node.app.inject({ method: 'POST', url: '/v1/auth/login', payload: { name, password }, remoteAddress: ip }).then((r) => r.statusCode);

    test('30 concurrent logins, 29 wrong and the right one last: at most the free attempts are verified', async () => {
      const burst = Array.from({ length: 30 }, (_, i) => login(i % 2 === 0 ? a : b, 'erin', i === 29 ? PASSWORD : `wrong-guess-${i}`, `198.51.100.${i + 1}`));
      const statuses = await Promise.all(burst);
      const verified = statuses.filter((s) => s !== 429);
      assert.ok(verified.length <= ACCOUNT_RULE.freeFailures, `verified ${verified.length}: ${statuses.join(' ')}`);
      assert.equal(statuses.filter((s) => s === 429).length, 30 - verified.length);
      // the account stays blocked for the next try too, on either node
      assert.equal(await login(b, 'erin', PASSWORD, '198.51.100.200'), 429);
      assert.equal(await login(a, 'erin', PASSWORD, '198.51.100.201'), 429);
      // after the block, the right password works and clears the account's counter
      time += 16 * 60_000;
      assert.equal(await login(a, 'erin', PASSWORD, '198.51.100.202'), 200);
      assert.equal(await login(b, 'erin', 'wrong-again', '198.51.100.203'), 401, 'a success cleared the count');
    });

    test('one address spraying many names concurrently is held to its own limit, across nodes', async () => {
      time += 2 * 3600_000;
      const names = Array.from({ length: 50 }, (_, i) => `spray-${i}`);
      const statuses = await Promise.all(names.map((n, i) => login(i % 2 === 0 ? a : b, n, 'x', '203.0.113.9')));
      const verified = statuses.filter((s) => s !== 429).length;
      assert.ok(verified <= ADDRESS_RULE.freeFailures, `verified ${verified}`);
      assert.equal(await login(a, 'fred', PASSWORD, '203.0.113.9'), 429, 'even the right password of another account from that address');
      assert.equal(await login(b, 'fred', PASSWORD, '203.0.113.10'), 200, 'other addresses are not concerned');
    });

    test('the store counts concurrent reservations exactly: the free ones, then blocked', async () => {
      const store = a.runtime.identity.identityStore;
      const counting = { windowMs: 60_000, free: 5, blocksMs: [1000, 2000] };
      const key = `test:${randomBytes(4).toString('hex')}`;
      const results = await Promise.all(Array.from({ length: 40 }, () => store.reserveThrottle(key, time, counting)));
      assert.equal(results.filter((r) => r.counted).length, 5);
      assert.deepEqual(results.filter((r) => r.counted).map((r) => r.failures).sort((x, y) => x - y), [1, 2, 3, 4, 5], 'each counted attempt saw its own count');
      assert.equal((await store.reserveThrottle(key, time + 999, counting)).counted, false);
      const after = await store.reserveThrottle(key, time + 1000, counting);
      assert.deepEqual(after, { counted: true, failures: 6, blockedUntil: time + 1000 + 2000 }, 'one attempt after the block, which blocks longer');
      // a window later, the count starts again
      assert.equal((await store.reserveThrottle(key, time + 1000 + 61_000, counting)).failures, 1);
      assert.ok(SECOND_FACTOR_RULE.windowMs > ACCOUNT_RULE.windowMs);
    });
  });
}
