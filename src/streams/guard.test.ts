import assert from 'node:assert/strict';
import { PassThrough, Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { test } from 'node:test';
import { destroySafely, failureOf, guard } from './guard.js';

test('a guarded stream destroyed with an error before anyone listens does not throw, and keeps the error', async () => {
  const s = guard(new PassThrough());
  s.destroy(new Error('client gone'));
  await new Promise((r) => setImmediate(r));
  assert.equal(failureOf(s)?.message, 'client gone');
});

test('a consumer that attaches after the error still sees it (nothing is swallowed)', async () => {
  const s = guard(new PassThrough());
  s.write('abc');
  s.destroy(new Error('cut'));
  await new Promise((r) => setImmediate(r));
  await assert.rejects(pipeline(s, new Writable({ write: (_c, _e, cb) => cb() })), /cut/);
  const late = guard(Readable.from(['x']));
  late.destroy(new Error('late'));
  await assert.rejects(
    (async () => {
      for await (const _ of late) void _;
    })(),
    /late/,
  );
});

test('guard is idempotent and destroySafely leaves a destroyed stream alone', async () => {
  const s = new PassThrough();
  assert.equal(guard(guard(s)), s);
  assert.equal(s.listenerCount('error'), 1);
  destroySafely(s, new Error('first'));
  destroySafely(s, new Error('second'));
  await new Promise((r) => setImmediate(r));
  assert.equal(failureOf(s)?.message, 'first');
  // never guarded: no failure known
  assert.equal(failureOf(new PassThrough()), null);
});
