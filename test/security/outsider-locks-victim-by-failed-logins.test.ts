/**
 * Attack (issue 11, finding 11, part): failed password guesses were recorded with the
 * victim as the actor, so the monitor's probing detector raised an alert against the
 * victim; with that rule set to lock, an outsider could lock any account by typing its
 * name with wrong passwords. A failed authentication now has no actor; the account it
 * named is `context.target`, and the monitor counts it against the source address (also
 * for records written before the fix).
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parseAuditRecord } from '../../src/monitor/monitor-event.js';
import { auditRecords } from '../integration/access-harness.js';
import { openSecurityHarness } from './security-harness.js';
import type { SecurityHarness } from './security-harness.js';

void describe('attack: an outsider locks an account with wrong passwords', () => {
  let h: SecurityHarness;
  const rules = join(tmpdir(), `coffer-sec-probing-${process.pid}.json`);
  before(async () => {
    writeFileSync(rules, JSON.stringify({ probing: { action: 'lock', maxDenials: 5, cooldownMinutes: 0 } }));
    h = await openSecurityHarness({ monitorRulesFile: rules });
  });
  after(async () => h.close());

  test('ten wrong passwords for erin from one address: erin is not locked, the address is what the monitor sees', async () => {
    for (let i = 0; i < 10; i++) {
      const r = await h.app.inject({ method: 'POST', url: '/v1/auth/login', payload: { name: 'erin', password: `guess-${i}` }, remoteAddress: '203.0.113.66' });
      assert.ok(r.statusCode === 401 || r.statusCode === 429, r.body);
    }
    // and a few with a second-factor ticket that does not exist
    for (let i = 0; i < 3; i++) await h.app.inject({ method: 'POST', url: '/v1/auth/login/mfa', payload: { ticket: `mfa_${'x'.repeat(32)}`, code: '123456' }, remoteAddress: '203.0.113.66' });
    await h.runtime.monitor.idle();
    assert.equal(await h.download(h.erinToken, 'open'), '200', 'erin works on');
    const admin = await h.steppedUp('admin');
    const locks = await h.json<{ items: Array<{ principal: string }> }>(admin, 'GET', '/v1/monitor/locks');
    assert.deepEqual(locks.body.items.map((l) => l.principal), []);
    const alerts = await h.json<{ items: Array<{ principal: string | null; principalKey?: string; rule: string; summary: string }> }>(admin, 'GET', '/v1/monitor/alerts');
    const probing = alerts.body.items.filter((a) => a.rule === 'probing');
    assert.ok(probing.length >= 1, 'the burst is still noticed');
    for (const a of probing) assert.notEqual(a.principal, 'erin', JSON.stringify(a));
    assert.ok(probing.some((a) => a.summary.includes('203.0.113.66')), JSON.stringify(probing));
    // the records name the target as a field, never as the actor
    const failed = (await auditRecords(h.runtime)).filter((r) => r.action === 'login' && r.outcome === 'denied');
    assert.ok(failed.length >= 10);
    for (const r of failed) assert.equal(r.actor, null, JSON.stringify(r));
    assert.equal(failed.filter((r) => r.context.target === 'erin').length, 10);
  });

  test('a record from before the fix (the victim as actor of a refused login) is counted against the address', () => {
    const legacy = JSON.stringify({ v: 1, time: 1, requestId: 'r', actor: { id: 'prn_erin', name: 'erin', kind: 'user' }, action: 'login', resource: 'principal/erin', decision: 'deny', policies: [], outcome: 'denied', reason: 'COFFER_AUTH_INVALID_CREDENTIALS', context: { sourceIp: '203.0.113.66' } });
    const e = parseAuditRecord(7, legacy);
    assert.ok(e);
    assert.equal(e.actor, null);
    assert.equal(e.principalKey, 'ip:203.0.113.66');
    // an allowed login is the account's own behaviour
    const ok = parseAuditRecord(8, legacy.replace('"deny"', '"allow"').replace('"denied"', '"success"'));
    assert.equal(ok?.principalKey, 'prn_erin');
  });
});
