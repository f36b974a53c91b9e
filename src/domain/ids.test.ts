import { test } from 'node:test';
import assert from 'node:assert/strict';
import { base32, newId } from './ids.js';

test('base32: RFC 4648 vectors, unpadded, over any 32-character alphabet', () => {
  const rfc = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  for (const [text, want] of [['', ''], ['f', 'MY'], ['fo', 'MZXQ'], ['foo', 'MZXW6'], ['foob', 'MZXW6YQ'], ['fooba', 'MZXW6YTB'], ['foobar', 'MZXW6YTBOI']]) {
    assert.equal(base32(Buffer.from(text!), rfc), want);
  }
  assert.equal(base32(Buffer.from([0xff, 0x00]), '0123456789abcdefghjkmnpqrstvwxyz'), 'zw00');
});

test('ids: prefix, 26 Crockford base32 characters, ordered by creation time', async () => {
  const a = newId('prj');
  await new Promise((r) => setTimeout(r, 2));
  const b = newId('prj');
  assert.match(a, /^prj_[0-9a-hjkmnp-tv-z]{26}$/);
  assert.ok(a < b);
});
