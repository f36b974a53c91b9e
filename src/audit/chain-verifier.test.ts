import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { AuditFaultKind } from './audit-event.js';
import { generateAuditKeys } from './audit-keys.js';
import { GENESIS_HASH, auditBodyOf, hashAuditRecord, serializeAuditBody } from './audit-record.js';
import { ChainVerifier, type ChainRecord } from './chain-verifier.js';
import { signCheckpoint } from './checkpoint.js';
import { sampleEvent } from './test-support.js';

const keys = generateAuditKeys();

/** A genuine chain of n records, built with the format functions (as the log does). */
function chain(n: number): ChainRecord[] {
  const out: ChainRecord[] = [];
  let prev = GENESIS_HASH;
  for (let seq = 1; seq <= n; seq++) {
    const body = serializeAuditBody(auditBodyOf(sampleEvent(seq), keys), seq);
    const hash = hashAuditRecord(body, prev);
    out.push({ seq, body, prevHash: prev, hash });
    prev = hash;
  }
  return out;
}

function verify(records: ChainRecord[], checkpoints: { seq: number; hash: string; signature: string }[] = []) {
  const v = new ChainVerifier(keys.publicKey);
  for (const c of checkpoints) v.addCheckpoint(c);
  for (const r of records) if (v.push(r) !== null) break;
  return v.finish();
}

/** Rehashes records from index i on, as an attacker who knows the format would. */
function rehashFrom(records: ChainRecord[], i: number): void {
  for (let j = i; j < records.length; j++) {
    const prev = j === 0 ? GENESIS_HASH : records[j - 1]!.hash;
    records[j] = { ...records[j]!, prevHash: prev, hash: hashAuditRecord(records[j]!.body, prev) };
  }
}

function forgedBody(seq: number): string {
  return serializeAuditBody(auditBodyOf(sampleEvent(9999, { action: 'delete', resource: 'project/ml' }), keys), seq);
}

type Tamper = { name: string; apply: (rs: ChainRecord[], k: number, m: number) => { seq: number; kind: AuditFaultKind } };

// k: 1-based seq of the record attacked, 1 <= k < n; m: a later seq, k < m <= n
const TAMPERS: Tamper[] = [
  { name: 'body changed in place', apply: (rs, k) => {
    rs[k - 1]!.body = rs[k - 1]!.body.replace('"download"', '"upload"');
    return { seq: k, kind: 'changed' };
  } },
  { name: 'body changed and its hash recomputed', apply: (rs, k) => {
    const r = rs[k - 1]!;
    r.body = r.body.replace('"download"', '"upload"');
    r.hash = hashAuditRecord(r.body, r.prevHash);
    return { seq: k, kind: 'changed' };
  } },
  { name: 'hash column changed', apply: (rs, k) => {
    rs[k - 1]!.hash = 'f'.repeat(64);
    return { seq: k, kind: 'changed' };
  } },
  { name: 'body is no longer json', apply: (rs, k) => {
    rs[k - 1]!.body = '{"v":1,';
    return { seq: k, kind: 'changed' };
  } },
  { name: 'record deleted', apply: (rs, k) => {
    rs.splice(k - 1, 1);
    return { seq: k, kind: 'deleted' };
  } },
  { name: 'records deleted and the rest renumbered', apply: (rs, k) => {
    rs.splice(k - 1, 1);
    for (let j = k - 1; j < rs.length; j++) rs[j]!.seq = j + 1;
    return { seq: k, kind: 'reordered' };
  } },
  { name: 'bodies of two records swapped', apply: (rs, k, m) => {
    const a = rs[k - 1]!.body;
    rs[k - 1]!.body = rs[m - 1]!.body;
    rs[m - 1]!.body = a;
    return { seq: k, kind: 'reordered' };
  } },
  { name: 'two whole rows swapped, seqs kept', apply: (rs, k, m) => {
    const a = { ...rs[k - 1]!, seq: m };
    rs[k - 1] = { ...rs[m - 1]!, seq: k };
    rs[m - 1] = a;
    return { seq: k, kind: 'reordered' };
  } },
  { name: 'forged record inserted with a correct hash, later ones renumbered', apply: (rs, k) => {
    const prev = k === 1 ? GENESIS_HASH : rs[k - 2]!.hash;
    const body = forgedBody(k);
    rs.splice(k - 1, 0, { seq: k, body, prevHash: prev, hash: hashAuditRecord(body, prev) });
    for (let j = k; j < rs.length; j++) rs[j]!.seq = j + 1;
    return { seq: k, kind: 'inserted' };
  } },
  { name: 'record duplicated, later ones renumbered', apply: (rs, k) => {
    rs.splice(k, 0, { ...rs[k - 1]! });
    for (let j = k; j < rs.length; j++) rs[j]!.seq = j + 1;
    return { seq: k + 1, kind: 'inserted' };
  } },
  { name: 'prevHash column changed', apply: (rs, k) => {
    rs[k - 1]!.prevHash = 'e'.repeat(64);
    return { seq: k, kind: 'changed' };
  } },
];

