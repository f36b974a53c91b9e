import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AuditChainBrokenError } from '../domain/errors.js';
import type { AuditFaultKind, ExportedCheckpoint, VerifyResult } from './audit-event.js';
import { generateAuditKeys } from './audit-keys.js';
import { auditBodyOf, hashAuditRecord, serializeAuditBody } from './audit-record.js';
import { HashChainAuditLog } from './hash-chain-audit-log.js';
import { openTestStore, sampleEvent, type TestStore } from './test-support.js';
import { verifyExport } from './verify-export.js';

// Each test writes a genuine chain through the log into a real SQLite file, then plays
// an attacker with direct write access to that file (a raw better-sqlite3 connection).

const N = 20;

interface Row { seq: number; body: string; prev_hash: string; hash: string }

async function scenario(
  options: { checkpointEvery?: number },
  attack: (t: TestStore, log: HashChainAuditLog, exported: ExportedCheckpoint) => void | Promise<void>,
  expected: { seq: number; kind: AuditFaultKind },
): Promise<VerifyResult> {
  const t = await openTestStore();
  const keys = generateAuditKeys();
  const log = new HashChainAuditLog(t.store, keys, { checkpointEvery: options.checkpointEvery ?? 0 });
  try {
    // one at a time, so that automatic checkpoints fall every `checkpointEvery` records
    for (let i = 1; i <= N; i++) await log.record(sampleEvent(i));
    await log.flush();
    const exported = await log.checkpoint();
    assert.equal((await log.verify({ checkpoint: exported })).ok, true, 'genuine chain verifies');
    await attack(t, log, exported);
    const r = await log.verify({ checkpoint: exported });
    assert.equal(r.ok, false);
    assert.deepEqual({ seq: r.firstBad?.seq, kind: r.firstBad?.kind }, expected, r.firstBad?.reason);
    assert.ok(r.lastSeq < Math.max(expected.seq, 1), 'nothing at or after the first bad record counts as verified');
    // the export is faithful: offline verification of it names the same record
    const lines: string[] = [];
    for await (const line of log.export(undefined, { withCheckpoints: true })) lines.push(line);
    const offline = await verifyExport(lines, log.publicKey, { checkpoint: exported });
    assert.deepEqual(offline.firstBad, r.firstBad, 'verifyExport agrees with verify');
    return r;
  } finally {
    await log.close();
    await t.close();
  }
}

function row(t: TestStore, seq: number): Row {
  return t.raw().prepare('SELECT seq, body, prev_hash, hash FROM audit_records WHERE seq = ?').get(seq) as Row;
}

void test('tamper: UPDATE of a body is found at that record', async () => {
  await scenario({}, (t) => {
    const changed = t.raw().prepare(`UPDATE audit_records SET body = replace(body, '"download"', '"upload"') WHERE seq = 7`).run();
    assert.equal(changed.changes, 1);
  }, { seq: 7, kind: 'changed' });
});

void test('tamper: UPDATE of a body with its hash recomputed is found at that record', async () => {
  await scenario({}, (t) => {
    const r = row(t, 7);
    const body = r.body.replace('"allow"', '"deny"');
    t.raw().prepare('UPDATE audit_records SET body = ?, hash = ? WHERE seq = 7').run(body, hashAuditRecord(body, r.prev_hash));
  }, { seq: 7, kind: 'changed' });
});

void test('tamper: DELETE of a middle row is found as a gap at its seq', async () => {
  await scenario({}, (t) => {
    t.raw().prepare('DELETE FROM audit_records WHERE seq = 11').run();
  }, { seq: 11, kind: 'deleted' });
});

void test('tamper: INSERT of a forged row (hash correctly computed, later rows renumbered) is found at its seq', async () => {
  await scenario({}, (t) => {
    const db = t.raw();
    const prev = row(t, 8).hash;
    const body = serializeAuditBody(auditBodyOf(sampleEvent(777, { action: 'delete', resource: 'project/ml' }), generateAuditKeys()), 9);
    db.transaction(() => {
      db.prepare('UPDATE audit_records SET seq = -seq - 1 WHERE seq >= 9').run();
      db.prepare('UPDATE audit_records SET seq = -seq WHERE seq < 0').run();
      db.prepare('INSERT INTO audit_records (seq, body, prev_hash, hash) VALUES (?, ?, ?, ?)').run(9, body, prev, hashAuditRecord(body, prev));
    })();
  }, { seq: 9, kind: 'inserted' });
});

