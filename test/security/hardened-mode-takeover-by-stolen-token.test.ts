/**
 * Attack (issue 11, finding 8), in hardened mode (`requireStepUpForUserTokens=1`): a
 * stolen API token of a user with no password set a password (there was none to
 * confirm), logged in, registered the thief's security key, stepped up and downloaded
 * restricted data. A first password now needs an enrollment ticket an administrator
 * issued (one-time, short-lived, stored hashed, audited) or a recent second factor,
 * never a bearer credential alone; so no first factor can follow either.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { sql } from 'kysely';
import { runCli } from '../support/cli-process.js';
import { hashToken } from '../../src/identity/token-format.js';
import type { SqlMetadataStore } from '../../src/store/index.js';
import { ADMIN_PASSWORD, auditRecords } from '../integration/access-harness.js';
import { SoftAuthenticator } from '../integration/identity-harness.js';
import { openSecurityHarness } from './security-harness.js';
import type { SecurityHarness } from './security-harness.js';

type Err = { error: { code: string } };
type Ceremony = { ceremonyId: string; options: { challenge: string; rp: { id: string } } };
const THIEF_PASSWORD = 'thief-chosen-password-42';
const PAT_PASSWORD = 'ember-violet-canyon-31';

for (const hardened of [true, false]) {
  void describe(`attack: a stolen token of a user without a password takes the account over (${hardened ? 'hardened mode' : 'default mode'})`, () => {
    let h: SecurityHarness;
    let admin: string;
    let stolen: string;
    const key = new SoftAuthenticator('http://localhost:7443');
    /** A login with password then security key (once the account has one). */
    const keyLogin = async (name: string, password: string): Promise<{ accessToken: string }> => {
      const first = await h.json<{ ticket: string }>(null, 'POST', '/v1/auth/login', { name, password });
      const begun = await h.json<Ceremony>(null, 'POST', '/v1/auth/login/webauthn/begin', { ticket: first.body.ticket });
      const done = await h.json<{ accessToken: string }>(null, 'POST', '/v1/auth/login/webauthn/finish', { ceremonyId: begun.body.ceremonyId, response: key.assert(begun.body.options) });
      assert.equal(done.status, 200, JSON.stringify(done.body));
      return done.body;
    };
    before(async () => {
      h = await openSecurityHarness(hardened ? { requireStepUpForUserTokens: 1 } : {});
      admin = await h.steppedUp('admin');
      assert.equal((await h.json(admin, 'POST', '/v1/principals', { kind: 'user', name: 'pat' })).status, 201);
      assert.equal((await h.json(admin, 'POST', '/v1/grants', { principal: 'pat', role: 'reader', project: 'ml', artifact: 'secret' })).status, 201);
      stolen = (await h.mint(admin, { principal: 'pat' })).body.token;
    });
    after(async () => h.close());

    test('the thief cannot set a first password, so cannot log in, register a key, step up or download', async () => {
      const set = await h.json<Err>(stolen, 'PUT', '/v1/auth/password', { password: THIEF_PASSWORD });
      assert.equal(set.status, 403);
      assert.equal(set.body.error.code, 'COFFER_AUTH_ENROLLMENT_REQUIRED');
      assert.equal((await h.json(null, 'POST', '/v1/auth/login', { name: 'pat', password: THIEF_PASSWORD })).status, 401);
      assert.equal((await h.json<Err>(stolen, 'POST', '/v1/auth/webauthn/registrations')).status, 403, 'factors are registered from a session');
      const up = await h.json<Err>(stolen, 'POST', '/v1/auth/step-up/handoff', { redirect: 'http://127.0.0.1:45123/cb', challenge: 'A'.repeat(43) });
      assert.notEqual(up.status, 200, 'no key to step up with');
      assert.equal(await h.download(stolen, 'secret'), 'COFFER_AUTH_STEP_UP_REQUIRED');
      // nor can it issue itself a ticket
      assert.equal((await h.json(stolen, 'POST', '/v1/principals/pat/enrollment-tickets', {})).status, 403);
    });

    test('a password-only admin session cannot issue enrollment tickets', async () => {
      // olga: an admin with a password and no security key
      assert.equal((await h.json(admin, 'POST', '/v1/principals', { kind: 'user', name: 'olga' })).status, 201);
      assert.equal((await h.json(admin, 'POST', '/v1/groups/admins/members', { member: 'olga' })).status, 204);
      assert.equal((await h.json(admin, 'PUT', '/v1/auth/password', { principal: 'olga', password: ADMIN_PASSWORD })).status, 204);
      const s = await h.login('olga', ADMIN_PASSWORD);
      assert.equal((await h.json<Err>(s.accessToken, 'POST', '/v1/principals/pat/enrollment-tickets', {})).body.error.code, 'COFFER_AUTH_STEP_UP_REQUIRED');
    });

    test('the real user enrolls with an admin-issued ticket: once, in time, stored hashed, audited; then key and step-up', async () => {
      admin = await h.steppedUp('admin');
      const issued = await h.json<{ ticket: string; expiresAt: string; hint: string }>(admin, 'POST', '/v1/principals/pat/enrollment-tickets', { ttlSeconds: 600 });
      assert.equal(issued.status, 201);
      assert.match(issued.body.ticket, /^coffer_enroll_[0-9A-Za-z]{38}$/);
      // stored as a hash only
      const rows = await sql<{ id: string; data: string }>`select id, data from identity_tickets where kind = 'enrollment'`.execute((h.runtime.store as SqlMetadataStore).kysely);
      assert.ok(rows.rows.some((r) => r.id === `enroll:${hashToken(issued.body.ticket)}`));
      assert.ok(rows.rows.every((r) => !r.id.includes(issued.body.ticket) && !r.data.includes(issued.body.ticket)));
      // a weak password does not spend it; a wrong ticket is refused
      assert.equal((await h.json(null, 'POST', '/v1/auth/enroll', { ticket: issued.body.ticket, password: 'pat' })).status, 400);
      assert.equal((await h.json(null, 'POST', '/v1/auth/enroll', { ticket: issued.body.ticket.slice(0, -1) + (issued.body.ticket.endsWith('A') ? 'B' : 'A'), password: PAT_PASSWORD })).status, 401);
      const used = await h.json<{ principal: string }>(null, 'POST', '/v1/auth/enroll', { ticket: issued.body.ticket, password: PAT_PASSWORD });
      assert.equal(used.status, 200);
      assert.equal(used.body.principal, 'pat');
      assert.equal((await h.json(null, 'POST', '/v1/auth/enroll', { ticket: issued.body.ticket, password: 'another-password-77' })).status, 401, 'one use');
      // pat logs in, registers a key, steps up and downloads
      const s = await h.login('pat', PAT_PASSWORD);
      const reg = await h.json<Ceremony>(s.accessToken, 'POST', '/v1/auth/webauthn/registrations');
      assert.equal((await h.json(s.accessToken, 'POST', '/v1/auth/webauthn/registrations/finish', { ceremonyId: reg.body.ceremonyId, response: key.register(reg.body.options) })).status, 201);
      const up = await h.json<Ceremony>(s.accessToken, 'POST', '/v1/auth/step-up');
      assert.equal((await h.json(null, 'POST', '/v1/auth/step-up/finish', { ceremonyId: up.body.ceremonyId, response: key.assert(up.body.options) })).status, 200);
      assert.equal(await h.download(s.accessToken, 'secret'), '200');
      // audited, without the secret
      const records = await auditRecords(h.runtime);
      assert.ok(records.some((r) => r.action === 'manage-principals' && r.resource === 'principal/pat/enrollment' && r.outcome === 'success'));
      assert.ok(records.some((r) => r.action === 'enroll' && r.outcome === 'success' && r.actor?.name === 'pat'));
      assert.ok(records.filter((r) => r.action === 'enroll' && r.outcome === 'denied').length >= 2);
      assert.ok(!JSON.stringify(records).includes(issued.body.ticket), 'the ticket never reaches the audit log');
      assert.ok(!h.logs().includes(issued.body.ticket), 'nor the server log');
    });

    test('an expired ticket is refused; a ticket over an existing password is a reset that ends every credential', async () => {
      const late = await h.json<{ ticket: string }>(admin, 'POST', '/v1/principals/pat/enrollment-tickets', { ttlSeconds: 60 });
      h.advance(61_000);
      assert.equal((await h.json(null, 'POST', '/v1/auth/enroll', { ticket: late.body.ticket, password: 'late-password-12345' })).status, 401);
      const s = await keyLogin('pat', PAT_PASSWORD);
      admin = await h.steppedUp('admin');
      const reset = await h.json<{ ticket: string }>(admin, 'POST', '/v1/principals/pat/enrollment-tickets', {});
      assert.equal((await h.json(null, 'POST', '/v1/auth/enroll', { ticket: reset.body.ticket, password: 'fresh-reset-password-8' })).status, 200);
      assert.equal((await h.json<Err>(s.accessToken, 'GET', '/v1/whoami')).body.error.code, 'COFFER_AUTH_TOKEN_REVOKED');
    });

    test('the CLI: `coffer enrollment-ticket` and `coffer enroll`', async () => {
      admin = await h.steppedUp('admin');
      assert.equal((await h.json(admin, 'POST', '/v1/principals', { kind: 'user', name: 'quinn' })).status, 201);
      const url = await h.listen();
      const cli = async (args: string[], token: string | undefined, stdin?: string) => {
        const r = await runCli(args, { env: { COFFER_URL: url, ...(token ? { COFFER_TOKEN: token } : {}), COFFER_CREDENTIALS_FILE: '/nonexistent/none.json' }, ...(stdin !== undefined ? { stdin } : {}) });
        return { code: r.code, out: r.stdout, err: r.stderr };
      };
      const issued = await cli(['enrollment-ticket', 'quinn', '--ttl', '900'], admin);
      assert.equal(issued.code, 0, issued.err);
      const ticket = issued.out.trim();
      assert.match(issued.err, /enrollment ticket for `quinn` \(coffer_enroll_…\w{4}\), valid once until /);
      const enrolled = await cli(['enroll', '--ticket', ticket, '--password-stdin'], undefined, 'amber-harbor-lantern-63\n');
      assert.equal(enrolled.code, 0, enrolled.err);
      assert.match(enrolled.out, /password set for `quinn`/);
      assert.equal((await h.json(null, 'POST', '/v1/auth/login', { name: 'quinn', password: 'amber-harbor-lantern-63' })).status, 200);
    });
  });
}
