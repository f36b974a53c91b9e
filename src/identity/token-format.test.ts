import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { findTokens, generateToken, hashToken, parseToken, tokenHint } from './token-format.js';

test('generated tokens parse, with their kind', () => {
  for (let i = 0; i < 200; i++) {
    const t = generateToken('pat');
    assert.match(t, /^coffer_pat_[0-9A-Za-z]{38}$/);
    assert.equal(parseToken(t), 'pat');
  }
  assert.equal(parseToken(generateToken('setup')), 'setup');
});

test('known-answer: fixed randomness gives a fixed token and hash', () => {
  const t = generateToken('pat', Buffer.alloc(64, 7));
  assert.equal(t, 'coffer_pat_777777777777777777777777777777772LLaqX');
  assert.equal(hashToken(t), 'acedb06c4c15672cc00d8165a3f112130e5e87c69b4b9699b0440a71d31814ad');
});

test('any single-character change breaks the checksum (almost always)', () => {
  fc.assert(
    fc.property(fc.integer({ min: 11, max: 48 }), fc.constantFrom(...'0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'), (pos, ch) => {
      const t = generateToken('pat');
      if (t[pos] === ch) return;
      const mutated = t.slice(0, pos) + ch + t.slice(pos + 1);
      // CRC32 detects every single-symbol error in a body this short
      assert.equal(parseToken(mutated), null);
    }),
    { numRuns: 300 },
  );
});

test('garbage is refused', () => {
  for (const s of ['', 'coffer_pat_', 'ghp_abc', 'coffer_pat_' + 'a'.repeat(38), 'coffer_xyz_' + 'a'.repeat(38)]) {
    assert.equal(parseToken(s), null);
  }
});

test('scanner finds only checksum-valid tokens and hints never reveal the secret', () => {
  const a = generateToken('pat');
  const fake = 'coffer_pat_' + 'b'.repeat(38);
  const text = `token=${a}\nother=${fake}\n`;
  assert.deepEqual(findTokens(text), [a]);
  const hint = tokenHint(a);
  assert.ok(hint.endsWith(a.slice(-4)));
  assert.ok(!hint.includes(a.slice(11, 30)));
});
