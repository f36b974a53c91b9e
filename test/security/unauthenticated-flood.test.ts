/**
 * Attack: flood the server with unauthenticated requests to fill the audit log (and the
 * disk under it) or to drown a probe in noise. Seen in the penetration test of issue 11
 * (finding 11): 300 unauthenticated requests in 0.6 s wrote 301 durable records, and
 * nothing slowed them down.
 *
 * Now: a source gets 120 refused unauthenticated requests a minute, then 429
 * `COFFER_RATE_LIMITED` (S3: 503 SlowDown) with Retry-After; its first 20 refusals of
 * the minute are recorded one by one and the rest as one coalesced record with the
 * count, the reasons and a sample. Other sources and authenticated clients of the same
 * address are not affected, and the detectors count the coalesced refusals in full.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { parseAuditExport, readText, type ExportedRecord } from '../support/index.js';
import { sendS3 } from './support/s3-sign.js';
import { openWorld, type World } from './support/world.js';

async function records(w: World): Promise<ExportedRecord[]> {
  await w.runtime.service.requests.flush(true);
  await w.runtime.audit.flush();
  return parseAuditExport(await readText(Readable.from(w.runtime.audit.export(1))));
}

test('unauthenticated flood: 300 requests from one address are throttled and leave a bounded, complete trace', async () => {
  const w = await openWorld(false, { uploads: {} } as never, { monitorEnabled: 1 });
  try {
    const before = (await records(w)).length;
    const attacker = '198.51.100.7';
    const statuses: number[] = [];
    let limited: { headers: Record<string, unknown>; body: string } | null = null;
    for (let i = 0; i < 300; i++) {
      // a mix: no token, a made-up token, a public route with a bad body
      const r = await w.app.inject(
        i % 3 === 0
          ? { method: 'GET', url: `/v1/projects/p${i}`, remoteAddress: attacker }
          : i % 3 === 1
            ? { method: 'GET', url: '/v1/whoami', remoteAddress: attacker, headers: { authorization: 'Bearer coffer_pat_made-up' } }
            : { method: 'POST', url: '/v1/auth/login', remoteAddress: attacker, payload: { name: 'x' } },
      );
      statuses.push(r.statusCode);
      if (r.statusCode === 429 && limited === null) limited = { headers: r.headers, body: r.body };
    }
    // every refusal counts; past 120 the requests without a credential get 429
    const firstLimited = statuses.indexOf(429);
    assert.ok(firstLimited >= 120 && firstLimited <= 125, `first 429 at request ${firstLimited}`);
    assert.ok(statuses.filter((s) => s === 429).length >= 100, `${statuses.filter((s) => s === 429).length} answers were 429`);
    assert.ok(limited !== null);
    assert.equal(JSON.parse(limited.body).error.code, 'COFFER_RATE_LIMITED');
    assert.ok(Number(limited.headers['retry-after']) >= 1 && Number(limited.headers['retry-after']) <= 60);

    // another address, and an authenticated client behind the same one, are served
    const other = await w.app.inject({ method: 'GET', url: '/v1/projects/pub', remoteAddress: '198.51.100.8' });
    assert.equal(other.statusCode, 401);
    const colleague = await w.app.inject({ method: 'GET', url: '/v1/projects/pub', remoteAddress: attacker, headers: { authorization: `Bearer ${w.malloryToken}` } });
    assert.equal(colleague.statusCode, 200);
    // the S3 listener shares the budget and answers in S3's own terms
    const s3 = await sendS3(w.s3, null, { method: 'GET', path: '/pub/open', remoteAddress: attacker });
    assert.equal(s3.statusCode, 503);
    assert.match(s3.body, /<Code>SlowDown<\/Code>/);

    // the trace: 20 records one by one, then one coalesced record carrying the rest
    const all = (await records(w)).slice(before);
    const mine = all.filter((r) => r.body.context.sourceIp === attacker);
    // (the colleague's own records carry its actor: they are not unauthenticated traffic)
    const individual = mine.filter((r) => r.body.actor === null && r.body.action !== 'coalesced-refusals' && r.body.action !== 'coalesced-requests');
    const coalesced = mine.filter((r) => r.body.action === 'coalesced-refusals');
    assert.equal(individual.length, 20, `${individual.length} records written one by one: ${individual.map((r) => `${r.body.action} ${r.body.outcome} ${r.body.resource} ${r.body.reason}`).join(" | ")}`);
    assert.equal(coalesced.length, 1);
    const c = coalesced[0]!.body;
    assert.equal(c.actor, null);
    assert.equal(c.outcome, 'denied');
    assert.equal(c.context.count, 301 - 20, 'every refusal of the minute is counted (300 and the S3 one)');
    const reasons = c.context.reasons as Record<string, number>;
    assert.ok(reasons.COFFER_RATE_LIMITED! >= 100 && reasons.COFFER_AUTH_TOKEN_INVALID !== undefined, JSON.stringify(reasons));
    assert.equal((c.context.sample as unknown[]).length, 5);
    const anonymous = mine.filter((r) => r.body.actor === null);
    assert.ok(anonymous.length <= 22, `${anonymous.length} durable records for 301 requests`);

    // the probing detector counts the coalesced refusals in full: the burst raises an alert
    await w.runtime.monitor.idle();
    const alerts = await w.app.inject({ method: 'GET', url: '/v1/monitor/alerts', headers: { authorization: `Bearer ${w.adminToken}` } });
    const items = alerts.json<{ items: Array<{ rule: string; principal: string; evidence: number[] }> }>().items;
    // 20 refusals one by one stay under the rule's 25: the coalesced record is what trips it
    assert.ok(items.some((a) => a.rule === 'probing' && a.principal === `ip:${attacker}` && a.evidence.includes(coalesced[0]!.seq)), JSON.stringify(items));
  } finally {
    await w.close();
  }
});