void test('tamper: INSERT of a forged row before the first record is found', async () => {
  await scenario({}, (t) => {
    t.raw().prepare('INSERT INTO audit_records (seq, body, prev_hash, hash) VALUES (0, ?, ?, ?)').run('{}', '0'.repeat(64), 'a'.repeat(64));
  }, { seq: 0, kind: 'inserted' });
});

void test('tamper: swapping two rows\' bodies is found at the first of them', async () => {
  await scenario({}, (t) => {
    const a = row(t, 4);
    const b = row(t, 15);
    t.raw().prepare('UPDATE audit_records SET body = ? WHERE seq = ?').run(b.body, 4);
    t.raw().prepare('UPDATE audit_records SET body = ? WHERE seq = ?').run(a.body, 15);
  }, { seq: 4, kind: 'reordered' });
});

void test('tamper: deleting the tail (and its stored checkpoints) is found against an exported checkpoint', async () => {
  await scenario({ checkpointEvery: 5 }, (t) => {
    t.raw().prepare('DELETE FROM audit_records WHERE seq > 16').run();
    t.raw().prepare('DELETE FROM audit_checkpoints WHERE seq > 16').run();
  }, { seq: 17, kind: 'truncated' });
});

void test('tamper: deleting the tail but not its stored checkpoint is found without an exported one', async () => {
  const t = await openTestStore();
  const log = new HashChainAuditLog(t.store, generateAuditKeys(), { checkpointEvery: 0 });
  try {
    for (let i = 1; i <= 6; i++) await log.record(sampleEvent(i));
    await log.checkpoint();
    t.raw().prepare('DELETE FROM audit_records WHERE seq >= 5').run();
    const r = await log.verify();
    assert.deepEqual([r.ok, r.firstBad?.seq, r.firstBad?.kind, r.lastSeq], [false, 5, 'truncated', 4]);
  } finally {
    await log.close();
    await t.close();
  }
});

void test('tamper: rewriting the chain from a record on with every hash recomputed is caught by the next signed checkpoint', async () => {
  await scenario({ checkpointEvery: 5 }, (t) => {
    const db = t.raw();
    const rows = db.prepare('SELECT seq, body, prev_hash, hash FROM audit_records WHERE seq >= 7 ORDER BY seq').all() as Row[];
    let prev = row(t, 6).hash;
    const update = db.prepare('UPDATE audit_records SET body = ?, prev_hash = ?, hash = ? WHERE seq = ?');
    for (const r of rows) {
      const body = r.seq === 7 ? r.body.replace('"download"', '"list"') : r.body;
      const hash = hashAuditRecord(body, prev);
      update.run(body, prev, hash, r.seq);
      prev = hash;
    }
  }, { seq: 10, kind: 'checkpoint' }).then((r) => assert.match(r.firstBad!.reason, /records 6 to 10 were rewritten/));
});

void test('tamper: a stored checkpoint with a forged signature is found at its seq', async () => {
  await scenario({ checkpointEvery: 5 }, (t) => {
    const changed = t.raw().prepare(`UPDATE audit_checkpoints SET signature = (CASE WHEN substr(signature, 1, 2) = '00' THEN 'ff' ELSE '00' END) || substr(signature, 3) WHERE seq = 10`).run();
    assert.equal(changed.changes, 1);
  }, { seq: 10, kind: 'checkpoint' });
});

void test('checkpoint refuses to sign over records changed since the last checkpoint; automatic checkpoints report it', async () => {
  const t = await openTestStore();
  const reported: Error[] = [];
  const log = new HashChainAuditLog(t.store, generateAuditKeys(), { checkpointEvery: 5, onError: (e) => reported.push(e) });
  try {
    for (let i = 1; i <= 7; i++) await log.record(sampleEvent(i));
    await log.flush();
    assert.deepEqual((await t.store.listAuditCheckpoints()).map((c) => c.seq), [5]);
    t.raw().prepare(`UPDATE audit_records SET body = replace(body, '"download"', '"upload"') WHERE seq = 6`).run();
    await assert.rejects(log.checkpoint(), AuditChainBrokenError);
    for (let i = 8; i <= 12; i++) await log.record(sampleEvent(i));
    await log.flush();
    assert.deepEqual((await t.store.listAuditCheckpoints()).map((c) => c.seq), [5], 'no checkpoint over the broken chain');
    assert.ok(reported.some((e) => e instanceof AuditChainBrokenError));
  } finally {
    await log.close();
    await t.close();
  }
});
