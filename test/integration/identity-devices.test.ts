import assert from 'node:assert/strict';
import { generateKeyPairSync, sign } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { deviceSigningInput } from '../../src/identity/device-signature.js';
import { openIdentityHarness } from './identity-harness.js';
import type { IdentityHarness } from './identity-harness.js';

type Session = { device: { managed: boolean; id: string }; error?: { code: string } };

void describe('identity: managed devices', () => {
  let h: IdentityHarness;
  let hana: string;
  let ivan: string;
  const laptop = generateKeyPairSync('ed25519');
  let deviceId: string;
  before(async () => {
    h = await openIdentityHarness();
    for (const name of ['hana', 'ivan']) await h.call('POST', '/v1/principals', { token: h.adminToken, body: { kind: 'user', name } });
    hana = (await h.call<{ token: string }>('POST', '/v1/tokens', { token: h.adminToken, body: { principal: 'hana' } })).body.token;
    ivan = (await h.call<{ token: string }>('POST', '/v1/tokens', { token: h.adminToken, body: { principal: 'ivan' } })).body.token;
  });
  after(async () => h.close());

  const proof = (token: string, key: KeyObject, id: string, over: { path?: string; method?: string; time?: number } = {}) => {
    const time = String(over.time ?? h.now());
    const input = deviceSigningInput({ method: over.method ?? 'GET', path: over.path ?? '/v1/auth/session', time, bearer: token });
    return { 'x-coffer-device-id': id, 'x-coffer-device-time': time, 'x-coffer-device-signature': sign(null, input, key).toString('base64url') };
  };
  const session = (token: string, headers: Record<string, string> = {}) => h.call<Session>('GET', '/v1/auth/session', { token, headers });

  test('enrolled but not approved: a signed request is refused, not silently unmanaged', async () => {
    const enrol = await h.call<{ id: string; status: string }>('POST', '/v1/devices', { token: hana, body: { name: 'hana-laptop', publicKey: laptop.publicKey.export({ format: 'jwk' }) } });
    assert.equal(enrol.status, 201);
    assert.equal(enrol.body.status, 'pending');
    deviceId = enrol.body.id;
    const r = await session(hana, proof(hana, laptop.privateKey, deviceId));
    assert.equal(r.status, 401);
    assert.equal(r.body.error!.code, 'COFFER_AUTH_DEVICE_SIGNATURE_INVALID');
    // the owner cannot approve their own device; a private key is refused at enrolment
    assert.equal((await h.call('POST', `/v1/devices/${deviceId}/approve`, { token: hana })).status, 403);
    assert.equal((await h.call('POST', '/v1/devices', { token: hana, body: { name: 'x', publicKey: laptop.privateKey.export({ format: 'jwk' }) } })).status, 400);
  });

  test('approved: only a valid signature by that device, for that principal, sets device.managed', async () => {
    const ok = await h.call<{ status: string }>('POST', `/v1/devices/${deviceId}/approve`, { token: h.adminToken });
    assert.equal(ok.body.status, 'approved');
    assert.deepEqual((await session(hana)).body.device, { managed: false, id: '' }, 'unsigned: unmanaged');
    assert.deepEqual((await session(hana, proof(hana, laptop.privateKey, deviceId))).body.device, { managed: true, id: deviceId });
    const attacks: [string, Record<string, string>, string][] = [
      ['another key under the device id', proof(hana, generateKeyPairSync('ed25519').privateKey, deviceId), hana],
      ['signature of another path', proof(hana, laptop.privateKey, deviceId, { path: '/v1/whoami' }), hana],
      ['signature of another method', proof(hana, laptop.privateKey, deviceId, { method: 'POST' }), hana],
      ['signature bound to another token', proof(ivan, laptop.privateKey, deviceId), hana],
      ['stale time (3 minutes)', proof(hana, laptop.privateKey, deviceId, { time: h.now() - 180_000 }), hana],
      ["another principal's device", proof(ivan, laptop.privateKey, deviceId), ivan],
      ['unknown device', proof(hana, laptop.privateKey, 'dev_unknown'), hana],
    ];
    for (const [what, headers, token] of attacks) {
      const r = await session(token, headers);
      assert.equal(r.status, 401, what);
      assert.equal(r.body.error!.code, 'COFFER_AUTH_DEVICE_SIGNATURE_INVALID', what);
    }
  });

  test('revoked devices stop counting at once', async () => {
    assert.equal((await h.call('POST', `/v1/devices/${deviceId}/revoke`, { token: hana })).status, 200);
    assert.equal((await session(hana, proof(hana, laptop.privateKey, deviceId))).status, 401);
    const all = await h.call<{ items: { id: string; status: string }[] }>('GET', '/v1/devices?all=true', { token: h.adminToken });
    assert.deepEqual(all.body.items.map((d) => d.status), ['revoked']);
  });
});