void test('an untampered chain of any length verifies', () => {
  for (const n of [0, 1, 2, 17]) {
    const rs = chain(n);
    const r = verify(rs);
    assert.deepEqual(r, { ok: true, checked: n, lastSeq: n, lastHash: n === 0 ? GENESIS_HASH : rs[n - 1]!.hash });
  }
});

void test('property: every kind of tampering is found at the first bad seq, with its kind', () => {
  const base = chain(24);
  fc.assert(
    fc.property(
      fc.integer({ min: 3, max: 24 }),
      fc.nat(TAMPERS.length - 1),
      fc.nat(),
      fc.nat(),
      (n, t, a, b) => {
        const rs = base.slice(0, n).map((r) => ({ ...r }));
        const k = 1 + (a % (n - 1));
        const m = k + 1 + (b % (n - k));
        const tamper = TAMPERS[t]!;
        const expected = tamper.apply(rs, k, m);
        const r = verify(rs);
        assert.equal(r.ok, false, tamper.name);
        assert.deepEqual({ seq: r.firstBad?.seq, kind: r.firstBad?.kind }, expected, `${tamper.name} (n=${n} k=${k} m=${m}): ${r.firstBad?.reason}`);
        assert.ok(r.firstBad!.reason.startsWith(`${expected.kind}:`));
        assert.equal(r.lastSeq, r.checked);
      },
    ),
    { numRuns: 400 },
  );
});

void test('a whole chain rewritten from some record on is caught by the next signed checkpoint', () => {
  const rs = chain(30);
  const cps = [10, 20, 30].map((s) => signCheckpoint(keys.signingKey, s, rs[s - 1]!.hash));
  assert.equal(verify(rs, cps).ok, true);
  rs[13]!.body = rs[13]!.body.replace('"download"', '"upload"');
  rehashFrom(rs, 13);
  const r = verify(rs, cps);
  assert.deepEqual([r.ok, r.firstBad?.seq, r.firstBad?.kind], [false, 20, 'checkpoint']);
  assert.match(r.firstBad!.reason, /records 11 to 20 were rewritten/);
});

void test('tail deletion: found against a signed checkpoint, with the first missing seq', () => {
  const rs = chain(12);
  const cp = signCheckpoint(keys.signingKey, 12, rs[11]!.hash);
  const r = verify(rs.slice(0, 9), [cp]);
  assert.deepEqual([r.ok, r.firstBad?.seq, r.firstBad?.kind, r.lastSeq, r.checked], [false, 10, 'truncated', 9, 9]);
  const empty = verify([], [cp]);
  assert.deepEqual([empty.firstBad?.seq, empty.firstBad?.kind], [1, 'truncated']);
});

void test('a checkpoint with a bad signature is reported at its seq, even beyond the tail', () => {
  const rs = chain(8);
  const cp = signCheckpoint(keys.signingKey, 5, rs[4]!.hash);
  const forged = { ...cp, signature: cp.signature.replace(/^./, (c) => (c === '0' ? '1' : '0')) };
  const r = verify(rs, [forged]);
  assert.deepEqual([r.firstBad?.seq, r.firstBad?.kind], [5, 'checkpoint']);
  const other = generateAuditKeys();
  const beyond = signCheckpoint(other.signingKey, 20, 'a'.repeat(64));
  const r2 = verify(rs, [beyond]);
  assert.deepEqual([r2.firstBad?.seq, r2.firstBad?.kind], [20, 'checkpoint']);
});

void test('the first fault wins: an earlier changed record is named before a later bad checkpoint', () => {
  const rs = chain(10);
  const forged = { ...signCheckpoint(keys.signingKey, 8, rs[7]!.hash), hash: 'a'.repeat(64) };
  rs[2]!.body = rs[2]!.body.replace('"download"', '"upload"');
  const r = verify(rs, [forged]);
  assert.deepEqual([r.firstBad?.seq, r.firstBad?.kind], [3, 'changed']);
});

void test('a record of an unknown format version, or with a body that is not canonical but hashes right, is malformed', () => {
  const rs = chain(3);
  const o = JSON.parse(rs[1]!.body) as Record<string, unknown>;
  rs[1]!.body = JSON.stringify({ ...o, v: 2 });
  rehashFrom(rs, 1);
  const r = verify(rs);
  assert.deepEqual([r.firstBad?.seq, r.firstBad?.kind], [2, 'malformed']);
  assert.match(r.firstBad!.reason, /version/);
});
