import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { ValidationError } from '../../domain/errors.js';
import { decodeCursor, encodeCursor, pageSize } from './cursor.js';

test('cursors round-trip strings and integers and are url-safe', () => {
  fc.assert(
    fc.property(fc.string({ maxLength: 200 }), (s) => {
      const c = encodeCursor(s);
      assert.match(c, /^[A-Za-z0-9_-]*$/);
      assert.equal(decodeCursor(c, 'string'), s);
    }),
  );
  fc.assert(fc.property(fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }), (n) => assert.equal(decodeCursor(encodeCursor(n), 'number'), n)));
});

test('foreign or mistyped cursors are ValidationError', () => {
  for (const bad of ['***', Buffer.from('[1]').toString('base64url'), Buffer.from('nope').toString('base64url'), encodeCursor('a')]) {
    assert.throws(() => decodeCursor(bad, 'number'), ValidationError);
  }
  assert.throws(() => decodeCursor(encodeCursor(3), 'string'), ValidationError);
  assert.throws(() => decodeCursor(encodeCursor(1.5), 'number'), ValidationError);
});

test('page sizes default to 100, cap at 1000 and must be positive integers', () => {
  assert.equal(pageSize(undefined), 100);
  assert.equal(pageSize(1), 1);
  assert.equal(pageSize(5000), 1000);
  for (const bad of [0, -1, 1.5, Number.NaN]) assert.throws(() => pageSize(bad), ValidationError);
});
