/**
 * Attack: edit the audit log while the server is stopped (penetration test of issue 11,
 * finding 12). Seen: deleting the tail of `audit_records`, or rewriting a record after
 * the last checkpoint and re-hashing the chain from there, passed `audit verify`; and
 * the stored checkpoints could be deleted along with the records they pin.
 *
 * Now: checkpoints are signed by count, by time and at shutdown, and each is appended
 * to a witness outside the database (a file beside it by default, optionally a webhook
 * and syslog). `audit verify` checks the chain against the newest witness entry and
 * says how much of the chain it covers.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { CofferClient, type VerifyInfo } from '../../src/client/index.js';
import { bootstrapAdmin, runCli, startInProcess, waitFor, type ConfigFlags, type InProcessServer } from '../support/index.js';

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

const sha = (body: string, prevHash: string) => createHash('sha256').update(body, 'utf8').update(Buffer.from(prevHash, 'hex')).digest('hex');
interface Row { seq: number; body: string; prev_hash: string; hash: string }

/** A server with some traffic, stopped; returns its data dir and the admin token. */
async function stoppedServer(flags: ConfigFlags = {}): Promise<{ dataDir: string; token: string; lastSeq: number }> {
  const dir = await mkdtemp(join(tmpdir(), 'coffer-witness-'));
  dirs.push(dir);
  const dataDir = join(dir, 'data');
  const server = await startInProcess(dataDir, { flags });
  try {
    const { client, token } = await bootstrapAdmin(server.url, server.setupToken);
    await client.createProject({ name: 'vision' });
    for (let i = 0; i < 6; i++) await client.createPrincipal({ kind: 'user', name: `user${i}` });
    await assert.rejects(new CofferClient({ baseUrl: server.url, token: 'coffer_pat_garbage' }).whoami());
    const r = await client.verifyAudit();
    assert.equal(r.ok, true);
    return { dataDir, token, lastSeq: r.lastSeq };
  } finally {
    await server.close();
  }
}

function tamper<T>(dataDir: string, attack: (db: BetterSqlite3.Database) => T): T {
  const db = new BetterSqlite3(join(dataDir, 'coffer.db'));
  try {
    return db.transaction(() => attack(db))();
  } finally {
    db.close();
  }
}

async function verifyAfterRestart(dataDir: string, token: string, flags: ConfigFlags = {}): Promise<{ r: VerifyInfo; cli: { code: number | null; stdout: string } }> {
  const server: InProcessServer = await startInProcess(dataDir, { flags });
  try {
    const r = await new CofferClient({ baseUrl: server.url, token }).verifyAudit();
    const cli = await runCli(['audit', 'verify'], { env: { COFFER_URL: server.url, COFFER_TOKEN: token } });
    return { r, cli };
  } finally {
    await server.close();
  }
}

const maxSeq = (db: BetterSqlite3.Database) => (db.prepare('SELECT max(seq) AS m FROM audit_records').get() as { m: number }).m;

test('offline tail truncation, its checkpoints deleted with it, is found against the witness', async () => {
  const { dataDir, token, lastSeq } = await stoppedServer();
  const kept = tamper(dataDir, (db) => {
    const cut = lastSeq - 5;
    db.prepare('DELETE FROM audit_records WHERE seq > ?').run(cut);
    // every stored checkpoint goes too: nothing in the database remembers the tail
    db.prepare('DELETE FROM audit_checkpoints').run();
    return cut;
  });
  const { r, cli } = await verifyAfterRestart(dataDir, token);
  assert.equal(r.ok, false, JSON.stringify(r));
  assert.match(r.firstBad?.reason ?? '', /^(truncated|checkpoint): /);
  assert.ok(r.firstBad!.seq > kept, `the fault is after the kept records: ${JSON.stringify(r.firstBad)}`);
  assert.equal(cli.code, 2, cli.stdout);
  assert.match(cli.stdout, /audit chain BROKEN at seq \d+: (truncated|checkpoint): /);
});

test('offline rewrite of records after the last count checkpoint, chain re-hashed, is found (shutdown checkpoint, witness)', async () => {
  const { dataDir, token } = await stoppedServer({ auditCheckpointEvery: 10 });
  const target = tamper(dataDir, (db) => {
    const cps = db.prepare('SELECT seq FROM audit_checkpoints ORDER BY seq').all() as Array<{ seq: number }>;
    const last = maxSeq(db);
    // the newest count checkpoint, below the shutdown one at the very tail
    const counted = cps.map((c) => c.seq).filter((s) => s < last).pop()!;
    const rows = db.prepare('SELECT seq, body, prev_hash, hash FROM audit_records WHERE seq > ? ORDER BY seq').all(counted) as Row[];
    let prev = (db.prepare('SELECT hash FROM audit_records WHERE seq = ?').get(counted) as { hash: string }).hash;
    let first = 0;
    for (const row of rows) {
      const body = row.body.replace('"outcome":"denied"', '"outcome":"success"').replace('"decision":"deny"', '"decision":"allow"');
      if (body !== row.body && first === 0) first = row.seq;
      const hash = sha(body, prev);
      db.prepare('UPDATE audit_records SET body = ?, prev_hash = ?, hash = ? WHERE seq = ?').run(body, prev, hash, row.seq);
      prev = hash;
    }
    assert.ok(first > 0, 'a refusal after the last count checkpoint was rewritten');
    // and the checkpoints after that one are deleted, so only the witness knows the genuine tail
    db.prepare('DELETE FROM audit_checkpoints WHERE seq > ?').run(counted);
    return first;
  });
  const { r } = await verifyAfterRestart(dataDir, token, { auditCheckpointEvery: 10 });
  assert.equal(r.ok, false, JSON.stringify(r));
  assert.match(r.firstBad?.reason ?? '', /^checkpoint: /);
  assert.ok(r.firstBad!.seq >= target, JSON.stringify(r.firstBad));
});

