import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { CofferApiError, CofferClient } from '../../src/client/index.js';
import { bootstrapAdmin, findRecords, parseAuditExport, readText, startInProcess } from '../support/index.js';
import type { InProcessServer } from '../support/index.js';
import { pgAdmin } from '../support/postgres.js';

// The core story of the foundation issue with PostgreSQL as the metadata store, in
// process: a fresh database made from COFFER_TEST_PG_URL for this file, dropped after.

const baseUrl = process.env.COFFER_TEST_PG_URL;
const inCi = process.env.CI !== undefined && process.env.CI !== '' && process.env.CI !== 'false';
const skip = baseUrl === undefined || baseUrl === '' ? (inCi ? false : 'skipped: set COFFER_TEST_PG_URL (e.g. postgres://coffer:coffer@127.0.0.1:5432/coffer_test) to run the PostgreSQL flow') : false;

async function collect(body: Readable): Promise<Buffer> {
  return Buffer.concat(await body.toArray());
}

void describe('PostgreSQL: the core flow in process', { skip, timeout: 120_000 }, () => {
  const dbName = `coffer_it_${randomBytes(6).toString('hex')}`;
  let dbUrl: string;
  let dir: string;
  let server: InProcessServer | undefined;
  let created = false;

  before(async () => {
    // INVARIANT: in CI the PostgreSQL tests never silently vanish
    assert.ok(baseUrl, 'CI is set but COFFER_TEST_PG_URL is not: the PostgreSQL flow must run in CI');
    const u = new URL(baseUrl);
    u.pathname = `/${dbName}`;
    dbUrl = u.toString();
    await pgAdmin(baseUrl, `CREATE DATABASE ${dbName}`);
    created = true;
    dir = await mkdtemp(join(tmpdir(), 'coffer-pg-'));
  });

  after(async () => {
    await server?.close();
    if (created && baseUrl) await pgAdmin(baseUrl, `DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  void test('push, grant one version, pull, hidden things are "not found", audit verifies, and it all survives a restart', async () => {
    const dataDir = join(dir, 'data');
    server = await startInProcess(dataDir, { flags: { databaseUrl: dbUrl } });
    const { client: alice, token: aliceToken } = await bootstrapAdmin(server.url, server.setupToken);
    await alice.createProject({ name: 'vision' });
    await alice.createProject({ name: 'other-team' });
    await alice.createArtifact('vision', { name: 'resnet', kind: 'model', tier: 'restricted', environment: 'dev' });
    await alice.createArtifact('vision', { name: 'secret-data', kind: 'dataset', tier: 'restricted', environment: 'dev' });
    const v1 = randomBytes(2 * 1024 * 1024 + 17);
    const v2 = Buffer.from('second version');
    assert.equal((await alice.push('vision', 'resnet', Readable.from([v1]), { size: v1.length })).number, 1);
    assert.equal((await alice.push('vision', 'resnet', Readable.from([v2]), { size: v2.length })).number, 2);
    await alice.push('vision', 'secret-data', Readable.from([v2]), { size: v2.length });
    await alice.createPrincipal({ kind: 'user', name: 'bob' });
    await alice.createGrant({ principal: 'bob', role: 'reader', project: 'vision', artifact: 'resnet', version: 1 });
    const bobToken = (await alice.createToken({ principal: 'bob' })).token;

    const runAsBob = async () => {
      const bob = new CofferClient({ baseUrl: server!.url, token: bobToken });
      assert.equal((await bob.whoami()).name, 'bob');
      assert.ok((await collect((await bob.pull('vision', 'resnet', 1)).body)).equals(v1), 'bob pulls v1 byte for byte');
      const messages: string[] = [];
      for (const [p, a, v] of [['vision', 'resnet', 2], ['vision', 'resnet', 9], ['vision', 'secret-data', 1], ['vision', 'ghost', 1], ['other-team', 'x', 1], ['nope', 'x', 1]] as const) {
        await assert.rejects(bob.pull(p, a, v), (err: unknown) => {
          assert.ok(err instanceof CofferApiError);
          assert.deepEqual({ status: err.status, code: err.code }, { status: 404, code: 'COFFER_NOT_FOUND' }, `${p}/${a}@${v}`);
          messages.push(err.message.replace(/`[^`]*`/g, '`NAME`'));
          return true;
        });
      }
      assert.equal(new Set(messages).size, 1, `hidden and missing look alike: ${[...new Set(messages)].join(' | ')}`);
      const hidden = await bob.showProject('other-team').catch((e: CofferApiError) => e);
      const missing = await bob.showProject('nope').catch((e: CofferApiError) => e);
      assert.ok(hidden instanceof CofferApiError && missing instanceof CofferApiError);
      assert.equal(hidden.message.replace('other-team', 'X'), missing.message.replace('nope', 'X'));
      assert.deepEqual((await bob.showArtifact('vision', 'resnet')).versions.map((v) => v.number), [1]);
    };
    await runAsBob();

    const verify = await alice.verifyAudit();
    assert.equal(verify.ok, true, JSON.stringify(verify));
    const records = parseAuditExport(await readText(await alice.exportAudit()));
    assert.ok(findRecords(records, { action: 'download', resource: 'project/vision/artifact/resnet@1', decision: 'allow', outcome: 'success', actor: 'bob' }).length === 1);
    assert.ok(findRecords(records, { action: 'download', resource: 'project/vision/artifact/resnet@2', decision: 'deny', outcome: 'denied', reason: 'COFFER_NOT_FOUND', actor: 'bob' }).length === 1);
    assert.ok(findRecords(records, { action: 'grant', resource: 'project/vision/artifact/resnet@1', decision: 'allow', outcome: 'success', actor: 'alice' }).length === 1);
    assert.ok(findRecords(records, { action: 'upload', outcome: 'success', actor: 'alice' }).length === 3);

    // the metadata really lives in PostgreSQL: the chain is in its audit_records
    const pgc = new pg.Client({ connectionString: dbUrl });
    await pgc.connect();
    try {
      const { rows } = await pgc.query<{ n: string }>('SELECT count(*) AS n FROM audit_records');
      assert.ok(Number(rows[0]!.n) >= records.length, `audit_records holds the chain (${rows[0]!.n})`);
    } finally {
      await pgc.end();
    }

    await server.close();
    server = await startInProcess(dataDir, { flags: { databaseUrl: dbUrl } });
    assert.equal(server.setupToken, null, 'the admin persisted: no new setup token');
    await runAsBob();
    const again = await new CofferClient({ baseUrl: server.url, token: aliceToken }).verifyAudit();
    assert.equal(again.ok, true, JSON.stringify(again));
    assert.ok(again.lastSeq > verify.lastSeq);
  });
});
