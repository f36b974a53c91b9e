import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ConfigInvalidError, StorageError } from '../../domain/errors.js';
import type { AlertNotice } from './alert-sink.js';
import { AlertDispatcher } from './alert-dispatcher.js';
import { JsonLinesAlertSink } from './jsonl-alert-sink.js';
import { SyslogAlertSink, syslogMessage } from './syslog-alert-sink.js';
import { WebhookAlertSink } from './webhook-sink.js';
import { verifyWebhookSignature } from './webhook-signature.js';

const notice: AlertNotice = {
  type: 'coffer.alert',
  version: 1,
  alert: {
    id: 'alr_1',
    rule: 'volume',
    severity: 'critical',
    action: 'lock',
    principal: 'dana',
    principalId: 'prn_d',
    time: '2025-01-06T09:00:00.000Z',
    createdAt: '2025-01-06T09:00:01.000Z',
    summary: 'bulk download',
    triggerSeq: 12,
    evidence: [10, 11, 12],
    measures: { bytes: 1 },
    status: 'open',
    ackedBy: null,
    ackedAt: null,
    note: null,
  },
  lock: null,
};
const SECRET = 'whsec-0123456789abcdef';

async function hookServer(statuses: number[]): Promise<{ url: string; bodies: Array<{ headers: Record<string, unknown>; body: string }>; close: () => Promise<void> }> {
  const bodies: Array<{ headers: Record<string, unknown>; body: string }> = [];
  const server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8').on('data', (c: string) => (body += c));
    req.on('end', () => {
      bodies.push({ headers: req.headers, body });
      res.writeHead(statuses.shift() ?? 204).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}/hook?token=s3cr3t`, bodies, close: () => new Promise((r) => server.close(() => r())) };
}

void test('the webhook retries a 5xx, then delivers a signed body', async () => {
  const h = await hookServer([503, 204]);
  try {
    await new WebhookAlertSink({ url: h.url, secret: SECRET, now: () => 1_700_000_000_000 }).send(notice);
    assert.equal(h.bodies.length, 2);
    const last = h.bodies[1]!;
    assert.equal(last.headers['content-type'], 'application/json');
    assert.ok(verifyWebhookSignature(SECRET, String(last.headers['x-coffer-timestamp']), last.body, String(last.headers['x-coffer-signature']), 1_700_000_010));
    assert.deepEqual(JSON.parse(last.body), notice);
  } finally {
    await h.close();
  }
});

void test('a 4xx is not retried; the error names the origin, never the query', async () => {
  const h = await hookServer([400, 204]);
  try {
    await assert.rejects(new WebhookAlertSink({ url: h.url, secret: SECRET }).send(notice), (err: StorageError) => err instanceof StorageError && !String(err.detail).includes('s3cr3t') && String(err.detail).includes('127.0.0.1'));
    assert.equal(h.bodies.length, 1);
  } finally {
    await h.close();
  }
  assert.throws(() => new WebhookAlertSink({ url: h.url, secret: 'short' }), ConfigInvalidError);
});

void test('the JSON Lines file is owner-only and gets one line per alert', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'coffer-alerts-'));
  try {
    const sink = new JsonLinesAlertSink(join(dir, 'alerts.jsonl'));
    await sink.send(notice);
    await sink.send({ ...notice, alert: { ...notice.alert, id: 'alr_2' } });
    await sink.close();
    const lines = (await readFile(join(dir, 'alerts.jsonl'), 'utf8')).trim().split('\n').map((l) => (JSON.parse(l) as AlertNotice).alert.id);
    assert.deepEqual(lines, ['alr_1', 'alr_2']);
    assert.equal((await stat(join(dir, 'alerts.jsonl'))).mode & 0o777, 0o600);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

void test('syslog gets one RFC 5424 datagram, authpriv facility, severity by alert', async () => {
  assert.match(syslogMessage(notice, 'host-1', 42), /^<82>1 2025-01-06T09:00:01.000Z host-1 coffer 42 coffer-alert - \{"type":"coffer.alert"/);
  assert.match(syslogMessage({ ...notice, alert: { ...notice.alert, severity: 'medium' } }, 'h', 1), /^<84>1 /);
  const receiver = createSocket('udp4');
  await new Promise<void>((r) => receiver.bind(0, '127.0.0.1', r));
  const got = new Promise<string>((r) => receiver.once('message', (m) => r(m.toString('utf8'))));
  const sink = new SyslogAlertSink(`udp://127.0.0.1:${receiver.address().port}`);
  try {
    await sink.send(notice);
    assert.match(await got, /coffer-alert - .*"id":"alr_1"/);
  } finally {
    await sink.close();
    receiver.close();
  }
  assert.throws(() => new SyslogAlertSink('tcp://127.0.0.1:514'), ConfigInvalidError);
});

void test('the dispatcher reports a failing sink and still delivers to the others', async () => {
  const errors: string[] = [];
  const delivered: string[] = [];
  const d = new AlertDispatcher(
    [
      { name: 'broken', send: () => Promise.reject(new StorageError('down')), close: () => Promise.resolve() },
      { name: 'ok', send: (n) => Promise.resolve(void delivered.push(n.type === 'coffer.alert' ? n.alert.id : n.type === 'coffer.review-reminder' ? n.id : n.type)), close: () => Promise.resolve() },
    ],
    (err, sink) => errors.push(`${sink}:${err.code}`),
  );
  d.notify(notice);
  await d.close();
  assert.deepEqual(errors, ['broken:COFFER_STORAGE_FAILED']);
  assert.deepEqual(delivered, ['alr_1']);
});
