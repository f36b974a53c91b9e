import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import pg from 'pg';
import { openPostgresStore } from '../../src/store/postgres/open-postgres-store.js';
import { assertChainIntact, chainOf, runMetadataStoreContract } from './metadata-store.contract.js';

// Runs the contract against PostgreSQL in a database created for this run and dropped
// after it, so concurrent runs never collide. COFFER_TEST_PG_URL names a database the
// role can connect to; the role needs CREATEDB.
const baseUrl = process.env.COFFER_TEST_PG_URL;

/** Creates a fresh database next to `baseUrl`'s and returns its URL and a drop function. */
async function freshDatabase(url: string): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `coffer_test_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  try {
    await admin.query(`create database ${name}`);
  } finally {
    await admin.end();
  }
  const fresh = new URL(url);
  fresh.pathname = `/${name}`;
  return {
    url: fresh.toString(),
    drop: async () => {
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      try {
        await c.query(`drop database if exists ${name} with (force)`);
      } finally {
        await c.end();
      }
    },
  };
}

if (baseUrl === undefined || baseUrl === '') {
  if (process.env.CI) {
    test('PostgreSQL metadata store contract', () => {
      assert.fail('COFFER_TEST_PG_URL is not set: CI must run the PostgreSQL contract suite');
    });
  } else {
    test('PostgreSQL metadata store contract', { skip: 'COFFER_TEST_PG_URL is not set: PostgreSQL contract suite skipped' }, () => {});
  }
} else {
  const pgUrl = baseUrl;
  runMetadataStoreContract('postgres', async () => {
    const db = await freshDatabase(pgUrl);
    const store = openPostgresStore(db.url);
    await store.migrate();
    return {
      store,
      openPeer: () => Promise.resolve(openPostgresStore(db.url)),
      cleanup: async () => {
        await store.close();
        await db.drop();
      },
    };
  });

  describe('PostgreSQL adapter specifics', () => {
    test('two instances migrating at once both succeed', async () => {
      const db = await freshDatabase(pgUrl);
      const a = openPostgresStore(db.url);
      const b = openPostgresStore(db.url);
      try {
        await Promise.all([a.migrate(), b.migrate()]);
        await a.putSetting('x', new Uint8Array([1]));
        assert.deepEqual(await b.getSetting('x'), new Uint8Array([1]));
      } finally {
        await a.close();
        await b.close();
        await db.drop();
      }
    });

    test('appends from several pools (as from several nodes) stay one chain', async () => {
      const db = await freshDatabase(pgUrl);
      const stores = [0, 1, 2].map(() => openPostgresStore(db.url, { maxConnections: 4 }));
      try {
        await stores[0]!.migrate();
        await Promise.all(
          stores.flatMap((s, k) => Array.from({ length: 30 }, (_, i) => s.appendAudit((tail) => chainOf(tail, 1 + ((i + k) % 3), `n${k}-${i}`)))),
        );
        const expected = stores.flatMap((_, k) => Array.from({ length: 30 }, (_, i) => 1 + ((i + k) % 3))).reduce((x, y) => x + y, 0);
        assert.equal(await assertChainIntact(stores[1]!), expected);
      } finally {
        for (const s of stores) await s.close();
        await db.drop();
      }
    });

    test('an unreachable server is a StorageError without connection details in the message', async () => {
      const store = openPostgresStore('postgres://coffer:secret-password@127.0.0.1:1/nowhere');
      try {
        await assert.rejects(store.ping(), (err: unknown) => {
          assert.equal((err as { code?: string }).code, 'COFFER_STORAGE_FAILED');
          assert.doesNotMatch((err as Error).message, /secret|127\.0\.0\.1/);
          return true;
        });
      } finally {
        await store.close();
      }
    });
  });
}
