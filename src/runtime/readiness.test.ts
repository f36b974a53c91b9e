import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Readiness } from './readiness.js';

function fake(overrides: { ping?: () => Promise<void>; putSetting?: () => Promise<boolean>; stat?: () => Promise<null> } = {}) {
  let now = 1_000_000;
  const warnings: Array<Record<string, unknown>> = [];
  const readiness = new Readiness({
    store: { ping: overrides.ping ?? (async () => undefined), putSetting: overrides.putSetting ?? (async () => true) },
    blobStore: { stat: overrides.stat ?? (async () => null) },
    clock: () => now,
    warn: (_m, d) => warnings.push(d),
    probeTimeoutMs: 50,
  });
  return { readiness, warnings, tick: (ms: number) => (now += ms) };
}

test('ready when the database answers, the audit write path takes a write and the blob store answers', async () => {
  const { readiness } = fake();
  await readiness.check();
  assert.equal(readiness.probeWrites(), 1);
});

test('each failing probe makes it not ready, named in the detail (never in the answer)', async () => {
  for (const [name, overrides] of [
    ['database', { ping: () => Promise.reject(new Error('down')) }],
    ['audit', { putSetting: () => Promise.reject(new Error('SQLITE_FULL')) }],
    ['blobs', { stat: () => Promise.reject(new Error('EIO')) }],
    ['blobs', { stat: () => new Promise<null>(() => undefined) }],
    ['audit', { putSetting: () => new Promise<boolean>(() => undefined) }],
  ] as const) {
    const { readiness, warnings } = fake(overrides);
    await assert.rejects(readiness.check(), (err: Error & { code?: string; detail?: string }) => err.code === 'COFFER_NOT_READY' && err.detail === `failing: ${name}`);
    assert.deepEqual(warnings, [{ failing: [name] }]);
  }
});

test('a verdict is shared by concurrent callers and reused for a second; then probed again', async () => {
  let fail = false;
  const { readiness, tick } = fake({ putSetting: async () => (fail ? Promise.reject(new Error('full')) : true) });
  await Promise.all(Array.from({ length: 50 }, () => readiness.check()));
  assert.equal(readiness.probeWrites(), 1);
  fail = true;
  await readiness.check();
  tick(1000);
  await assert.rejects(readiness.check());
  assert.equal(readiness.probeWrites(), 2);
  fail = false;
  tick(1000);
  await readiness.check();
});
