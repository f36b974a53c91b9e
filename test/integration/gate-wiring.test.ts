/**
 * The artifact gate on the way in (issue 17), against a real runtime and app: every new
 * version is scanned from its sealed bytes, its verdict is audited and stored, policy sees
 * it (`resource.scan`), the baseline blocks promotion to prod of unsafe code and secrets
 * (with the reason, COFFER_GATE_BLOCKED), personal data raises the version's tier to
 * restricted, an exception needs someone else's approval and can be revoked, the queue
 * survives a scanner that stopped, and hidden versions stay hidden.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { ScanInfo } from '../../src/client/gate-client.js';
import { VersionScanner } from '../../src/service/scan/version-scanner.js';
import { findVersion } from '../../src/service/resources.js';
import { repoRoot } from '../support/paths.js';
import { auditRecords, openAccessHarness } from './access-harness.js';
import type { AccessHarness } from './access-harness.js';

const fixture = (name: string) => readFileSync(join(repoRoot(), 'test/fixtures/gate', name));

void describe('artifact gate wiring', () => {
  let h: AccessHarness;
  let olivia: string;
  let dana: string;
  before(async () => {
    h = await openAccessHarness();
    olivia = await h.principal('olivia');
    dana = await h.principal('dana');
    await h.call(h.adminToken, 'POST', '/v1/projects', { name: 'vision' });
    await h.call(h.adminToken, 'POST', '/v1/grants', { principal: 'olivia', role: 'owner', project: 'vision' });
    await h.call(h.adminToken, 'POST', '/v1/grants', { principal: 'dana', role: 'reader', project: 'vision' });
    for (const [name, kind] of [['models/evil', 'model'], ['models/good', 'model'], ['data/customers.csv', 'dataset'], ['configs/app', 'dataset']] as const) {
      const r = await h.call(olivia, 'POST', '/v1/projects/vision/artifacts', { name, kind, tier: 'internal', environment: 'dev' });
      assert.equal(r.statusCode, 201, r.body);
    }
    await h.push(olivia, 'vision', 'models/evil', fixture('models/malicious/os_system_p4.pkl'));
    await h.push(olivia, 'vision', 'models/good', fixture('models/benign/resnet_state_dict.pt'));
    await h.push(olivia, 'vision', 'data/customers.csv', fixture('text/customers.csv'));
    await h.push(olivia, 'vision', 'configs/app', fixture('text/config.env'));
    await h.runtime.scanner.drain();
  });
  after(async () => h.close());

  type Err = { error: { code: string; message: string } };
  const scanOf = (token: string, artifact: string, version = 1) => h.call(token, 'GET', `/v1/gate/scans?project=vision&artifact=${encodeURIComponent(artifact)}&version=${version}`);
  const promote = (token: string, artifact: string, version: number, to: string) => h.call(token, 'POST', '/v1/promotions', { project: 'vision', artifact, version, to, justification: 'eval passed' });

  void it('scans every new version and keeps counts and locations, never values', async () => {
    const evil = (await scanOf(olivia, 'models/evil')).json();
    assert.equal(evil.state, 'flagged');
    assert.equal(evil.unsafeCode, true);
    assert.equal(evil.report.unsafeCode.outcome, 'flagged');
    const good = (await scanOf(olivia, 'models/good')).json();
    assert.deepEqual([good.state, good.unsafeCode, good.secrets, good.pii], ['clean', false, false, false], JSON.stringify(good.report));
    const cfg = (await scanOf(olivia, 'configs/app')).json();
    assert.equal(cfg.secrets, true);
    const customers = await scanOf(olivia, 'data/customers.csv');
    assert.equal(customers.statusCode, 200);
    const c = customers.json<ScanInfo>();
    assert.equal(c.pii, true);
    assert.equal(c.effectiveTier, 'restricted', 'personal data raises the tier for review');
    assert.ok(c.report!.pii.findings.some((f) => f.location?.row !== undefined && f.location?.field !== undefined), 'CSV findings name row and column');
    // values never leave the scanners: not in the API report, not in the audit log
    const body = customers.body + cfg.body;
    for (const value of ['omar.kowalski86@uni.example.edu', '487-62-7400', '5529-2788-5751-1235', 'coffer_share_fio9aEwxy5fmW8MIIVGErVYGQ0iZd6yY3OObIP', 'MVc+JFxaFqH6LWB9']) assert.ok(!body.includes(value), `report leaks ${value}`);
    const scans = (await auditRecords(h.runtime)).filter((r) => r.action === 'gate-scan');
    assert.equal(scans.length, 4, 'one audit record per verdict');
    assert.ok(scans.every((r) => r.actor === null && r.outcome === 'success'));
    assert.ok(!JSON.stringify(scans).includes('omar.kowalski86'));
    assert.deepEqual(scans.map((r) => r.context.state).sort(), ['clean', 'flagged', 'flagged', 'flagged']);
  });

  void it('blocks promotion to prod of unsafe code and secrets, and says why', async () => {
    assert.equal((await promote(olivia, 'models/evil', 1, 'staging')).statusCode, 201, 'the gate does not stop work in progress');
    const blocked = await promote(olivia, 'models/evil', 1, 'prod');
    assert.equal(blocked.statusCode, 403, blocked.body);
    assert.equal(blocked.json().error.code, 'COFFER_GATE_BLOCKED');
    assert.match(blocked.json<Err>().error.message, /unsafe serialized code/);
    assert.equal((await promote(olivia, 'configs/app', 1, 'staging')).statusCode, 201);
    const secrets = await promote(olivia, 'configs/app', 1, 'prod');
    assert.equal(secrets.json().error.code, 'COFFER_GATE_BLOCKED');
    assert.match(secrets.json<Err>().error.message, /secrets/);
    // a clean model goes the ordinary way: an approval request for prod
    assert.equal((await promote(olivia, 'models/good', 1, 'staging')).statusCode, 201);
    const clean = await promote(olivia, 'models/good', 1, 'prod');
    assert.equal(clean.statusCode, 202, clean.body);
    const denied = (await auditRecords(h.runtime)).filter((r) => r.action === 'promote' && r.outcome === 'denied');
    assert.ok(denied.some((r) => r.reason === 'COFFER_GATE_BLOCKED' && r.policies.includes('gate/promotion')), 'the refusal names the gate policy');
  });

  void it('hides a version with personal data from readers without an explicit grant', async () => {
    const pii = await h.call(dana, 'GET', `/v1/projects/vision/artifacts/${encodeURIComponent('data/customers.csv')}/versions/1/content`);
    const missing = await h.call(dana, 'GET', `/v1/projects/vision/artifacts/${encodeURIComponent('data/customers.csv')}/versions/9/content`);
    assert.equal(pii.statusCode, 404, 'restricted now: hidden like a missing version');
    assert.equal(pii.json().error.code, missing.json().error.code);
    assert.equal((await scanOf(dana, 'data/customers.csv')).statusCode, 404, 'the report of a hidden version is hidden too');
    assert.equal((await h.call(dana, 'POST', '/v1/gate/exceptions', { project: 'vision', artifact: 'data/customers.csv', version: 1, justification: 'x' })).statusCode, 404);
    const clean = await h.call(dana, 'GET', `/v1/projects/vision/artifacts/${encodeURIComponent('models/good')}/versions/1/content`);
    assert.equal(clean.statusCode, 200, 'other versions stay readable');
  });

  void it('lifts a block only with an approved exception by someone else, and revocation restores it', async () => {
    const asked = await h.call(olivia, 'POST', '/v1/gate/exceptions', { project: 'vision', artifact: 'models/evil', version: 1, justification: 'sandboxed red-team model' });
    assert.equal(asked.statusCode, 201, asked.body);
    const id = asked.json().id as string;
    assert.equal(asked.json().kind, 'gate-exception');
    assert.equal((await h.call(olivia, 'POST', '/v1/gate/exceptions', { project: 'vision', artifact: 'models/evil', version: 1, justification: 'again' })).statusCode, 409, 'one pending exception per version and requester');
    assert.equal((await h.call(olivia, 'POST', `/v1/access/requests/${id}/approve`, {})).json().error.code, 'COFFER_ACCESS_SELF_APPROVAL');
    assert.equal((await promote(olivia, 'models/evil', 1, 'prod')).json().error.code, 'COFFER_GATE_BLOCKED', 'pending is not approved');
    const approved = await h.call(h.adminToken, 'POST', `/v1/access/requests/${id}/approve`, { comment: 'accepted risk' });
    assert.equal(approved.statusCode, 200, approved.body);
    assert.equal((await scanOf(olivia, 'models/evil')).json().exceptionRequestId, id);
    assert.equal((await promote(olivia, 'models/evil', 1, 'prod')).statusCode, 202, 'the gate lets it through to the ordinary prod approval');
    assert.equal((await h.call(h.adminToken, 'POST', `/v1/access/requests/${id}/revoke`, { reason: 'risk re-assessed' })).statusCode, 200);
    assert.equal((await scanOf(olivia, 'models/evil')).json().exceptionRequestId, null);
    // the promote request filed above is still pending; the gate decides before it is used
    assert.equal((await promote(olivia, 'models/evil', 1, 'prod')).json().error.code, 'COFFER_GATE_BLOCKED');
    assert.equal((await h.call(olivia, 'POST', '/v1/gate/exceptions', { project: 'vision', artifact: 'models/good', version: 1, justification: 'x' })).statusCode, 409, 'nothing to except on a clean version');
  });

  void it('keeps the queue in the versions table: a version left pending is scanned later, or at promotion', async () => {
    await h.runtime.scanner.stop();
    await h.push(olivia, 'vision', 'models/good', randomBytes(50_000));
    const pending = (await scanOf(olivia, 'models/good', 2)).json();
    assert.equal(pending.state, 'pending');
    assert.equal(pending.report, null);
    // a new scanner (a restart, another node) finds it in the table
    await new VersionScanner(h.runtime.service.deps).drain();
    assert.equal((await scanOf(olivia, 'models/good', 2)).json().state, 'clean');

    await h.push(olivia, 'vision', 'models/evil', fixture('models/malicious/os_system_p4.pkl'));
    assert.equal((await promote(olivia, 'models/evil', 2, 'staging')).statusCode, 201);
    // promotion settles the verdict itself instead of refusing a version as pending
    const blocked = await promote(olivia, 'models/evil', 2, 'prod');
    assert.equal(blocked.json().error.code, 'COFFER_GATE_BLOCKED');
    assert.match(blocked.json<Err>().error.message, /unsafe serialized code/);
    const v2 = (await findVersion(h.runtime.service.deps, 'vision', 'models/evil', 2))!.version;
    assert.equal(v2.scan?.state, 'flagged');
  });
});
