/**
 * Break-glass and webhooks against a real runtime and a real webhook receiver on
 * 127.0.0.1 that verifies the HMAC signature: step-up, immediate signed alert, an open
 * review that only someone else can sign off, the grant ending by itself; notifications
 * for requests, approvals and expiries.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { verifyWebhookSignature } from '../../src/access/webhook.js';
import { auditRecords, openAccessHarness } from './access-harness.js';
import type { AccessHarness } from './access-harness.js';

const SECRET = 'test-webhook-secret-0123456789';

interface Delivery {
  headers: Record<string, string | string[] | undefined>;
  body: string;
  verified: boolean;
}

/** A webhook receiver that checks signatures as a real one would (clock: the harness's). */
async function receiver(now: () => number): Promise<{ url: string; deliveries: Delivery[]; server: Server; waitFor: (type: string, about?: string) => Promise<Delivery> }> {
  const deliveries: Delivery[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => {
      const verified = verifyWebhookSignature({
        secret: SECRET,
        timestamp: req.headers['x-coffer-timestamp'] as string | undefined,
        signature: req.headers['x-coffer-signature'] as string | undefined,
        body,
        nowSeconds: Math.floor(now() / 1000),
      });
      const d = { headers: req.headers, body, verified };
      deliveries.push(d);
      res.writeHead(verified ? 204 : 401).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const url = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}/hooks/coffer`;
  const waitFor = async (type: string, about?: string) => {
    const deadline = Date.now() + 10_000;
    for (;;) {
      const found = deliveries.find((d) => d.headers['x-coffer-event'] === type && (about === undefined || d.body.includes(about)));
      if (found) return found;
      if (Date.now() > deadline) throw new Error(`no ${type} delivery within 10 s`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  };
  return { url, deliveries, server, waitFor };
}

void describe('break-glass and notifications', () => {
  let h: AccessHarness;
  let hook: Awaited<ReturnType<typeof receiver>>;
  let olivia: string;
  let dana: string;
  let clock = { now: () => Date.now() };
  before(async () => {
    hook = await receiver(() => clock.now());
    h = await openAccessHarness({ webhookUrl: hook.url, webhookSecret: SECRET });
    clock = { now: () => h.now() };
    olivia = await h.principal('olivia');
    dana = await h.principal('dana');
    await h.call(h.adminToken, 'POST', '/v1/projects', { name: 'vision' });
    await h.call(h.adminToken, 'POST', '/v1/grants', { principal: 'olivia', role: 'owner', project: 'vision' });
    await h.call(olivia, 'POST', '/v1/projects/vision/artifacts', { name: 'models/resnet', kind: 'model', tier: 'restricted', environment: 'dev' });
    await h.push(olivia, 'vision', 'models/resnet', randomBytes(5000));
  });
  after(async () => {
    await h.close();
    hook.server.closeAllConnections();
    await new Promise((resolve) => hook.server.close(resolve));
  });

  const pull = (token: string) => h.call(token, 'GET', `/v1/projects/vision/artifacts/${encodeURIComponent('models/resnet')}/versions/1/content`);
  const glass = (token: string, body: Record<string, unknown> = {}) =>
    h.call(token, 'POST', '/v1/breakglass', { project: 'vision', artifact: 'models/resnet', role: 'reader', durationSeconds: 1800, reason: 'prod outage INC-7: model returns NaN, need the weights', ...body });

  void it('needs a fresh authentication, then elevates at once with a signed alert and an open review', async () => {
    assert.equal((await pull(h.adminToken)).statusCode, 403, 'admins read metadata but do not download restricted data without a grant');
    h.advance(16 * 60_000); // the bootstrap token is now older than the 15 minute step-up window
    const stale = await glass(h.adminToken);
    assert.equal(stale.statusCode, 401);
    assert.equal(stale.json().error.code, 'COFFER_AUTH_STEP_UP_REQUIRED');
    assert.equal((await pull(h.adminToken)).statusCode, 403);

    // minting a token now makes nothing fresher: it carries the bootstrap token's age (credential lineage)
    const minted = await h.token('admin');
    assert.equal((await glass(minted)).json().error.code, 'COFFER_AUTH_STEP_UP_REQUIRED');
    const fresh = await h.steppedUp('admin');
    const tooLong = await glass(fresh, { durationSeconds: 2 * 3600 });
    assert.equal(tooLong.json().error.code, 'COFFER_ACCESS_DURATION_INVALID');
    const noReason = await glass(fresh, { reason: 'because' });
    assert.equal(noReason.json().error.code, 'COFFER_VALIDATION_FAILED');

    const t0 = h.now();
    const broke = await glass(fresh);
    assert.equal(broke.statusCode, 201, broke.body);
    const bg = broke.json<{ id: string; alert: string; state: string; review: { status: string }; endsAt: string }>();
    assert.equal(bg.alert, 'sent', 'the alert went out before the answer');
    assert.equal(bg.state, 'active');
    assert.equal(bg.review.status, 'open');
    assert.equal(Date.parse(bg.endsAt), t0 + 1800_000);
    assert.equal((await pull(fresh)).statusCode, 200);

    const alert = await hook.waitFor('breakglass.activated');
    assert.equal(alert.verified, true, 'the receiver verified the HMAC signature over timestamp.body');
    const payload = JSON.parse(alert.body) as { type: string; summary: string; data: { requestId: string; requester: string; scope: string } };
    assert.equal(payload.type, 'breakglass.activated');
    assert.equal(payload.data.requestId, bg.id);
    assert.equal(payload.data.requester, 'admin');
    assert.match(payload.summary, /^BREAK-GLASS: admin took reader on vision\/models\/resnet for 30m/);

    // the review stays open until someone else signs it off
    const reviews = (await h.call(olivia, 'GET', '/v1/breakglass/reviews')).json().items as Array<{ id: string }>;
    assert.deepEqual(reviews.map((r) => r.id), [bg.id]);
    const own = await h.call(fresh, 'POST', `/v1/breakglass/reviews/${bg.id}/signoff`, { note: 'fine' });
    assert.equal(own.json().error.code, 'COFFER_ACCESS_SELF_APPROVAL');
    assert.equal((await h.call(dana, 'POST', `/v1/breakglass/reviews/${bg.id}/signoff`, { note: 'fine' })).statusCode, 404);
    assert.equal((await h.call(olivia, 'POST', `/v1/access/requests/${bg.id}/approve`, {})).statusCode, 400, 'a break-glass is not approved, it is reviewed');

    // it ends by itself
    h.setNow(t0 + 1800_000);
    // (the session's access token has expired by now: a new stepped-up session finds the grant gone)
    assert.equal((await pull(await h.steppedUp('admin'))).statusCode, 403);
    assert.equal((await h.call(olivia, 'GET', '/v1/breakglass/reviews')).json().items.length, 1, 'the review outlives the access');
    const signed = await h.call(olivia, 'POST', `/v1/breakglass/reviews/${bg.id}/signoff`, { note: 'checked INC-7 timeline; weights were only read' });
    assert.equal(signed.statusCode, 200, signed.body);
    assert.equal(signed.json().review.status, 'signed-off');
    assert.equal(signed.json().review.by, 'olivia');
    assert.equal((await h.call(olivia, 'POST', `/v1/breakglass/reviews/${bg.id}/signoff`, { note: 'again' })).json().error.code, 'COFFER_ACCESS_REQUEST_CLOSED');
    assert.deepEqual((await h.call(olivia, 'GET', '/v1/breakglass/reviews')).json().items, []);
    assert.equal((await h.call(olivia, 'GET', '/v1/breakglass/reviews?all=true')).json().items.length, 1);
    assert.equal((await hook.waitFor('breakglass.signed-off')).verified, true);

    const records = await auditRecords(h.runtime);
    const trail = records.filter((r) => JSON.stringify(r.context).includes(bg.id)).map((r) => `${r.action}:${r.outcome}`);
    assert.ok(trail.includes('break-glass:success') && trail.includes('approve-access:success'), trail.join(' '));
    assert.ok(records.some((r) => r.action === 'break-glass' && r.outcome === 'attempt' && r.actor?.name === 'admin'), 'the attempt is recorded before acting');
    assert.ok(records.some((r) => r.action === 'break-glass' && r.outcome === 'failure' && r.reason === 'COFFER_AUTH_STEP_UP_REQUIRED'));
    assert.ok(records.some((r) => r.action === 'break-glass' && r.outcome === 'success' && r.context.alert === 'sent'));
  });

  void it('refuses break-glass to non-admins', async () => {
    const r = await glass(olivia);
    assert.equal(r.statusCode, 403, r.body);
    assert.equal((await glass(dana)).statusCode, 404);
  });

  void it('notifies requests, approvals and expiries, each signed', async () => {
    const req = await h.call(dana, 'POST', '/v1/access/requests', { project: 'vision', artifact: 'models/resnet', role: 'reader', durationSeconds: 60, justification: 'compare outputs' });
    const id = req.json<{ id: string }>().id;
    const requested = await hook.waitFor('access.requested', id);
    assert.equal(requested.verified, true);
    assert.equal((JSON.parse(requested.body) as { data: { requestId: string } }).data.requestId, id);
    await h.call(olivia, 'POST', `/v1/access/requests/${id}/approve`, {});
    const approved = await hook.waitFor('access.approved', id);
    assert.match((JSON.parse(approved.body) as { summary: string }).summary, /dana got reader on vision\/models\/resnet \(approved by olivia\)/);
    h.advance(61_000);
    assert.ok((await h.runtime.access.service.sweepExpired()) >= 1);
    const expired = await hook.waitFor('access.expired', id);
    assert.equal(expired.verified, true);
    // a tampered body or a replay outside the window does not verify
    const ts = expired.headers['x-coffer-timestamp'] as string;
    const sig = expired.headers['x-coffer-signature'] as string;
    assert.equal(verifyWebhookSignature({ secret: SECRET, timestamp: ts, signature: sig, body: expired.body.replace('"dana"', '"mallory"'), nowSeconds: Number(ts) }), false);
    assert.equal(verifyWebhookSignature({ secret: SECRET, timestamp: ts, signature: sig, body: expired.body, nowSeconds: Number(ts) + 301 }), false);
    assert.ok(hook.deliveries.every((d) => d.verified));
  });
});
