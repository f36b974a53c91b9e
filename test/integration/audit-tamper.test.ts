import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, describe, test } from 'node:test';
import BetterSqlite3 from 'better-sqlite3';
import { CofferClient } from '../../src/client/index.js';
import type { CofferApiError } from '../../src/client/index.js';
import type { ExportedCheckpoint } from '../../src/audit/index.js';
import { bootstrapAdmin, runCli, startInProcess } from '../support/index.js';
import type { ConfigFlags } from '../support/index.js';

// Each case: real traffic through a real server into a fresh data dir, server stopped,
// then an attacker with write access to coffer.db edits `audit_records` directly;
// after a restart `GET /v1/audit/verify` and `coffer audit verify` must both fail and
// name the first bad record.

interface Row { seq: number; body: string; prev_hash: string; hash: string }

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

const sha = (body: string, prevHash: string) => createHash('sha256').update(body, 'utf8').update(Buffer.from(prevHash, 'hex')).digest('hex');

/** Allowed and denied traffic of every kind; returns the admin token. */
async function traffic(url: string, setupToken: string | null): Promise<string> {
  const { client: admin, token } = await bootstrapAdmin(url, setupToken);
  await admin.createProject({ name: 'vision' });
  await admin.createArtifact('vision', { name: 'resnet', kind: 'model', tier: 'restricted', environment: 'dev' });
  const data = Buffer.from('weights '.repeat(100));
  await admin.push('vision', 'resnet', Readable.from([data]), { size: data.length });
  await admin.createPrincipal({ kind: 'user', name: 'bob' });
  await admin.createGrant({ principal: 'bob', role: 'reader', project: 'vision', artifact: 'resnet', version: 1 });
  const bob = new CofferClient({ baseUrl: url, token: (await admin.createToken({ principal: 'bob' })).token });
  for await (const _ of (await bob.pull('vision', 'resnet', 1)).body) void _;
  await assert.rejects(bob.showProject('vision'), (e: CofferApiError) => e.code === 'COFFER_NOT_FOUND');
  await assert.rejects(bob.verifyAudit(), (e: CofferApiError) => e.code === 'COFFER_FORBIDDEN');
  await assert.rejects(new CofferClient({ baseUrl: url, token: 'coffer_pat_garbage' }).whoami(), (e: CofferApiError) => e.code === 'COFFER_AUTH_TOKEN_INVALID');
  return token;
}

interface Case {
  flags?: ConfigFlags;
  /**
   * Runs on the stopped server's database; returns the seq that verify must name, or
   * for a deleted tail the range it may name (records written after the restart, such
   * as the verify request's own attempt record, take the first free seqs).
   */
  attack: (db: BetterSqlite3.Database, held: ExportedCheckpoint) => number | { after: number; upTo: number };
  kind: string;
  /** Verify through the runtime with the checkpoint held outside the database (no API takes one). */
  withHeldCheckpoint?: boolean;
}

async function runCase(c: Case): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'coffer-tamper-'));
  dirs.push(dir);
  const dataDir = join(dir, 'data');
  let server = await startInProcess(dataDir, { flags: c.flags ?? {} });
  let token: string;
  let held: ExportedCheckpoint;
  try {
    token = await traffic(server.url, server.setupToken);
    const before = await new CofferClient({ baseUrl: server.url, token }).verifyAudit();
    assert.equal(before.ok, true, 'the genuine chain verifies');
    // what a careful operator keeps outside the database (no API exports it yet: runtime call)
    held = await server.runtime.audit.checkpoint();
  } finally {
    await server.close();
  }

  const db = new BetterSqlite3(join(dataDir, 'coffer.db'));
  let expected: number | { after: number; upTo: number };
  try {
    const count = (db.prepare('SELECT count(*) AS n FROM audit_records').get() as { n: number }).n;
    assert.ok(count >= 20, `enough records to tamper with (${count})`);
    expected = db.transaction(() => c.attack(db, held))();
  } finally {
    db.close();
  }

  const checkSeq = (seq: number | undefined, reason: string | undefined) => {
    if (typeof expected === 'number') assert.equal(seq, expected, reason);
    else assert.ok(seq !== undefined && seq > expected.after && seq <= expected.upTo, `seq ${seq} in (${expected.after}, ${expected.upTo}]: ${reason}`);
  };
  server = await startInProcess(dataDir, { flags: c.flags ?? {} });
  try {
    if (c.withHeldCheckpoint === true) {
      const r = await server.runtime.audit.verify({ checkpoint: held });
      assert.equal(r.ok, false, 'tail deletion is found against the held checkpoint');
      checkSeq(r.firstBad?.seq, r.firstBad?.reason);
      assert.equal(r.firstBad?.kind, c.kind, r.firstBad?.reason);
      return;
    }
    const r = await new CofferClient({ baseUrl: server.url, token }).verifyAudit();
    assert.equal(r.ok, false, `verify must fail: ${JSON.stringify(r)}`);
    checkSeq(r.firstBad?.seq, r.firstBad?.reason);
    assert.match(r.firstBad?.reason ?? '', new RegExp(`^${c.kind}: `));
    assert.ok(r.lastSeq < r.firstBad!.seq, 'nothing from the first bad record on counts as verified');

    const cli = await runCli(['audit', 'verify'], { env: { COFFER_URL: server.url, COFFER_TOKEN: token } });
    assert.equal(cli.code, 2, `coffer audit verify exits 2 on a broken chain: ${cli.stdout} ${cli.stderr}`);
    const m = /audit chain BROKEN at seq (\d+): (\w+): /.exec(cli.stdout);
    assert.ok(m, cli.stdout);
    checkSeq(Number(m[1]), cli.stdout);
    // the CLI's own verify request adds records: a truncated tail may then show as a checkpoint mismatch
    if (typeof expected === 'number') assert.equal(m[2], c.kind, cli.stdout);
  } finally {
    await server.close();
  }
}

