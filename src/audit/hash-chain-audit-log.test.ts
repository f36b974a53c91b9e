import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createReadStream } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AuditUnavailableError, CofferError } from '../domain/errors.js';
import type { AuditEvent } from './audit-event.js';
import { generateAuditKeys, hmacSensitive } from './audit-keys.js';
import { JsonLinesFileSink } from './audit-sink.js';
import { GENESIS_HASH } from './audit-record.js';
import { checkpointSignatureValid } from './checkpoint.js';
import { HashChainAuditLog, type AuditLogOptions } from './hash-chain-audit-log.js';
import { openSqliteStore } from '../store/sqlite/open-sqlite-store.js';
import { openTestStore, sampleEvent, type TestStore } from './test-support.js';
import { verifyExport } from './verify-export.js';

async function withLog(
  options: AuditLogOptions,
  fn: (log: HashChainAuditLog, t: TestStore, keys: ReturnType<typeof generateAuditKeys>) => Promise<void>,
): Promise<void> {
  const t = await openTestStore();
  const keys = generateAuditKeys();
  const log = new HashChainAuditLog(t.store, keys, options);
  try {
    await fn(log, t, keys);
  } finally {
    await log.close();
    await t.close();
  }
}

async function collect(it: AsyncIterable<string>): Promise<string[]> {
  const out: string[] = [];
  for await (const line of it) out.push(line);
  return out;
}

void test('records get contiguous seqs from 1 and the chain verifies', async () => {
  await withLog({}, async (log) => {
    assert.deepEqual(await log.verify(), { ok: true, checked: 0, lastSeq: 0, lastHash: GENESIS_HASH });
    for (let i = 1; i <= 30; i++) assert.deepEqual(await log.record(sampleEvent(i)), { seq: i });
    const r = await log.verify();
    assert.equal(r.ok, true);
    assert.equal(r.checked, 30);
    assert.equal(r.lastSeq, 30);
    assert.match(r.lastHash, /^[0-9a-f]{64}$/);
  });
});

void test('group commit: 200 concurrent records form one contiguous chain in arrival order with few appends', async () => {
  await withLog({}, async (log, t) => {
    const results = await Promise.all(Array.from({ length: 200 }, (_, i) => log.record(sampleEvent(i))));
    assert.deepEqual(results.map((r) => r.seq), Array.from({ length: 200 }, (_, i) => i + 1));
    assert.ok(t.appendCalls() < 200, `appendAudit called ${t.appendCalls()} times for 200 records`);
    assert.ok(t.appendCalls() <= 2);
    // concurrent waves while appends are in flight still batch
    const before = t.appendCalls();
    const waves = [];
    for (let w = 0; w < 5; w++) {
      waves.push(...Array.from({ length: 40 }, (_, i) => log.record(sampleEvent(1000 + w * 40 + i))));
      await new Promise((r) => setImmediate(r));
    }
    const seqs = (await Promise.all(waves)).map((r) => r.seq);
    assert.deepEqual(seqs, Array.from({ length: 200 }, (_, i) => 201 + i));
    assert.ok(t.appendCalls() - before < 200);
    const v = await log.verify();
    assert.equal(v.ok, true);
    assert.equal(v.lastSeq, 400);
    const lines = await collect(log.export());
    const requestIds = lines.map((l) => (JSON.parse(l) as { body: { requestId: string } }).body.requestId);
    assert.deepEqual(requestIds.slice(0, 3), ['req-0', 'req-1', 'req-2']);
  });
});

async function expectAllUnavailable(promises: Promise<unknown>[]): Promise<void> {
  const settled = await Promise.allSettled(promises);
  for (const f of settled) {
    assert.equal(f.status, 'rejected');
    assert.ok(f.reason instanceof AuditUnavailableError, String(f.reason));
  }
}

