import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatReport } from './format-report.js';
import { runSimulation } from './run-simulation.js';

void test('a seeded simulation of a team meets the detection targets', { timeout: 120_000 }, () => {
  const report = runSimulation({
    seed: 1,
    people: 20,
    pipelines: 6,
    days: 35,
    warmupDays: 21,
    attacks: { 'bulk-exfiltration': 4, 'slow-and-low': 4, 'stolen-token': 4, enumeration: 2, 'spread-projects': 2, 'restricted-drain': 2 },
    bulkReads: { 'dvc-pull': 2, 's3-sync': 2 },
  });
  const text = formatReport(report);
  for (const t of report.targets) assert.ok(t.pass, `${t.name}: ${t.value}\n${text}`);
  // beyond the targets: every injected attack is caught, bulk ones by a lock
  for (const a of report.attacks) assert.ok(a.detected, `${a.attack.id} missed\n${text}`);
  const bulk = report.attacks.filter((a) => a.attack.kind === 'bulk-exfiltration');
  assert.equal(bulk.length, 4);
  for (const a of bulk) {
    assert.notEqual(a.lockedAt, null);
    assert.ok(a.crossedAt !== null && a.lockedAt! - a.crossedAt <= 60_000);
  }
  // issue 13.11: legitimate bulk reads of thousands of keys go through; attacks hiding in that allowance are locked
  assert.equal(report.bulkReads.length, 4);
  for (const b of report.bulkReads) {
    assert.equal(b.locked, false, `${b.read.id} locked\n${text}`);
    assert.equal(b.filesDelivered, b.read.files);
    assert.ok(b.read.kind === 's3-sync' ? b.read.files === 203 : b.read.files >= 2000);
  }
  const hiding = report.attacks.filter((a) => a.attack.kind === 'spread-projects' || a.attack.kind === 'restricted-drain');
  assert.equal(hiding.length, 4);
  for (const a of hiding) assert.notEqual(a.lockedAt, null, `${a.attack.id} not locked\n${text}`);
  assert.ok(report.events > 20_000, 'the simulation produced a realistic amount of traffic');
});

void test('the simulation is deterministic for a seed and differs across seeds', () => {
  const o = { people: 6, pipelines: 2, days: 12, warmupDays: 4, attacks: { 'bulk-exfiltration': 1, 'slow-and-low': 0, 'stolen-token': 1, enumeration: 1, 'spread-projects': 1, 'restricted-drain': 1 }, bulkReads: { 'dvc-pull': 1, 's3-sync': 1 } };
  const a = runSimulation({ ...o, seed: 5 });
  const b = runSimulation({ ...o, seed: 5 });
  const c = runSimulation({ ...o, seed: 6 });
  assert.deepEqual({ ...a, wallMs: 0 }, { ...b, wallMs: 0 });
  assert.notEqual(a.events, c.events);
});
