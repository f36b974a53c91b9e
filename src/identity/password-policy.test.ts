import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WeakPasswordError } from '../domain/errors.js';
import { checkPasswordPolicy } from './password-policy.js';
import { hashPassword, verifyPassword } from './password-hash.js';

test('accepts long unguessable passwords and refuses breached patterns', () => {
  for (const ok of ['lantern-orbit-cactus-42', 'correct horse battery stapler', 'Zq8#mW2!vL9@xR4$']) checkPasswordPolicy(ok, { names: ['alice'] });
  const bad = ['Password123!', 'P@$$w0rd2025', '!!!qwerty123456', 'iloveyou2024!!', 'Dragon1234567', 'zzzzzzzzzzzzzz', 'abababababababab', 'zyxwvutsrqponm', 'alice.alice.2024', 'short'];
  for (const p of bad) assert.throws(() => checkPasswordPolicy(p, { names: ['alice'] }), WeakPasswordError, p);
  assert.throws(() => checkPasswordPolicy('x'.repeat(300), { names: [] }), WeakPasswordError);
});

test('argon2id verifies the right password only; unknown accounts cost a hash too', async () => {
  const stored = await hashPassword('lantern-orbit-cactus-42');
  assert.equal(await verifyPassword(stored, 'lantern-orbit-cactus-42'), true);
  assert.equal(await verifyPassword(stored, 'lantern-orbit-cactus-43'), false);
  assert.equal(await verifyPassword('$argon2id$garbage', 'x'), false);
  const t0 = process.hrtime.bigint();
  assert.equal(await verifyPassword(null, 'anything-at-all'), false);
  await verifyPassword(null, 'anything-at-all');
  const unknownMs = Number(process.hrtime.bigint() - t0) / 2e6;
  const t1 = process.hrtime.bigint();
  await verifyPassword(stored, 'wrong-password');
  const knownMs = Number(process.hrtime.bigint() - t1) / 1e6;
  // same order of cost (argon2 runs in both cases); a loose bound keeps this stable on a busy machine
  assert.ok(unknownMs > knownMs / 5, `unknown ${unknownMs} ms vs known ${knownMs} ms`);
});