test('every stored checkpoint deleted and a middle record rewritten with the whole chain re-hashed is found against the witness', async () => {
  const { dataDir, token } = await stoppedServer({ auditCheckpointEvery: 5 });
  tamper(dataDir, (db) => {
    db.prepare('DELETE FROM audit_checkpoints').run();
    const rows = db.prepare('SELECT seq, body, prev_hash, hash FROM audit_records WHERE seq >= 3 ORDER BY seq').all() as Row[];
    let prev = rows[0]!.prev_hash;
    for (const row of rows) {
      const body = row.seq === 3 ? row.body.replace(/"actor":\{[^}]*\}/, '"actor":null') : row.body;
      const hash = sha(body, prev);
      db.prepare('UPDATE audit_records SET body = ?, prev_hash = ?, hash = ? WHERE seq = ?').run(body, prev, hash, row.seq);
      prev = hash;
    }
  });
  const { r } = await verifyAfterRestart(dataDir, token, { auditCheckpointEvery: 5 });
  assert.equal(r.ok, false, JSON.stringify(r));
  assert.match(r.firstBad?.reason ?? '', /^checkpoint: /);
});

test('verify reports coverage: the witness, its newest entry, and the records after it as unwitnessed', async () => {
  const { dataDir, token, lastSeq } = await stoppedServer();
  const server = await startInProcess(dataDir);
  try {
    const client = new CofferClient({ baseUrl: server.url, token });
    await client.createPrincipal({ kind: 'user', name: 'late' });
    const r = await client.verifyAudit();
    assert.equal(r.ok, true, JSON.stringify(r));
    assert.equal(r.witness?.source, join(dataDir, 'audit-witness.jsonl'));
    assert.equal(r.witness?.fault, null);
    // the shutdown checkpoint covered everything up to the stop (the shutdown's own records included)
    assert.ok(r.witnessedSeq! >= lastSeq, JSON.stringify(r));
    assert.equal(r.unwitnessed, r.lastSeq - r.witnessedSeq!);
    assert.ok(r.unwitnessed > 0, 'the records since the restart are not witnessed yet');
    const cli = await runCli(['audit', 'verify'], { env: { COFFER_URL: server.url, COFFER_TOKEN: token } });
    assert.match(cli.stdout, /audit chain intact: \d+ records/);
    assert.match(cli.stdout, new RegExp(`witnessed up to seq ${r.witnessedSeq} .*; \\d+ records after it are unwitnessed`));
  } finally {
    await server.close();
  }
});

test('checkpoints by time: records are witnessed within the interval without reaching the count', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'coffer-witness-'));
  dirs.push(dir);
  const server = await startInProcess(join(dir, 'data'), { flags: { auditCheckpointSeconds: 1 } });
  try {
    const { client } = await bootstrapAdmin(server.url, server.setupToken);
    await client.createProject({ name: 'timed' });
    const last = (await client.verifyAudit()).lastSeq;
    await waitFor('a timed checkpoint', async () => (((await client.verifyAudit()).witnessedSeq ?? 0) >= last ? true : undefined), { timeoutMs: 5000 });
    const lines = (await readFile(join(dir, 'data', 'audit-witness.jsonl'), 'utf8')).trim().split('\n');
    assert.ok(lines.length >= 1);
    const entry = JSON.parse(lines.at(-1)!) as { seq: number; signature: string; node: string };
    assert.match(entry.signature, /^[0-9a-f]{128}$/);
  } finally {
    await server.close();
  }
});

test('a witness file with a line removed from the middle fails verification', async () => {
  const { dataDir, token } = await stoppedServer({ auditCheckpointEvery: 3 });
  const path = join(dataDir, 'audit-witness.jsonl');
  const lines = (await readFile(path, 'utf8')).trim().split('\n');
  assert.ok(lines.length >= 3, `${lines.length} witness lines`);
  lines.splice(1, 1);
  await writeFile(path, `${lines.join('\n')}\n`);
  const { r } = await verifyAfterRestart(dataDir, token, { auditCheckpointEvery: 3 });
  assert.equal(r.ok, false);
  assert.match(r.firstBad?.reason ?? '', /^witness: .*line 2: does not follow the line before it/);
});

test('remote witness: each checkpoint is POSTed, signed, to the configured webhook', async () => {
  const received: Array<{ type: string; publicKey: string; checkpoint: { seq: number; signature: string } }> = [];
  const receiver: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString('utf8')));
    req.on('end', () => {
      assert.ok(req.headers['x-coffer-signature'], 'the delivery is signed');
      received.push(JSON.parse(body) as (typeof received)[number]);
      res.end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  const port = (receiver.address() as { port: number }).port;
  try {
    const { token } = await stoppedServer({ auditCheckpointEvery: 5, auditWitnessWebhookUrl: `http://127.0.0.1:${port}/witness`, auditWitnessWebhookSecret: 'a-long-enough-witness-secret' });
    assert.ok(token.length > 0);
    assert.ok(received.length >= 2, `${received.length} checkpoints received`);
    assert.ok(received.every((n) => n.type === 'coffer.audit-checkpoint' && /^[0-9a-f]{128}$/.test(n.checkpoint.signature) && n.publicKey.length > 0));
    const seqs = received.map((n) => n.checkpoint.seq);
    assert.deepEqual([...seqs].sort((a, b) => a - b), seqs, 'in order');
  } finally {
    await new Promise<void>((resolve) => receiver.close(() => resolve()));
  }
});
