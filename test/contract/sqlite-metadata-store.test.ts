import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { sql } from 'kysely';
import { openSqliteStore } from '../../src/store/sqlite/open-sqlite-store.js';
import type { SqlMetadataStore } from '../../src/store/sql/sql-metadata-store.js';
import { assertChainIntact, runMetadataStoreContract } from './metadata-store.contract.js';

const run = promisify(execFile);

runMetadataStoreContract('sqlite (file)', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'coffer-sqlite-'));
  const store = openSqliteStore(join(dir, 'coffer.db'));
  await store.migrate();
  return {
    store,
    cleanup: async () => {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
});

describe('SQLite adapter specifics', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'coffer-sqlite-x-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  test('the database is durable: WAL, synchronous=FULL, foreign keys on, owner-only file', async () => {
    const path = join(dir, 'sub', 'pragmas.db');
    const store = openSqliteStore(path);
    await store.migrate();
    const pragma = async (name: string) => {
      const { rows } = await sql<Record<string, unknown>>`pragma ${sql.raw(name)}`.execute(store.kysely);
      return Object.values(rows[0] ?? {})[0];
    };
    assert.equal(await pragma('journal_mode'), 'wal');
    assert.equal(await pragma('synchronous'), 2);
    assert.equal(await pragma('foreign_keys'), 1);
    assert.equal(await pragma('busy_timeout'), 5000);
    assert.equal((await stat(path)).mode & 0o777, 0o600);
    await store.close();
  });

  test(':memory: works for tests', async () => {
    const store = openSqliteStore(':memory:');
    await store.migrate();
    await store.putSetting('a', new Uint8Array([1]));
    assert.deepEqual(await store.getSetting('a'), new Uint8Array([1]));
    await store.close();
  });

  test('data survives reopening', async () => {
    const path = join(dir, 'reopen.db');
    let store: SqlMetadataStore = openSqliteStore(path);
    await store.migrate();
    await store.appendAudit(() => [{ seq: 1, body: '{}', prevHash: 'x', hash: 'y' }]);
    await store.close();
    store = openSqliteStore(path);
    await store.migrate();
    assert.equal((await store.lastAudit())?.hash, 'y');
    await store.close();
  });

  test('an unopenable path is a StorageError without the path in the message', async () => {
    await writeFile(join(dir, 'plain-file'), 'not a directory');
    assert.throws(
      () => openSqliteStore(join(dir, 'plain-file', 'x.db')),
      (err: unknown) => (err as { code?: string }).code === 'COFFER_STORAGE_FAILED' && !(err as Error).message.includes('plain-file'),
    );
  });

  test('a full database is StorageFullError and leaves the audit log unchanged', async () => {
    const store = openSqliteStore(join(dir, 'full.db'));
    await store.migrate();
    await store.appendAudit(() => [{ seq: 1, body: '{}', prevHash: 'x', hash: 'y' }]);
    const { rows } = await sql<{ page_count: number }>`pragma page_count`.execute(store.kysely);
    await sql`pragma ${sql.raw(`max_page_count = ${rows[0]!.page_count}`)}`.execute(store.kysely);
    await assert.rejects(
      store.appendAudit(() => [{ seq: 2, body: 'x'.repeat(200_000), prevHash: 'y', hash: 'z' }]),
      (err: unknown) => (err as { code?: string }).code === 'COFFER_STORAGE_FULL' && !(err as Error).message.includes('SQLITE'),
    );
    await assert.rejects(store.putSetting('big', new Uint8Array(100_000)), (err: unknown) => (err as { code?: string }).code === 'COFFER_STORAGE_FULL');
    assert.equal((await store.lastAudit())?.seq, 1);
    await store.close();
  });

  test('appends from several processes stay one chain; version numbers never fork', { timeout: 120_000 }, async () => {
    const path = join(dir, 'multi.db');
    const store = openSqliteStore(path);
    await store.migrate();
    const now = Date.now();
    await store.createProject({ id: 'prj_1', name: 'p', description: '', createdBy: 'x', createdAt: now });
    await store.createArtifact({
      id: 'art_1', projectId: 'prj_1', name: 'a', kind: 'model', tier: 'internal', environment: 'dev', ownerId: 'x', labels: {}, createdAt: now,
    });
    const self = fileURLToPath(import.meta.url);
    const worker = join(self, '..', `sqlite-append-worker${extname(self)}`);
    const appends = 25;
    const children = ['w1', 'w2', 'w3'].map((label) =>
      run(process.execPath, [...process.execArgv.filter((a) => !a.startsWith('--test')), worker, path, label, String(appends), 'art_1'], {
        timeout: 100_000,
      }),
    );
    const outputs = (await Promise.all(children)).map((r) => JSON.parse(r.stdout) as { created: number; conflicts: number });
    const perChild = Array.from({ length: appends }, (_, i) => 1 + (i % 2)).reduce((a, b) => a + b, 0);
    assert.equal(await assertChainIntact(store), 3 * perChild);
    const created = outputs.reduce((a, o) => a + o.created, 0);
    assert.equal(created + outputs.reduce((a, o) => a + o.conflicts, 0), 3 * appends);
    assert.equal(await store.latestVersionNumber('art_1'), created);
    const numbers = (await store.listVersions('art_1', { limit: 1000 })).items.map((v) => v.number);
    assert.deepEqual(numbers, Array.from({ length: created }, (_, i) => i + 1));
    await store.close();
  });
});
