import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ValidationError } from '../domain/errors.js';
import { newId } from '../domain/ids.js';
import { assertBlobKey } from '../store/blob-key.js';
import { blobKeyFor } from './blob-key.js';

void test('blob keys fan out by hash and are valid store keys', () => {
  const id = newId('ver');
  const key = blobKeyFor(id);
  assert.match(key, new RegExp(`^objects/[0-9a-f]{2}/${id}$`));
  assertBlobKey(key);
  assert.equal(blobKeyFor(id), key);
  const fanOuts = new Set(Array.from({ length: 200 }, () => blobKeyFor(newId('ver')).split('/')[1]));
  assert.ok(fanOuts.size > 50);
});

void test('object ids that could escape or collide are refused', () => {
  for (const bad of ['', '../x', 'a/b', 'Ver_x', 'a.b', '-x', 'x'.repeat(129), 'ver_\u0000']) {
    assert.throws(() => blobKeyFor(bad), ValidationError, bad);
  }
});