void test('fail closed: while another writer holds the database lock, every waiting record rejects; then the log recovers', async () => {
  const t = await openTestStore({ busyTimeoutMs: 50 });
  const log = new HashChainAuditLog(t.store, generateAuditKeys());
  try {
    await Promise.all(Array.from({ length: 5 }, (_, i) => log.record(sampleEvent(i))));
    const other = t.raw();
    other.exec('BEGIN EXCLUSIVE');
    await expectAllUnavailable(Array.from({ length: 20 }, (_, i) => log.record(sampleEvent(100 + i))));
    await assert.rejects(log.checkpoint(), AuditUnavailableError);
    other.exec('COMMIT');
    const after = await Promise.all(Array.from({ length: 10 }, (_, i) => log.record(sampleEvent(200 + i))));
    assert.deepEqual(after.map((r) => r.seq), Array.from({ length: 10 }, (_, i) => 6 + i));
    const v = await log.verify();
    assert.deepEqual([v.ok, v.lastSeq], [true, 15]);
  } finally {
    await log.close();
    await t.close();
  }
});

void test('fail closed: when the database rejects the insert, records reject; once it accepts again the chain continues unforked', async () => {
  await withLog({}, async (log, t) => {
    await log.record(sampleEvent(1));
    t.raw().exec("CREATE TRIGGER refuse BEFORE INSERT ON audit_records BEGIN SELECT RAISE(ABORT, 'refused'); END");
    await expectAllUnavailable(Array.from({ length: 8 }, (_, i) => log.record(sampleEvent(10 + i))));
    // meanwhile another process appends to the same chain
    const otherStore = openSqliteStore(t.path);
    t.raw().exec('DROP TRIGGER refuse');
    const otherLog = new HashChainAuditLog(otherStore, generateAuditKeys());
    assert.deepEqual(await otherLog.record(sampleEvent(50)), { seq: 2 });
    await otherStore.close();
    assert.deepEqual(await log.record(sampleEvent(60)), { seq: 3 });
    const v = await log.verify();
    assert.deepEqual([v.ok, v.lastSeq], [true, 3]);
  });
});

void test('fail closed: a closed store refuses records; a log on the reopened file continues from the stored tail', async () => {
  const t = await openTestStore();
  try {
    const keys = generateAuditKeys();
    const log = new HashChainAuditLog(t.store, keys);
    for (let i = 1; i <= 3; i++) await log.record(sampleEvent(i));
    await t.inner.close();
    await expectAllUnavailable([log.record(sampleEvent(4)), log.record(sampleEvent(5))]);
    await assert.rejects(log.verify(), AuditUnavailableError);
    await assert.rejects(collect(log.export()), AuditUnavailableError);
    const reopened = openSqliteStore(t.path);
    try {
      const log2 = new HashChainAuditLog(reopened, keys);
      assert.deepEqual(await log2.record(sampleEvent(6)), { seq: 4 });
      assert.equal((await log2.verify()).ok, true);
    } finally {
      await reopened.close();
    }
  } finally {
    await t.close();
  }
});

void test('an event that cannot be recorded exactly is refused as unavailable, and nothing is written', async () => {
  await withLog({}, async (log, t) => {
    const bad = { ...sampleEvent(1), context: { n: Number.NaN } } as AuditEvent;
    await assert.rejects(log.record(bad), (e: unknown) => e instanceof AuditUnavailableError && e.code === 'COFFER_AUDIT_UNAVAILABLE');
    assert.equal(t.appendCalls(), 0);
    assert.deepEqual(await log.record(sampleEvent(2)), { seq: 1 });
  });
});

void test('a checkpoint is signed every N records and on demand; an exported one pins the chain', async () => {
  await withLog({ checkpointEvery: 10 }, async (log, t, keys) => {
    const empty = await log.checkpoint();
    assert.deepEqual([empty.seq, empty.hash], [0, GENESIS_HASH]);
    assert.ok(checkpointSignatureValid(keys.publicKey, empty));
    for (let i = 1; i <= 35; i++) await log.record(sampleEvent(i));
    await log.flush();
    const stored = await t.store.listAuditCheckpoints();
    assert.ok(stored.length >= 3, `${stored.length} checkpoints`);
    for (const c of stored) assert.ok(checkpointSignatureValid(keys.publicKey, c));
    const cp = await log.checkpoint();
    assert.equal(cp.seq, 35);
    assert.equal(cp.hash, (await t.store.lastAudit())!.hash);
    assert.deepEqual(await log.checkpoint(), cp, 'checkpointing an unchanged tail again gives the same checkpoint');
    await log.record(sampleEvent(36));
    assert.equal((await log.verify({ checkpoint: cp })).ok, true);
    // a checkpoint signed by another key is refused
    const foreign = await new HashChainAuditLog(t.store, generateAuditKeys()).checkpoint();
    const r = await log.verify({ checkpoint: foreign });
    assert.equal(r.ok, false);
    assert.equal(r.firstBad?.kind, 'checkpoint');
    assert.equal(r.firstBad?.seq, 36);
  });
});

