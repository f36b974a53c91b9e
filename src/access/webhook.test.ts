import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { IncomingHttpHeaders } from 'node:http';
import { DisabledNotifier, WebhookNotifier, signWebhook, verifyWebhookSignature } from './webhook.js';
import type { Notification } from './webhook.js';

const SECRET = 'unit-test-secret-0123456789';
const note = (summary = 'dana requests reader'): Notification => ({ type: 'access.requested', time: Date.parse('2030-01-01T00:00:00Z'), summary, data: { requestId: 'req_1', requester: 'dana' } });

/** A receiver on 127.0.0.1 answering with the statuses given, in turn (then 204). */
async function receiver(statuses: number[] = []) {
  const got: Array<{ headers: IncomingHttpHeaders; body: string }> = [];
  const server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8').on('data', (c: string) => (body += c));
    req.on('end', () => {
      got.push({ headers: req.headers, body });
      res.writeHead(statuses.shift() ?? 204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/hook`;
  return { url, got, close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(resolve); }) };
}

test('signatures are HMAC-SHA256 over timestamp.body, checked in constant time with a replay window', () => {
  const body = '{"a":1}';
  const sig = signWebhook(SECRET, '1000', body);
  assert.match(sig, /^sha256=[0-9a-f]{64}$/);
  assert.equal(verifyWebhookSignature({ secret: SECRET, timestamp: '1000', body, signature: sig, nowSeconds: 1000 }), true);
  assert.equal(verifyWebhookSignature({ secret: SECRET, timestamp: '1000', body, signature: sig, nowSeconds: 1300 }), true);
  assert.equal(verifyWebhookSignature({ secret: SECRET, timestamp: '1000', body, signature: sig, nowSeconds: 1301 }), false, 'replayed too late');
  assert.equal(verifyWebhookSignature({ secret: SECRET, timestamp: '1001', body, signature: sig, nowSeconds: 1001 }), false, 'timestamp is signed');
  assert.equal(verifyWebhookSignature({ secret: SECRET, timestamp: '1000', body: '{"a":2}', signature: sig, nowSeconds: 1000 }), false);
  assert.equal(verifyWebhookSignature({ secret: 'other-secret-0123456789', timestamp: '1000', body, signature: sig, nowSeconds: 1000 }), false);
  assert.equal(verifyWebhookSignature({ secret: SECRET, timestamp: undefined, body, signature: sig, nowSeconds: 1000 }), false);
  assert.equal(verifyWebhookSignature({ secret: SECRET, timestamp: '1000', body, signature: 'sha256=00', nowSeconds: 1000 }), false);
});

test('delivers signed JSON to a real receiver, Slack shape on demand', async () => {
  const r = await receiver();
  try {
    const clock = () => Date.parse('2030-01-01T00:00:05Z');
    const coffer = new WebhookNotifier({ url: r.url, secret: SECRET, format: 'coffer', clock, warn: () => undefined });
    assert.equal(await coffer.deliver(note()), 'sent');
    const first = r.got[0]!;
    assert.equal(first.headers['x-coffer-event'], 'access.requested');
    assert.equal(first.headers['x-coffer-timestamp'], String(Math.floor(clock() / 1000)));
    assert.ok(verifyWebhookSignature({ secret: SECRET, timestamp: String(first.headers['x-coffer-timestamp']), body: first.body, signature: String(first.headers['x-coffer-signature']), nowSeconds: Math.floor(clock() / 1000) }));
    const parsed = JSON.parse(first.body) as { type: string; summary: string; data: { requestId: string }; id: string; time: string };
    assert.equal(parsed.type, 'access.requested');
    assert.equal(parsed.data.requestId, 'req_1');
    assert.equal(parsed.time, '2030-01-01T00:00:00.000Z');
    assert.equal(parsed.id, first.headers['x-coffer-delivery']);

    const slack = new WebhookNotifier({ url: r.url, secret: SECRET, format: 'slack', clock, warn: () => undefined });
    assert.equal(await slack.deliver(note('hello from coffer')), 'sent');
    assert.deepEqual(JSON.parse(r.got[1]!.body), { text: 'hello from coffer' });
  } finally {
    await r.close();
  }
});

test('retries failed deliveries, reports failure after the last one, and queues in order', async () => {
  const warnings: string[] = [];
  const r2 = await receiver([500, 500, 500]);
  try {
    const n = new WebhookNotifier({ url: r2.url, secret: SECRET, format: 'coffer', clock: Date.now, warn: (m) => warnings.push(m), retryDelaysMs: [10, 10] });
    assert.equal(await n.deliver(note()), 'failed');
    assert.equal(r2.got.length, 3);
    assert.ok(warnings.includes('webhook delivery failed'));
    const r2ok = r2.got.length;
    assert.equal(await n.deliver(note()), 'sent', 'the receiver recovered');
    assert.equal(r2.got.length, r2ok + 1);
    n.notify(note('one'));
    n.notify(note('two'));
    n.notify(note('three'));
    await n.close();
    assert.deepEqual(r2.got.slice(-3).map((g) => (JSON.parse(g.body) as { summary: string }).summary), ['one', 'two', 'three']);
  } finally {
    await r2.close();
  }
});

test('an urgent delivery waits for one attempt only and retries in the background', async () => {
  const r = await receiver([500]);
  try {
    const n = new WebhookNotifier({ url: r.url, secret: SECRET, format: 'coffer', clock: Date.now, warn: () => undefined, retryDelaysMs: [10] });
    assert.equal(await n.deliver(note(), { urgent: true }), 'retrying');
    await n.close();
    assert.equal(r.got.length, 2, 'the background retry delivered it');
  } finally {
    await r.close();
  }
  assert.equal(await new DisabledNotifier().deliver(), 'disabled');
});
