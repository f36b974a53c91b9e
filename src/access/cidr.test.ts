import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ValidationError } from '../domain/errors.js';
import { ipAllowed, normalizeCidrs } from './cidr.js';

test('networks match IPv4, IPv6 and IPv4-mapped IPv6 sources', () => {
  const nets = normalizeCidrs(['10.0.0.0/8', '2001:db8::/32', '192.168.1.7']);
  assert.deepEqual(nets, ['10.0.0.0/8', '2001:db8::/32', '192.168.1.7/32']);
  assert.equal(ipAllowed('10.200.3.4', nets), true);
  assert.equal(ipAllowed('::ffff:10.200.3.4', nets), true);
  assert.equal(ipAllowed('11.0.0.1', nets), false);
  assert.equal(ipAllowed('2001:db8:1::5', nets), true);
  assert.equal(ipAllowed('2001:db9::5', nets), false);
  assert.equal(ipAllowed('192.168.1.7', nets), true);
  assert.equal(ipAllowed('192.168.1.8', nets), false);
});

test('no network means any source; an unparsable source matches nothing', () => {
  assert.equal(ipAllowed('203.0.113.9', []), true);
  assert.equal(ipAllowed('not-an-ip', ['0.0.0.0/0']), false);
  assert.equal(ipAllowed('', ['0.0.0.0/0']), false);
});

test('bad networks are refused', () => {
  for (const bad of ['10.0.0.0/33', '10.0.0/8', '2001:db8::/129', '10.0.0.0/8/1', 'example.com', '10.0.0.0/-1', '10.0.0.0/ 8']) {
    assert.throws(() => normalizeCidrs([bad]), ValidationError, bad);
  }
  assert.throws(() => normalizeCidrs(Array.from({ length: 17 }, () => '10.0.0.0/8')), /at most 16/);
});
