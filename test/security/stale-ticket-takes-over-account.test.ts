/**
 * Attack class (issue 11, findings 4 and 8, beyond their instances): one-time tickets
 * that outlive what they were issued for. An enrollment ticket is a password reset in
 * waiting; an MFA step begun with a password is a session in waiting. Seen before the
 * fix: an administrator issued a second enrollment ticket (the first one was lost, or
 * sent to the wrong place) and the user enrolled with it, yet the first one still set
 * a new password a day later and logged in; a ticket issued before the account was
 * disabled worked once it was enabled again; an MFA step begun with the old password
 * was completed after the password was reset. Now a new enrollment ticket voids the
 * earlier ones, setting a password voids them all, and anything that ends a principal's
 * credentials (password change, disable, lock, deletion) voids every outstanding ticket
 * of the principal (src/store/sql/credential-sql-store.ts revoke). And a ticket is
 * spent exactly once however many present it at the same time.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { base32Decode, totp } from '../../src/identity/totp.js';
import { openSecurityHarness } from './security-harness.js';
import type { SecurityHarness } from './security-harness.js';

type Err = { error: { code: string } };

void describe('attack: a stale one-time ticket takes an account over', () => {
  let h: SecurityHarness;
  let admin: string;
  before(async () => {
    h = await openSecurityHarness();
    admin = await h.steppedUp('admin');
    for (const name of ['uma', 'vic', 'wes', 'xan']) assert.equal((await h.json(admin, 'POST', '/v1/principals', { kind: 'user', name })).status, 201);
  });
  after(async () => h.close());

  const issue = async (name: string): Promise<string> => {
    const r = await h.json<{ ticket: string }>(admin, 'POST', `/v1/principals/${name}/enrollment-tickets`, {});
    assert.equal(r.status, 201, JSON.stringify(r.body));
    return r.body.ticket;
  };
  const enroll = (ticket: string, password: string) => h.json<Err & { principal: string }>(null, 'POST', '/v1/auth/enroll', { ticket, password });
  const login = (name: string, password: string) => h.json(null, 'POST', '/v1/auth/login', { name, password });

  test('the same ticket presented ten times at once sets one password', async () => {
    const ticket = await issue('uma');
    const passwords = Array.from({ length: 10 }, (_, i) => `racing-${i}-orchid-harbor-86`);
    const answers = await Promise.all(passwords.map((p) => enroll(ticket, p)));
    const won = answers.flatMap((a, i) => (a.status === 200 ? [passwords[i]!] : []));
    assert.equal(won.length, 1, answers.map((a) => a.status).join(' '));
    assert.ok(answers.every((a) => a.status === 200 || a.body.error.code === 'COFFER_AUTH_INVALID_CREDENTIALS'));
    assert.equal((await login('uma', won[0]!)).status, 200, 'the password of the one that won is the one set');
  });

  test('an earlier ticket is void once a later one is issued, and every ticket once a password is set', async () => {
    const lost = await issue('vic');
    const sent = await issue('vic');
    assert.equal((await enroll(lost, 'thief-chosen-canyon-95')).status, 401, 'the earlier ticket is void');
    assert.equal((await enroll(sent, 'lantern-orchid-basalt-41')).status, 200);
    // a ticket issued while another was being used (two admins at once) is void once the password is set
    admin = await h.steppedUp('admin');
    const third = await issue('vic');
    assert.equal((await h.json(admin, 'PUT', '/v1/auth/password', { principal: 'vic', password: 'copper-willow-glacier-52' })).status, 204);
    assert.equal((await enroll(third, 'thief-chosen-canyon-95')).status, 401);
    assert.equal((await login('vic', 'thief-chosen-canyon-95')).status, 401);
  });

  test('a ticket issued before the account was disabled does not work once it is enabled again', async () => {
    const ticket = await issue('wes');
    assert.equal((await h.json(admin, 'POST', '/v1/principals/wes/disable', {})).status, 204);
    assert.equal((await h.json(admin, 'POST', '/v1/principals/wes/enable', {})).status, 204);
    const r = await enroll(ticket, 'thief-chosen-canyon-95');
    assert.equal(r.status, 401, JSON.stringify(r.body));
    assert.equal((await login('wes', 'thief-chosen-canyon-95')).status, 401);
  });

  test('an MFA step begun with the old password cannot be completed after a password reset', async () => {
    admin = await h.steppedUp('admin');
    assert.equal((await h.json(admin, 'PUT', '/v1/auth/password', { principal: 'xan', password: 'maple-quarry-nebula-63' })).status, 204);
    const s = await h.login('xan', 'maple-quarry-nebula-63');
    const enrol = await h.json<{ secret: string }>(s.accessToken, 'POST', '/v1/auth/totp');
    const secret = base32Decode(enrol.body.secret)!;
    assert.equal((await h.json(s.accessToken, 'POST', '/v1/auth/totp/confirm', { code: totp(secret, h.now()) })).status, 200);
    h.advance(60_000);
    // the attacker has the old password (and a code generator of the victim's): begins a login
    const begun = await h.json<{ ticket: string; status: string }>(null, 'POST', '/v1/auth/login', { name: 'xan', password: 'maple-quarry-nebula-63' });
    assert.equal(begun.body.status, 'mfa-required');
    // the compromise is noticed: the administrator resets the password
    assert.equal((await h.json(admin, 'PUT', '/v1/auth/password', { principal: 'xan', password: 'harbor-thistle-comet-74' })).status, 204);
    const done = await h.json<Err>(null, 'POST', '/v1/auth/login/mfa', { ticket: begun.body.ticket, code: totp(secret, h.now()) });
    assert.equal(done.status, 401, JSON.stringify(done.body));
    assert.equal(done.body.error.code, 'COFFER_AUTH_INVALID_CREDENTIALS');
  });
});
