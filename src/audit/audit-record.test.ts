import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AuditEvent, ExportedCheckpoint } from './audit-event.js';
import { ed25519FromSeed, exportAuditPublicKey, type AuditKeys } from './audit-keys.js';
import { GENESIS_HASH, auditBodyOf, hashAuditRecord, parseAuditBody, serializeAuditBody } from './audit-record.js';
import { checkpointSignatureValid, signCheckpoint } from './checkpoint.js';
import { repoRoot, sampleEvent } from './test-support.js';
import { ValidationError } from '../domain/errors.js';

interface Vector {
  hmacKey: string;
  ed25519Seed: string;
  publicKey: string;
  events: AuditEvent[];
  records: { seq: number; body: string; prevHash: string; hash: string }[];
  checkpoint: ExportedCheckpoint;
}

// made by an independent implementation (test/fixtures/audit/make-vectors.py)
const vector = JSON.parse(readFileSync(join(repoRoot(), 'test/fixtures/audit/record-v1.json'), 'utf8')) as Vector;
const keys: AuditKeys = { hmacKey: Buffer.from(vector.hmacKey, 'hex'), ...ed25519FromSeed(Buffer.from(vector.ed25519Seed, 'hex')) };

void test('known-answer vector: canonical bodies and chain hashes of format v1', () => {
  let prev = GENESIS_HASH;
  vector.events.forEach((event, i) => {
    const expected = vector.records[i]!;
    const body = serializeAuditBody(auditBodyOf(event, keys), i + 1);
    assert.equal(body, expected.body, `body of record ${i + 1}`);
    assert.equal(expected.prevHash, prev);
    const hash = hashAuditRecord(body, prev);
    assert.equal(hash, expected.hash, `hash of record ${i + 1}`);
    assert.ok('body' in parseAuditBody(body));
    prev = hash;
  });
});

void test('known-answer vector: public key and checkpoint signature', () => {
  assert.equal(exportAuditPublicKey(keys), vector.publicKey);
  const cp = signCheckpoint(keys.signingKey, vector.checkpoint.seq, vector.checkpoint.hash);
  assert.deepEqual(cp, vector.checkpoint);
  assert.ok(checkpointSignatureValid(keys.publicKey, vector.checkpoint));
  assert.ok(!checkpointSignatureValid(keys.publicKey, { ...vector.checkpoint, seq: vector.checkpoint.seq + 1 }));
  assert.ok(!checkpointSignatureValid(keys.publicKey, { ...vector.checkpoint, hash: GENESIS_HASH }));
});

void test('every body has every field, absent optional ones as null', () => {
  const { bytes: _b, reason: _r, sensitive: _s, ...bare } = sampleEvent(1);
  const body = JSON.parse(serializeAuditBody(auditBodyOf(bare, keys), 7)) as Record<string, unknown>;
  assert.equal(body.bytes, null);
  assert.equal(body.reason, null);
  assert.deepEqual(body.sensitive, {});
  assert.equal(body.v, 1);
  assert.equal(body.seq, 7);
});

void test('events that verification would call malformed are refused', () => {
  const bad: unknown[] = [
    { ...sampleEvent(1), time: Number.NaN },
    { ...sampleEvent(1), decision: 'maybe' },
    { ...sampleEvent(1), requestId: 5 },
    { ...sampleEvent(1), sensitive: { email: 5 } },
    { ...sampleEvent(1), context: { when: new Date(0) } },
    { ...sampleEvent(1), context: [] },
  ];
  for (const e of bad) assert.throws(() => auditBodyOf(e as AuditEvent, keys), ValidationError);
});

void test('parseAuditBody refuses other versions, extra fields and non-canonical text', () => {
  const body = serializeAuditBody(auditBodyOf(sampleEvent(1), keys), 1);
  const o = JSON.parse(body) as Record<string, unknown>;
  assert.match((parseAuditBody(JSON.stringify({ ...o, v: 2 })) as { error: string }).error, /version/);
  assert.match((parseAuditBody(body.replace('{"action"', '{"extra":1,"action"')) as { error: string }).error, /fields/);
  assert.match((parseAuditBody(body.replace(':', ': ')) as { error: string }).error, /canonical/);
  assert.match((parseAuditBody('nope') as { error: string }).error, /json/);
});
