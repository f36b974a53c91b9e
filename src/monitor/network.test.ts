import assert from 'node:assert/strict';
import { test } from 'node:test';
import { deviceKey, sourceNetwork } from './network.js';

void test('IPv4 addresses group by /24, IPv4-mapped IPv6 as IPv4', () => {
  assert.equal(sourceNetwork('192.168.10.77'), '192.168.10.0/24');
  assert.equal(sourceNetwork('::ffff:192.168.10.5'), '192.168.10.0/24');
  assert.notEqual(sourceNetwork('192.168.11.1'), sourceNetwork('192.168.10.1'));
});

void test('IPv6 addresses group by /64 whatever their spelling', () => {
  assert.equal(sourceNetwork('2001:db8:1:2::1'), '2001:db8:1:2::/64');
  assert.equal(sourceNetwork('2001:0db8:0001:0002:ffff:0:0:9'), '2001:db8:1:2::/64');
  assert.equal(sourceNetwork('::1'), '0:0:0:0::/64');
  assert.equal(sourceNetwork('fe80::1%eth0'), 'fe80:0:0:0::/64');
  assert.notEqual(sourceNetwork('2001:db8:1:3::1'), sourceNetwork('2001:db8:1:2::1'));
});

void test('anything else is kept whole', () => {
  assert.equal(sourceNetwork(''), 'other:');
  assert.equal(sourceNetwork('not-an-ip'), 'other:not-an-ip');
});

void test('device keys ignore version numbers but keep the client family', () => {
  assert.equal(deviceKey({ userAgent: 'coffer-cli/0.1.0' }), deviceKey({ userAgent: 'coffer-cli/0.2.13' }));
  assert.notEqual(deviceKey({ userAgent: 'coffer-cli/0.1.0' }), deviceKey({ userAgent: 'python-requests/2.31.0' }));
  assert.equal(deviceKey({ userAgent: 'x', deviceId: 'dev-1' }), 'id:dev-1');
});
