import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { ValidationError } from '../domain/errors.js';
import { assertBlobKey, assertBlobPrefix, isBlobKey } from './blob-key.js';

test('valid keys are accepted', () => {
  for (const key of ['a', '0', 'objects/ab/cdef', 'v1/ver_01h/blob', 'a_b-c/d', 'a/-x', 'a/_']) assertBlobKey(key);
});

test('keys that could escape a root or are ambiguous are rejected', () => {
  for (const key of ['', '.', '..', '../a', 'a/..', 'a/../b', '/a', 'a/', 'a//b', '.tmp', 'A', 'a.b', 'a b', 'a\\b', 'a\u0000', '-a', '_a', 'é']) {
    assert.throws(() => assertBlobKey(key), ValidationError, JSON.stringify(key));
  }
  assert.throws(() => assertBlobKey('a'.repeat(201)), ValidationError, 'segment too long');
  assert.throws(() => assertBlobKey(`a/${'b/'.repeat(600)}c`), ValidationError, 'key too long');
});

test('prefixes may be empty or end with a slash but never hold `//` or a dot', () => {
  for (const p of ['', 'a', 'a/', 'a/b_', '-']) assertBlobPrefix(p);
  for (const p of ['a//', '../', 'a.b', 'A', 'a\u0000']) assert.throws(() => assertBlobPrefix(p), ValidationError, p);
});

test('property: every accepted key is a relative path of plain segments', () => {
  fc.assert(
    fc.property(fc.string({ unit: fc.constantFrom('a', 'z', '0', '/', '.', '_', '-', '\\', 'A'), maxLength: 12 }), (key) => {
      if (!isBlobKey(key)) return;
      const segs = key.split('/');
      assert.ok(segs.every((s) => s.length > 0 && s !== '.' && s !== '..' && !s.includes('.') && !s.includes('\\')));
      assert.ok(!key.startsWith('/'));
    }),
  );
});
