import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseRange } from './range.js';

test('single ranges parse; everything else is ignored', () => {
  assert.deepEqual(parseRange('bytes=0-99'), { start: 0, end: 99 });
  assert.deepEqual(parseRange('bytes=100-'), { start: 100 });
  assert.deepEqual(parseRange('bytes=-500'), { suffix: 500 });
  for (const h of [undefined, 'bytes=-', 'bytes=5-1', 'bytes=0-1,5-6', 'items=0-1', 'bytes=a-b', 'bytes=0-99999999999999999']) {
    assert.equal(parseRange(h), undefined, String(h));
  }
});
