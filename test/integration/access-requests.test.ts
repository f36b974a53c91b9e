/**
 * Just-in-time access requests against a real runtime and app (SQLite, real policy
 * engine, real audit log), with an injected clock: request -> approval by an owner ->
 * use -> refused one second after expiry; N-of-M; no self-approval (nor by one's own
 * service account); bad durations; decided and expired requests; racing approvals;
 * early revoke; listings; everything in the audit log.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { auditRecords, openAccessHarness } from './access-harness.js';
import type { AccessHarness } from './access-harness.js';

interface RequestJson {
  id: string;
  state: string;
  grantId: string | null;
  endsAt: string | null;
  approvals: Array<{ approver: string }>;
  approvalsRequired: number;
  requester: string;
  scope: string;
}

const HOUR = 3_600_000;

interface World {
  h: AccessHarness;
  olivia: string;
  dana: string;
  ron: string;
  model: Buffer;
}

async function world(flags: Record<string, unknown> = {}): Promise<World> {
  const h = await openAccessHarness(flags);
  const olivia = await h.principal('olivia');
  const dana = await h.principal('dana');
  const ron = await h.principal('ron');
  const admin = h.adminToken;
  assert.equal((await h.call(admin, 'POST', '/v1/projects', { name: 'vision' })).statusCode, 201);
  assert.equal((await h.call(admin, 'POST', '/v1/grants', { principal: 'olivia', role: 'owner', project: 'vision' })).statusCode, 201);
  assert.equal((await h.call(olivia, 'POST', '/v1/projects/vision/artifacts', { name: 'models/resnet', kind: 'model', tier: 'restricted', environment: 'dev' })).statusCode, 201);
  assert.equal((await h.call(olivia, 'POST', '/v1/projects/vision/artifacts', { name: 'datasets/sample', kind: 'dataset', tier: 'internal', environment: 'dev' })).statusCode, 201);
  const model = randomBytes(200_000);
  await h.push(olivia, 'vision', 'models/resnet', model);
  await h.push(olivia, 'vision', 'datasets/sample', randomBytes(1000));
  return { h, olivia, dana, ron, model };
}

const download = (w: World, token: string) => w.h.call(token, 'GET', `/v1/projects/vision/artifacts/${encodeURIComponent('models/resnet')}/versions/1/content`);
const request = (w: World, token: string, body: Record<string, unknown>) =>
  w.h.call(token, 'POST', '/v1/access/requests', { project: 'vision', artifact: 'models/resnet', role: 'reader', durationSeconds: 7200, justification: 'retrain the detector on the new labels', ...body });

void describe('access requests', () => {
  let w: World;
  before(async () => {
    w = await world();
  });
  after(async () => w.h.close());

  void it('gives a data scientist reader on a restricted model for 2 hours through an owner approval, and refuses one second after expiry', async () => {
    const { h } = w;
    assert.equal((await download(w, w.dana)).statusCode, 404, 'hidden before any grant');

    const created = await request(w, w.dana, { ticket: 'DS-42' });
    assert.equal(created.statusCode, 201, created.body);
    const req = created.json<RequestJson>();
    assert.equal(req.state, 'pending');
    assert.equal(req.grantId, null, 'nothing is granted at request time');
    assert.equal(req.approvalsRequired, 1);
    assert.equal((await download(w, w.dana)).statusCode, 404, 'a pending request grants nothing');

    h.advance(10 * 60_000); // the grant starts at approval, not at request time
    const approvedAt = h.now();
    const approved = await h.call(w.olivia, 'POST', `/v1/access/requests/${req.id}/approve`, { comment: 'ok for DS-42' });
    assert.equal(approved.statusCode, 200, approved.body);
    const a = approved.json<RequestJson>();
    assert.equal(a.state, 'active');
    assert.ok(a.grantId);
    assert.equal(Date.parse(a.endsAt!), approvedAt + 2 * HOUR);

    const ok = await download(w, w.dana);
    assert.equal(ok.statusCode, 200);
    assert.ok(ok.rawPayload.equals(w.model));

    h.setNow(approvedAt + 2 * HOUR - 1);
    assert.equal((await download(w, w.dana)).statusCode, 200, 'still valid 1 ms before expiry');
    h.setNow(approvedAt + 2 * HOUR);
    assert.equal((await download(w, w.dana)).statusCode, 404, 'ends exactly at expiry');
    h.setNow(approvedAt + 2 * HOUR + 1000);
    assert.equal((await download(w, w.dana)).statusCode, 404, 'refused one second after expiry');
    assert.equal((await h.call(w.dana, 'GET', `/v1/access/requests/${req.id}`)).json().state, 'ended');

    // the end is recorded once, even though nothing needed it to deny
    assert.equal(await h.runtime.access.service.sweepExpired(), 1);
    assert.equal(await h.runtime.access.service.sweepExpired(), 0);

    const records = await auditRecords(h.runtime);
    const mine = records.filter((r) => JSON.stringify(r).includes(req.id) || r.policies.includes(a.grantId!));
    const summary = mine.map((r) => `${r.action}:${r.outcome}`);
    assert.ok(summary.includes('request-access:attempt') && summary.includes('request-access:success'), summary.join(' '));
    assert.ok(summary.includes('approve-access:success'));
    assert.ok(summary.includes('access-expire:success'));
    const uses = records.filter((r) => r.action === 'download' && r.policies.includes(a.grantId!) && r.outcome === 'success');
    assert.ok(uses.length >= 2, 'each use names the grant that allowed it');
    assert.ok(records.some((r) => r.action === 'download' && r.actor?.name === 'dana' && r.outcome === 'denied' && r.time === approvedAt + 2 * HOUR + 1000));
  });

  void it('refuses durations above the role maximum, and nonsense', async () => {
    const tooLong = await request(w, w.dana, { durationSeconds: 7 * 86400 + 1 });
    assert.equal(tooLong.statusCode, 400);
    assert.equal(tooLong.json().error.code, 'COFFER_ACCESS_DURATION_INVALID');
    assert.match(tooLong.json<{ error: { message: string } }>().error.message, /exceeds the maximum of 7d for role `reader`/);
    const owner = await request(w, w.dana, { role: 'owner', durationSeconds: 9 * 3600 });
    assert.equal(owner.json().error.code, 'COFFER_ACCESS_DURATION_INVALID');
    assert.equal((await request(w, w.dana, { durationSeconds: 0 })).statusCode, 400);
    assert.equal((await request(w, w.dana, { justification: '   ' })).json().error.code, 'COFFER_VALIDATION_FAILED');
    assert.equal((await request(w, w.dana, { role: 'admin' })).statusCode, 400);
    assert.equal((await request(w, w.dana, { artifact: 'models/nope' })).statusCode, 404);
    const records = await auditRecords(w.h.runtime);
    assert.ok(records.some((r) => r.action === 'request-access' && r.outcome === 'failure' && r.reason === 'COFFER_ACCESS_DURATION_INVALID'), 'refused requests are recorded too');
  });

  void it('never lets a requester, its own service account, or someone without the right approve', async () => {
    const { h } = w;
    const bot = await h.principal('dana-bot', { kind: 'service-account', owner: 'dana' });
    const req = (await request(w, w.dana, {})).json<RequestJson>();
    const self = await h.call(w.dana, 'POST', `/v1/access/requests/${req.id}/approve`, {});
    assert.equal(self.statusCode, 403);
    assert.equal(self.json().error.code, 'COFFER_ACCESS_SELF_APPROVAL');
    const viaBot = await h.call(bot, 'POST', `/v1/access/requests/${req.id}/approve`, {});
    assert.equal(viaBot.json().error.code, 'COFFER_ACCESS_SELF_APPROVAL');
    const stranger = await h.call(w.ron, 'POST', `/v1/access/requests/${req.id}/approve`, {});
    assert.equal(stranger.statusCode, 404, 'someone who may not even see the scope gets not found');
    // a project owner does not reach a restricted artifact through the project grant
    const projectOnly = await h.principal('paula');
    await h.call(h.adminToken, 'POST', '/v1/grants', { principal: 'paula', role: 'owner', project: 'vision' });
    assert.equal((await h.call(projectOnly, 'POST', `/v1/access/requests/${req.id}/approve`, {})).statusCode, 404);
    assert.equal((await h.call(w.dana, 'GET', `/v1/access/requests/${req.id}`)).json().state, 'pending');
    // and a service account cannot approve its owner's request either
    const botReq = (await request(w, bot, { role: 'reader', durationSeconds: 600 })).json<RequestJson>();
    assert.equal((await h.call(w.dana, 'POST', `/v1/access/requests/${botReq.id}/approve`, {})).json().error.code, 'COFFER_ACCESS_SELF_APPROVAL');
    // admins approve through the baseline's admins-access link
    const byAdmin = await h.call(h.adminToken, 'POST', `/v1/access/requests/${req.id}/approve`, {});
    assert.equal(byAdmin.statusCode, 200, byAdmin.body);
    const records = await auditRecords(h.runtime);
    assert.ok(records.some((r) => r.action === 'approve-access' && r.outcome === 'success' && r.policies.includes('admins-access')));
    assert.ok(records.some((r) => r.action === 'approve-access' && r.outcome === 'denied' && r.reason === 'COFFER_ACCESS_SELF_APPROVAL' && r.actor?.name === 'dana'));
    await h.call(w.dana, 'POST', `/v1/access/requests/${req.id}/revoke`, {});
    await h.call(bot, 'POST', `/v1/access/requests/${botReq.id}/revoke`, {});
  });

  void it('refuses approvals of decided, denied and expired requests', async () => {
    const { h } = w;
    const req = (await request(w, w.dana, { durationSeconds: 600 })).json<RequestJson>();
    assert.equal((await h.call(w.olivia, 'POST', `/v1/access/requests/${req.id}/approve`, {})).statusCode, 200);
    const again = await h.call(h.adminToken, 'POST', `/v1/access/requests/${req.id}/approve`, {});
    assert.equal(again.statusCode, 409);
    assert.equal(again.json().error.code, 'COFFER_ACCESS_REQUEST_CLOSED');
    await h.call(w.dana, 'POST', `/v1/access/requests/${req.id}/revoke`, {});

    const denied = (await request(w, w.dana, { durationSeconds: 600 })).json<RequestJson>();
    assert.equal((await h.call(w.olivia, 'POST', `/v1/access/requests/${denied.id}/deny`, { reason: 'use the anonymised copy' })).statusCode, 200);
    assert.equal((await h.call(h.adminToken, 'POST', `/v1/access/requests/${denied.id}/approve`, {})).json().error.code, 'COFFER_ACCESS_REQUEST_CLOSED');
    assert.equal((await h.call(w.dana, 'GET', `/v1/access/requests/${denied.id}`)).json().reason, 'use the anonymised copy');

    const stale = (await request(w, w.dana, { durationSeconds: 600 })).json<RequestJson>();
    h.advance(h.config.access.requestTtlSeconds * 1000);
    const late = await h.call(w.olivia, 'POST', `/v1/access/requests/${stale.id}/approve`, {});
    assert.equal(late.statusCode, 409);
    assert.match(late.json<{ error: { message: string } }>().error.message, /past its deadline/);
    assert.equal((await h.call(w.dana, 'GET', `/v1/access/requests/${stale.id}`)).json().state, 'expired');
    assert.equal((await download(w, w.dana)).statusCode, 404);
  });

  void it('lets exactly one of two racing approvals create the grant', async () => {
    const { h } = w;
    for (let round = 0; round < 3; round++) {
      const req = (await request(w, w.dana, { durationSeconds: 600 + round })).json<RequestJson>();
      const [x, y] = await Promise.all([
        h.call(w.olivia, 'POST', `/v1/access/requests/${req.id}/approve`, {}),
        h.call(h.adminToken, 'POST', `/v1/access/requests/${req.id}/approve`, {}),
      ]);
      assert.deepEqual([x.statusCode, y.statusCode].sort(), [200, 409], `${x.body} ${y.body}`);
      const grants = (await h.call(w.olivia, 'GET', `/v1/grants?project=vision&artifact=${encodeURIComponent('models/resnet')}`)).json().items as Array<{ id: string; principalId: string; expiresAt: string | null }>;
      const shown = (await h.call(w.dana, 'GET', `/v1/access/requests/${req.id}`)).json<RequestJson>();
      assert.equal(grants.filter((g) => g.id === shown.grantId).length, 1);
      await h.call(w.dana, 'POST', `/v1/access/requests/${req.id}/revoke`, { reason: 'done' });
      const after = (await h.call(w.olivia, 'GET', `/v1/grants?project=vision&artifact=${encodeURIComponent('models/resnet')}`)).json().items as Array<{ id: string }>;
      assert.ok(!after.some((g) => g.id === shown.grantId), 'revoking deletes the grant');
    }
  });

  void it('ends access early on revoke by the requester or by an approver, at once', async () => {
    const { h } = w;
    const req = (await request(w, w.dana, {})).json<RequestJson>();
    await h.call(w.olivia, 'POST', `/v1/access/requests/${req.id}/approve`, {});
    assert.equal((await download(w, w.dana)).statusCode, 200);
    const revoked = await h.call(w.olivia, 'POST', `/v1/access/requests/${req.id}/revoke`, { reason: 'incident' });
    assert.equal(revoked.statusCode, 200, revoked.body);
    assert.equal(revoked.json().state, 'revoked');
    assert.equal((await download(w, w.dana)).statusCode, 404);
    assert.equal((await h.call(w.dana, 'POST', `/v1/access/requests/${req.id}/revoke`, {})).json().error.code, 'COFFER_ACCESS_REQUEST_CLOSED');
    // a stranger cannot revoke someone's access
    const other = (await request(w, w.dana, {})).json<RequestJson>();
    await h.call(w.olivia, 'POST', `/v1/access/requests/${other.id}/approve`, {});
    assert.equal((await h.call(w.ron, 'POST', `/v1/access/requests/${other.id}/revoke`, {})).statusCode, 404);
    assert.equal((await h.call(w.dana, 'POST', `/v1/access/requests/${other.id}/revoke`, {})).json().state, 'revoked');
    // cancelling a pending request
    const pending = (await request(w, w.dana, {})).json<RequestJson>();
    assert.equal((await h.call(w.dana, 'POST', `/v1/access/requests/${pending.id}/revoke`, {})).json().state, 'cancelled');
    assert.equal((await h.call(w.olivia, 'POST', `/v1/access/requests/${pending.id}/approve`, {})).statusCode, 409);
  });

  void it('lists mine and those waiting for my approval; refuses a duplicate pending request', async () => {
    const { h } = w;
    const req = (await request(w, w.dana, { durationSeconds: 3600 })).json<RequestJson>();
    const dup = await request(w, w.dana, { durationSeconds: 1800 });
    assert.equal(dup.statusCode, 409);
    const mine = (await h.call(w.dana, 'GET', '/v1/access/requests?view=mine')).json().items as RequestJson[];
    assert.ok(mine.some((r) => r.id === req.id));
    const oliviaQueue = (await h.call(w.olivia, 'GET', '/v1/access/requests?view=to-approve')).json().items as RequestJson[];
    assert.deepEqual(oliviaQueue.map((r) => r.id), [req.id]);
    assert.deepEqual((await h.call(w.dana, 'GET', '/v1/access/requests?view=to-approve')).json().items, [], 'nobody is asked to approve their own request');
    assert.deepEqual((await h.call(w.ron, 'GET', '/v1/access/requests?view=to-approve')).json().items, []);
    assert.equal((await h.call(w.ron, 'GET', `/v1/access/requests/${req.id}`)).statusCode, 404);
    await h.call(w.dana, 'POST', `/v1/access/requests/${req.id}/revoke`, {});
  });
});

void describe('access requests: N-of-M and auto-approval', () => {
  let w: World;
  before(async () => {
    w = await world({ accessApprovalsRestricted: 2, accessAutoApproveTier: 'internal' });
  });
  after(async () => w.h.close());

  void it('needs two distinct approvers on a restricted artifact, and the same one twice does not count', async () => {
    const { h } = w;
    const req = (await request(w, w.dana, {})).json<RequestJson>();
    assert.equal(req.approvalsRequired, 2);
    const first = await h.call(w.olivia, 'POST', `/v1/access/requests/${req.id}/approve`, {});
    assert.equal(first.json().state, 'pending');
    assert.equal((await download(w, w.dana)).statusCode, 404);
    assert.equal((await h.call(w.olivia, 'POST', `/v1/access/requests/${req.id}/approve`, {})).statusCode, 409);
    const second = await h.call(h.adminToken, 'POST', `/v1/access/requests/${req.id}/approve`, {});
    assert.equal(second.json().state, 'active');
    assert.deepEqual(second.json<RequestJson>().approvals.map((a) => a.approver).sort(), ['admin', 'olivia']);
    assert.equal((await download(w, w.dana)).statusCode, 200);
  });

  void it('approves reader requests on low tiers at once, never on restricted ones, never writer', async () => {
    const { h } = w;
    const low = await h.call(w.ron, 'POST', '/v1/access/requests', { project: 'vision', artifact: 'datasets/sample', role: 'reader', durationSeconds: 3600, justification: 'look at the sample' });
    assert.equal(low.json().state, 'active');
    assert.equal((await h.call(w.ron, 'GET', `/v1/projects/vision/artifacts/${encodeURIComponent('datasets/sample')}/versions/1/content`)).statusCode, 200);
    const writer = await h.call(w.ron, 'POST', '/v1/access/requests', { project: 'vision', artifact: 'datasets/sample', role: 'writer', durationSeconds: 3600, justification: 'fix labels' });
    assert.equal(writer.json().state, 'pending');
    assert.equal((await request(w, w.ron, {})).json().state, 'pending');
  });
});
