/**
 * Attack (issue 11, finding 6): a correct password cleared the account's failure
 * counter, so whoever knew the password could guess TOTP codes at the per-address rate
 * (and from many addresses, without limit). Second factors now have their own
 * per-account counter (TOTP, recovery codes, security keys), reserved before each
 * verification and cleared only by a successful second factor.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { base32Decode, totp } from '../../src/identity/totp.js';
import { SoftAuthenticator, openIdentityHarness } from '../integration/identity-harness.js';
import type { IdentityHarness } from '../integration/identity-harness.js';

type Err = { error: { code: string } };
type Ceremony = { ceremonyId: string; options: { challenge: string; rp: { id: string } } };
const PASSWORD = 'quartz-meadow-falcon-77';

void describe('attack: guessing second factors with a known password', () => {
  let h: IdentityHarness;
  let secret: Buffer;
  let recovery: string[];
  const key = new SoftAuthenticator('http://localhost:7443');
  let ip = 0;

  before(async () => {
    h = await openIdentityHarness();
    for (const name of ['erin', 'kim']) {
      assert.equal((await h.call('POST', '/v1/principals', { token: h.adminToken, body: { kind: 'user', name } })).status, 201);
      assert.equal((await h.call('PUT', '/v1/auth/password', { token: h.adminToken, body: { principal: name, password: PASSWORD } })).status, 204);
    }
    // erin sets up TOTP; kim a security key
    const s = (await h.call<{ accessToken: string }>('POST', '/v1/auth/login', { body: { name: 'erin', password: PASSWORD } })).body;
    const enrol = await h.call<{ secret: string }>('POST', '/v1/auth/totp', { token: s.accessToken });
    secret = base32Decode(enrol.body.secret)!;
    const confirmed = await h.call<{ recoveryCodes: string[] }>('POST', '/v1/auth/totp/confirm', { token: s.accessToken, body: { code: totp(secret, h.now()) } });
    assert.equal(confirmed.status, 200);
    recovery = confirmed.body.recoveryCodes;
    const k = (await h.call<{ accessToken: string }>('POST', '/v1/auth/login', { body: { name: 'kim', password: PASSWORD } })).body;
    const reg = await h.call<Ceremony>('POST', '/v1/auth/webauthn/registrations', { token: k.accessToken });
    assert.equal((await h.call('POST', '/v1/auth/webauthn/registrations/finish', { token: k.accessToken, body: { ceremonyId: reg.body.ceremonyId, response: key.register(reg.body.options) } })).status, 201);
    h.advance(60_000);
  });
  after(async () => h.close());

  /** A correct password from a new address each time (the attacker has many): the MFA ticket. */
  const ticket = async (name: string): Promise<string> => {
    const r = await h.app.inject({ method: 'POST', url: '/v1/auth/login', payload: { name, password: PASSWORD }, remoteAddress: `198.51.100.${++ip}` });
    assert.equal(r.statusCode, 200, r.body);
    return r.json<{ ticket: string }>().ticket;
  };
  const code = async (t: string, c: string) => {
    const r = await h.app.inject({ method: 'POST', url: '/v1/auth/login/mfa', payload: { ticket: t, code: c }, remoteAddress: `198.51.100.${++ip}` });
    return r.statusCode === 200 ? '200' : r.json<Err>().error.code;
  };
  const wrong = () => (totp(secret, h.now()) === '000000' ? '111111' : '000000');

  test('TOTP: five wrong codes, then even the right one is refused, whatever the address and however many correct passwords', async () => {
    for (let i = 0; i < 5; i++) assert.equal(await code(await ticket('erin'), wrong()), 'COFFER_AUTH_INVALID_CREDENTIALS', `guess ${i + 1}`);
    assert.equal(await code(await ticket('erin'), wrong()), 'COFFER_RATE_LIMITED');
    assert.equal(await code(await ticket('erin'), totp(secret, h.now())), 'COFFER_RATE_LIMITED', 'the right code waits too');
    assert.equal(await code(await ticket('erin'), recovery[0]!), 'COFFER_RATE_LIMITED', 'and a recovery code');
    // the block doubles: one guess after it, then a longer one
    h.advance(61_000);
    assert.equal(await code(await ticket('erin'), wrong()), 'COFFER_AUTH_INVALID_CREDENTIALS');
    h.advance(61_000);
    assert.equal(await code(await ticket('erin'), totp(secret, h.now())), 'COFFER_RATE_LIMITED');
    h.advance(61_000);
    // the owner, with the right code, gets in and clears the count
    assert.equal(await code(await ticket('erin'), totp(secret, h.now())), '200');
    h.advance(30_000);
    assert.equal(await code(await ticket('erin'), wrong()), 'COFFER_AUTH_INVALID_CREDENTIALS', 'counting starts again');
  });

  test('concurrent guesses with many tickets: at most five are verified', async () => {
    h.advance(25 * 3600_000);
    await code(await ticket('erin'), totp(secret, h.now())); // a success clears the day's count
    h.advance(30_000);
    const tickets: string[] = [];
    for (let i = 0; i < 20; i++) tickets.push(await ticket('erin'));
    const answers = await Promise.all(tickets.map((t, i) => code(t, String(100000 + i))));
    const verified = answers.filter((a) => a !== 'COFFER_RATE_LIMITED').length;
    assert.ok(verified <= 5, `verified ${verified}: ${answers.join(' ')}`);
  });

  test('security keys: failed assertions count on the same per-account limit', async () => {
    const attempt = async (good: boolean) => {
      const t = await ticket('kim');
      const begin = await h.call<Ceremony>('POST', '/v1/auth/login/webauthn/begin', { body: { ticket: t } });
      const response = good ? key.assert(begin.body.options) : key.assert(begin.body.options, { origin: 'https://phish.example' });
      const r = await h.call<Err>('POST', '/v1/auth/login/webauthn/finish', { body: { ceremonyId: begin.body.ceremonyId, response } });
      return r.status === 200 ? '200' : r.body.error.code;
    };
    for (let i = 0; i < 5; i++) assert.equal(await attempt(false), 'COFFER_AUTH_INVALID_CREDENTIALS');
    assert.equal(await attempt(true), 'COFFER_RATE_LIMITED', 'even the real key waits once the limit is reached');
    h.advance(61_000);
    assert.equal(await attempt(true), '200');
  });
});