const rowAt = (db: BetterSqlite3.Database, seq: number) => db.prepare('SELECT seq, body, prev_hash, hash FROM audit_records WHERE seq = ?').get(seq) as Row;
const maxSeq = (db: BetterSqlite3.Database) => (db.prepare('SELECT max(seq) AS m FROM audit_records').get() as { m: number }).m;

void describe('audit tampering in coffer.db is found after a restart', { timeout: 120_000 }, () => {
  void test('a changed body', async () => {
    await runCase({
      kind: 'changed',
      attack: (db) => {
        const target = (db.prepare(`SELECT seq FROM audit_records WHERE body LIKE '%"decision":"deny"%' ORDER BY seq LIMIT 1`).get() as { seq: number }).seq;
        const changed = db.prepare(`UPDATE audit_records SET body = replace(body, '"decision":"deny"', '"decision":"allow"') WHERE seq = ?`).run(target);
        assert.equal(changed.changes, 1);
        return target;
      },
    });
  });

  void test('a changed body with its own hash recomputed', async () => {
    await runCase({
      kind: 'changed',
      attack: (db) => {
        const r = rowAt(db, 9);
        const body = r.body.replace(/"actor":\{[^}]*\}/, '"actor":null');
        assert.notEqual(body, r.body);
        db.prepare('UPDATE audit_records SET body = ?, hash = ? WHERE seq = 9').run(body, sha(body, r.prev_hash));
        // the next record still links to the genuine hash: record 9 is the one blamed
        return 9;
      },
    });
  });

  void test('a deleted middle row', async () => {
    await runCase({
      kind: 'deleted',
      attack: (db) => {
        assert.equal(db.prepare('DELETE FROM audit_records WHERE seq = 8').run().changes, 1);
        return 8;
      },
    });
  });

  void test('a forged row inserted in the middle (later rows renumbered, forged row chained correctly)', async () => {
    await runCase({
      kind: 'inserted',
      attack: (db) => {
        const last = maxSeq(db);
        for (let s = last; s >= 11; s--) db.prepare('UPDATE audit_records SET seq = ? WHERE seq = ?').run(s + 1, s);
        const prev = rowAt(db, 10);
        const template = JSON.parse(prev.body) as Record<string, unknown>;
        const forgedBody = JSON.stringify(Object.fromEntries(Object.entries({ ...template, seq: 11, action: 'download', decision: 'allow', outcome: 'success' }).sort(([a], [b]) => (a < b ? -1 : 1))));
        db.prepare('INSERT INTO audit_records (seq, body, prev_hash, hash) VALUES (?, ?, ?, ?)').run(11, forgedBody, prev.hash, sha(forgedBody, prev.hash));
        return 11;
      },
    });
  });

  void test('two rows swapped', async () => {
    await runCase({
      kind: 'reordered',
      attack: (db) => {
        const a = rowAt(db, 6);
        const b = rowAt(db, 7);
        const set = db.prepare('UPDATE audit_records SET body = ?, prev_hash = ?, hash = ? WHERE seq = ?');
        set.run(b.body, b.prev_hash, b.hash, 6);
        set.run(a.body, a.prev_hash, a.hash, 7);
        return 6;
      },
    });
  });

  void test('a rewritten and fully re-chained range is caught by the stored signed checkpoints', async () => {
    await runCase({
      flags: { auditCheckpointEvery: 4 },
      kind: 'checkpoint',
      attack: (db) => {
        const last = maxSeq(db);
        let prev = rowAt(db, 4).hash;
        let firstChanged = 0;
        for (let s = 5; s <= last; s++) {
          const r = rowAt(db, s);
          const body = r.body.replace('"decision":"deny"', '"decision":"allow"');
          if (body !== r.body && firstChanged === 0) firstChanged = s;
          const hash = sha(body, prev);
          db.prepare('UPDATE audit_records SET body = ?, prev_hash = ?, hash = ? WHERE seq = ?').run(body, prev, hash, s);
          prev = hash;
        }
        assert.ok(firstChanged > 0, 'a deny record was rewritten');
        // the first stored checkpoint at or after the first rewritten record no longer matches
        const cp = (db.prepare('SELECT min(seq) AS s FROM audit_checkpoints WHERE seq >= ?').get(firstChanged) as { s: number | null }).s;
        assert.ok(cp !== null, 'a signed checkpoint covers the rewritten records');
        return cp;
      },
    });
  });

  void test('a deleted tail is caught by the stored signed checkpoint', async () => {
    await runCase({
      kind: 'truncated',
      attack: (db, held) => {
        assert.ok(held.seq >= 20);
        const keep = held.seq - 6;
        assert.equal(db.prepare('DELETE FROM audit_records WHERE seq > ?').run(keep).changes, held.seq - keep);
        return { after: keep, upTo: held.seq };
      },
    });
  });

  void test('a deleted tail with the stored checkpoints deleted too is caught by the checkpoint held outside', async () => {
    await runCase({
      kind: 'truncated',
      withHeldCheckpoint: true,
      attack: (db, held) => {
        const keep = held.seq - 5;
        db.prepare('DELETE FROM audit_records WHERE seq > ?').run(keep);
        db.prepare('DELETE FROM audit_checkpoints').run();
        return keep + 1;
      },
    });
  });
});