void test('export yields JSON Lines that verifyExport accepts, checkpoints included; partial exports verify with `partial`', async () => {
  await withLog({ checkpointEvery: 7 }, async (log) => {
    for (let i = 1; i <= 25; i++) await log.record(sampleEvent(i, { sensitive: { email: `u${i}@example.com` } }));
    await log.flush();
    const lines = await collect(log.export(1, { withCheckpoints: true }));
    assert.ok(lines.every((l) => l.endsWith('\n')));
    const records = lines.filter((l) => !l.startsWith('{"checkpoint"'));
    assert.equal(records.length, 25);
    const first = JSON.parse(records[0]!) as { seq: number; body: Record<string, unknown>; prevHash: string; hash: string };
    assert.deepEqual(Object.keys(first), ['seq', 'body', 'prevHash', 'hash']);
    assert.equal(first.prevHash, GENESIS_HASH);
    assert.equal(first.body.v, 1);
    assert.ok(lines.length > records.length, 'checkpoint lines present');
    const ok = await verifyExport(lines, log.publicKey);
    assert.deepEqual([ok.ok, ok.checked, ok.lastSeq], [true, 25, 25]);
    assert.deepEqual(await verifyExport([lines.join('')], log.publicKey), ok, 'one chunk holding every line');
    // the export cut after seq 10 only verifies as partial
    const tail = await collect(log.export(11));
    assert.equal(tail.length, 15);
    assert.equal((await verifyExport(tail, log.publicKey, { partial: true })).ok, true);
    const strict = await verifyExport(tail, log.publicKey);
    assert.deepEqual([strict.ok, strict.firstBad?.seq, strict.firstBad?.kind], [false, 1, 'deleted']);
    // a file with the last records cut off fails against a checkpoint kept apart
    const cp = await log.checkpoint();
    const cut = records.slice(0, 20);
    const r = await verifyExport(cut, log.publicKey, { checkpoint: cp });
    assert.deepEqual([r.ok, r.firstBad?.seq, r.firstBad?.kind], [false, 21, 'truncated']);
    // a line that is not JSON
    const broken = [...records.slice(0, 3), 'garbage\n', ...records.slice(3)];
    const b = await verifyExport(broken, log.publicKey);
    assert.deepEqual([b.ok, b.firstBad?.seq, b.firstBad?.kind], [false, 4, 'malformed']);
  });
});

void test('the JSON Lines file sink receives every record and its file verifies offline', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'coffer-audit-sink-'));
  try {
    const path = join(dir, 'audit.jsonl');
    await withLog({ sinks: [new JsonLinesFileSink(path)] }, async (log, _t, keys) => {
      await Promise.all(Array.from({ length: 50 }, (_, i) => log.record(sampleEvent(i))));
      await log.record(sampleEvent(99, { sensitive: { email: 'bob@example.com' } }));
      await log.flush();
      const text = await readFile(path, 'utf8');
      assert.equal(text.split('\n').filter(Boolean).length, 51);
      assert.ok(!text.includes('bob@example.com'));
      assert.ok(text.includes(hmacSensitive(keys, 'bob@example.com')));
      const r = await verifyExport(createReadStream(path, { encoding: 'utf8', highWaterMark: 97 }), log.publicKey);
      assert.deepEqual([r.ok, r.lastSeq], [true, 51]);
      assert.deepEqual(text, (await collect(log.export())).join(''));
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

void test('a failing sink or checkpoint write never fails a record; it is reported', async () => {
  const reported: CofferError[] = [];
  const sink = { write: () => Promise.reject(new Error('siem down')), close: () => Promise.resolve() };
  await withLog({ sinks: [sink], onError: (e) => reported.push(e) }, async (log) => {
    assert.deepEqual(await log.record(sampleEvent(1)), { seq: 1 });
    await log.flush();
    assert.equal(reported.length, 1);
    assert.ok(reported[0] instanceof CofferError);
  });
});
