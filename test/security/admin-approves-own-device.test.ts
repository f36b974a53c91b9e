/**
 * Attack (issue 11, finding 9): an administrator could approve their own device,
 * although the docs and a code comment said nobody could; a device's approval is an
 * attestation by someone else that the device is managed. Device decisions now use the
 * four-eyes check of every approval path: not one's own device, nor one of one's
 * service accounts, nor a sibling's.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { openAccessHarness } from '../integration/access-harness.js';
import type { AccessHarness } from '../integration/access-harness.js';

type Err = { error: { code: string } };

void describe('attack: an admin approves their own device', () => {
  let h: AccessHarness;
  let admin2: string;
  let bot: string;
  before(async () => {
    h = await openAccessHarness();
    admin2 = await h.principal('olga');
    assert.equal((await h.call(h.adminToken, 'POST', '/v1/groups/admins/members', { member: 'olga' })).statusCode, 204);
    bot = await h.principal('admin-bot', { kind: 'service-account', owner: 'admin' });
  });
  after(async () => h.close());

  const enrol = async (token: string, name: string) => {
    const key = generateKeyPairSync('ed25519').publicKey.export({ format: 'jwk' });
    const r = await h.call(token, 'POST', '/v1/devices', { name, publicKey: key });
    assert.equal(r.statusCode, 201, r.body);
    return r.json<{ id: string }>().id;
  };
  const decide = async (token: string, id: string, verb: 'approve' | 'reject') => {
    const r = await h.call(token, 'POST', `/v1/devices/${id}/${verb}`);
    return r.statusCode === 200 ? r.json<{ status: string }>().status : r.json<Err>().error.code;
  };

  test('the admin\'s own device: not approved, nor rejected, by that admin; another admin can', async () => {
    const id = await enrol(h.adminToken, 'admin-laptop');
    assert.equal(await decide(h.adminToken, id, 'approve'), 'COFFER_ACCESS_SELF_APPROVAL');
    assert.equal(await decide(h.adminToken, id, 'reject'), 'COFFER_ACCESS_SELF_APPROVAL');
    const listed = await h.call(h.adminToken, 'GET', '/v1/devices');
    assert.equal(listed.json<{ items: Array<{ id: string; status: string }> }>().items.find((d) => d.id === id)?.status, 'pending');
    assert.equal(await decide(admin2, id, 'approve'), 'approved');
  });

  test('a device of the admin\'s service account is the admin\'s party too', async () => {
    const id = await enrol(bot, 'build-runner');
    assert.equal(await decide(h.adminToken, id, 'approve'), 'COFFER_ACCESS_SELF_APPROVAL');
    assert.equal(await decide(admin2, id, 'approve'), 'approved');
  });

  test('the refusal is recorded', async () => {
    await h.runtime.audit.flush();
    const lines: string[] = [];
    for await (const l of h.runtime.audit.export(1)) lines.push(l);
    const refused = lines.map((l) => (JSON.parse(l) as { body?: { action: string; resource: string; reason: string | null; actor: { name: string } | null } }).body).filter((b) => b?.reason === 'COFFER_ACCESS_SELF_APPROVAL' && b.resource.startsWith('device/'));
    assert.ok(refused.length >= 3);
    assert.ok(refused.every((b) => b?.actor?.name === 'admin'));
  });
});
