/**
 * Attack: act (or probe) without leaving a trace. The penetration test of issue 11
 * (finding 11) found 9 of 20 kinds of refusal unrecorded: schema validation ran before
 * authentication, unknown routes, name lookups and failed hand-offs were never
 * recorded, and token refresh and hand-off exchange minted tokens without a record.
 *
 * Property, over every route of the OpenAPI document and every S3 operation, sent
 * anonymously, with a bad body, naming hidden resources, with a bad signature, to
 * unknown paths: each request ends in exactly one audit outcome (`success`, `failure`
 * or `denied`) for each Gate attempt it made, and in exactly one when it made none;
 * every attempt has its outcome. Each request comes from its own address, so the
 * bounding of unauthenticated traffic (one coalesced record per source) keeps every
 * request id visible.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { LightMyRequestResponse } from 'fastify';
import { S3_OPERATIONS } from '../../src/s3/index.js';
import { parseAuditExport, readText } from '../support/index.js';
import { casesOf, routesOf, sampleOf } from './support/route-cases.js';
import { s3CasesOf } from './support/s3-cases.js';
import { sendS3 } from './support/s3-sign.js';
import { openWorld } from './support/world.js';
import { Readable } from 'node:stream';

let address = 0;
/** A fresh source address for each request (10.x.y.z). */
function nextAddress(): string {
  address++;
  return `10.${(address >> 16) & 255}.${(address >> 8) & 255}.${address & 255}`;
}

test('every request that reaches a listener ends in exactly one audit outcome per decision (REST routes, S3 operations)', async () => {
  const w = await openWorld(true, null);
  try {
    const sent: Array<{ id: string; what: string }> = [];
    const track = (what: string, r: LightMyRequestResponse) => {
      const id = r.headers['x-request-id'] ?? r.headers['x-amz-request-id'];
      assert.equal(typeof id, 'string', `${what}: no request id in the answer`);
      sent.push({ id: id as string, what: `${what} -> ${r.statusCode}` });
    };
    const rest = (method: string, url: string, token: string | null, payload?: unknown, contentType = 'application/json') =>
      w.app.inject({
        method: method as 'GET',
        url,
        remoteAddress: nextAddress(),
        headers: { ...(token !== null ? { authorization: `Bearer ${token}` } : {}), ...(payload !== undefined ? { 'content-type': contentType } : {}) },
        ...(payload !== undefined ? { payload: typeof payload === 'string' ? payload : JSON.stringify(payload) } : {}),
      });

    const doc = (await w.app.inject({ method: 'GET', url: '/v1/openapi.json' })).json<Parameters<typeof routesOf>[0]>();
    for (const route of routesOf(doc)) {
      const key = `${route.method} ${route.path}`;
      const { cases } = casesOf(route, w.ids);
      const plain = route.path.replace(/\{[^}]+\}/g, 'x-param');
      const body = route.body !== null ? sampleOf(route.body) : undefined;
      track(`${key} anonymous`, await rest(route.method, plain, null, body));
      track(`${key} garbage token`, await rest(route.method, plain, 'coffer_pat_garbage', body));
      if (route.body !== null) {
        track(`${key} bad body`, await rest(route.method, plain, w.malloryToken, { 'no-such-field': 1 }));
        track(`${key} not json`, await rest(route.method, plain, w.malloryToken, '{"unterminated', 'application/json'));
      }
      for (const c of cases) track(`${key} ${c.label}`, await rest(route.method, c.request.url, route.public ? null : w.malloryToken, c.request.payload));
      if (cases.length === 0) track(`${key} mallory`, await rest(route.method, plain, w.malloryToken, body));
    }
    for (const [method, url] of [['GET', '/v1/no-such-route'], ['DELETE', '/'], ['PATCH', '/v1/projects'], ['GET', '/v1/share/coffer_share_not-a-link']] as const) {
      track(`${method} ${url} anonymous`, await rest(method, url, null));
      track(`${method} ${url} mallory`, await rest(method, url, w.malloryToken));
    }

    // S3: every operation anonymous, with a bad signature, and naming hidden resources
    const s3 = (keys: typeof w.mallory.s3 | null, r: Parameters<typeof sendS3>[2]) => sendS3(w.s3, keys, { ...r, remoteAddress: nextAddress() });
    const wrong = { ...w.mallory.s3, secretAccessKey: 'x'.repeat(40) };
    for (const op of S3_OPERATIONS) {
      const path = op.on === 'service' ? '/' : op.on === 'bucket' ? '/pub' : '/pub/open';
      const base = { method: op.method, path, query: Object.fromEntries(op.subresources.map((s) => (s.includes('=') ? s.split('=') : [s, '']))) as Record<string, string> };
      track(`S3 ${op.name} anonymous`, await s3(null, base));
      track(`S3 ${op.name} bad signature`, await s3(wrong, base));
      for (const c of s3CasesOf(op, w.ids).cases) track(`S3 ${op.name} ${c.label}`, await s3(w.mallory.s3, c.request));
    }
    track('S3 invalid path', await w.s3.inject({ method: 'GET', url: '/%ZZ', remoteAddress: nextAddress() }));
    track('S3 PATCH', await w.s3.inject({ method: 'PATCH', url: '/pub', remoteAddress: nextAddress() }));

    // let completions written after the answers land, then write the coalesced counts
    await new Promise((resolve) => setTimeout(resolve, 200));
    await w.runtime.service.requests.flush(true);
    await w.runtime.audit.flush();
    const records = parseAuditExport(await readText(Readable.from(w.runtime.audit.export(1))));
    const byRequest = new Map<string, { attempts: string[]; outcomes: string[] }>();
    const entry = (id: string) => byRequest.get(id) ?? (byRequest.set(id, { attempts: [], outcomes: [] }).get(id)!);
    for (const r of records) {
      const b = r.body;
      if (b.action === 'coalesced-refusals' || b.action === 'coalesced-requests') {
        // one address per request: each coalesced record lists its requests in its sample
        const sample = b.context.sample as Array<{ requestId: string; action: string; resource: string }>;
        // the world's own setup came from 127.0.0.1; the requests under test each from an address of 10/8
        if (!String(b.context.sourceIp).startsWith('10.')) continue;
        assert.equal(sample.length, b.context.count, 'a coalesced record of one source lists all its requests');
        for (const s of sample) entry(s.requestId).outcomes.push(`${s.action} ${s.resource} (coalesced)`);
        continue;
      }
      if (b.outcome === 'attempt') entry(b.requestId).attempts.push(`${b.action} ${b.resource}`);
      else entry(b.requestId).outcomes.push(`${b.action} ${b.resource}`);
    }
    const wrongCount: string[] = [];
    for (const s of sent) {
      const e = byRequest.get(s.id) ?? { attempts: [], outcomes: [] };
      const unmatched = e.attempts.filter((a) => !e.outcomes.includes(a));
      if (e.outcomes.length !== Math.max(1, e.attempts.length) || unmatched.length > 0) {
        wrongCount.push(`${s.what}: ${e.outcomes.length} outcomes [${e.outcomes.join(' | ')}] for ${e.attempts.length} attempts [${e.attempts.join(' | ')}]`);
      }
    }
    assert.ok(sent.length > 400, `only ${sent.length} requests sent`);
    assert.deepEqual(wrongCount, [], `${wrongCount.length} of ${sent.length} requests do not end in exactly one outcome per decision:\n${wrongCount.join('\n')}`);
  } finally {
    await w.close();
  }
});
