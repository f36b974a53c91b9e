import { test } from 'node:test';
import assert from 'node:assert/strict';
import { base32, idTime, newId } from './ids.js';

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

test('idTime reads back the creation time of an id, and refuses what is not one', () => {
  const before = Date.now();
  const id = newId('ver');
  const after = Date.now();
  const t = idTime(id);
  assert.ok(t !== null && t >= before && t <= after, `${t} in [${before}, ${after}]`);
  // a known answer: 48 bits of 2026-01-01T00:00:00.000Z then 80 zero bits
  const ms = Date.UTC(2026, 0, 1);
  const bytes = Buffer.alloc(16);
  bytes.writeUIntBE(ms, 0, 6);
  assert.equal(idTime(`s3p_${base32(bytes, '0123456789abcdefghjkmnpqrstvwxyz')}`), ms);
  for (const bad of ['', 'ver', 'ver_', 'ver_short', `VER_${id.slice(4)}`, `${id}x`, id.replace(/.$/, 'u'), 'objects/ab/ver_x']) assert.equal(idTime(bad), null, bad);
});
