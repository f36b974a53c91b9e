/**
 * Attack (issue 11, finding 7): two service accounts of the same owner approved each
 * other's requests: a prod promotion filed by one was approved by its sibling; the same
 * held for access requests and share-link approvals. Four eyes now means two parties:
 * approver and requester must not share an owner chain (walked transitively, both ways),
 * and a request counts at most one approval per party (enforced by the database, so two
 * siblings approving at the same moment do not make two approvals).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { fourEyesViolation, ownerChain } from '../../src/access/four-eyes.js';
import type { Principal } from '../../src/domain/types.js';
import { openAccessHarness } from '../integration/access-harness.js';
import type { AccessHarness } from '../integration/access-harness.js';

type Err = { error: { code: string } };

void describe('attack: four eyes defeated through sibling service accounts', () => {
  let h: AccessHarness;
  const t: Record<string, string> = {};
  before(async () => {
    h = await openAccessHarness({ accessApprovalsRestricted: 2 });
    for (const name of ['olivia', 'victor', 'dana']) t[name] = await h.principal(name);
    for (const name of ['bot-a', 'bot-b']) t[name] = await h.principal(name, { kind: 'service-account', owner: 'olivia' });
    t['victor-bot'] = await h.principal('victor-bot', { kind: 'service-account', owner: 'victor' });
    const ok = async (token: string, method: 'POST', url: string, body: unknown) => {
      const r = await h.call(token, method, url, body);
      assert.ok(r.statusCode < 300, `${url}: ${r.statusCode} ${r.body}`);
      return r;
    };
    await ok(h.adminToken, 'POST', '/v1/projects', { name: 'vision' });
    await ok(h.adminToken, 'POST', '/v1/projects/vision/artifacts', { name: 'det', kind: 'model', tier: 'internal', environment: 'dev' });
    await ok(h.adminToken, 'POST', '/v1/projects/vision/artifacts', { name: 'secret', kind: 'model', tier: 'restricted', environment: 'dev' });
    await h.push(h.adminToken, 'vision', 'det', randomBytes(2000));
    await h.push(h.adminToken, 'vision', 'secret', randomBytes(2000));
    // both bots, olivia and victor own everything: each may approve anything, so only four eyes can refuse
    for (const principal of ['bot-a', 'bot-b', 'olivia', 'victor', 'victor-bot']) {
      for (const artifact of ['det', 'secret']) await ok(h.adminToken, 'POST', '/v1/grants', { principal, role: 'owner', project: 'vision', artifact });
    }
  });
  after(async () => h.close());

  const approve = async (who: string, id: string) => {
    const r = await h.call(t[who]!, 'POST', `/v1/access/requests/${id}/approve`, {});
    return r.statusCode < 300 ? String(r.statusCode) : r.json<Err>().error.code;
  };

  test('a prod promotion filed by one bot is not approved by its sibling, nor by their owner', async () => {
    await h.call(t['bot-a']!, 'POST', '/v1/promotions', { project: 'vision', artifact: 'det', version: 1, to: 'staging' });
    const asked = await h.call(t['bot-a']!, 'POST', '/v1/promotions', { project: 'vision', artifact: 'det', version: 1, to: 'prod', justification: 'eval passed' });
    assert.equal(asked.statusCode, 202, asked.body);
    const id = asked.json<{ request: { id: string } }>().request.id;
    assert.equal(await approve('bot-b', id), 'COFFER_ACCESS_SELF_APPROVAL');
    assert.equal(await approve('olivia', id), 'COFFER_ACCESS_SELF_APPROVAL');
    assert.equal(await approve('bot-a', id), 'COFFER_ACCESS_SELF_APPROVAL');
    assert.equal(await approve('victor', id), '200', 'another party approves');
    assert.equal((await h.call(t['bot-a']!, 'POST', '/v1/promotions', { project: 'vision', artifact: 'det', version: 1, to: 'prod' })).statusCode, 201);
  });

  test('an access request: not by a sibling, the owner, nor the owner\'s requests by its bots', async () => {
    const mine = await h.call(t['bot-a']!, 'POST', '/v1/access/requests', { project: 'vision', artifact: 'det', role: 'writer', durationSeconds: 600, justification: 'retrain' });
    const id = mine.json<{ id: string }>().id;
    assert.equal(await approve('bot-b', id), 'COFFER_ACCESS_SELF_APPROVAL');
    assert.equal(await approve('olivia', id), 'COFFER_ACCESS_SELF_APPROVAL');
    const hers = (await h.call(t.olivia!, 'POST', '/v1/access/requests', { project: 'vision', artifact: 'det', role: 'writer', durationSeconds: 600, justification: 'retrain' })).json<{ id: string }>().id;
    assert.equal(await approve('bot-b', hers), 'COFFER_ACCESS_SELF_APPROVAL');
    // denying is deciding too
    assert.equal((await h.call(t['bot-b']!, 'POST', `/v1/access/requests/${hers}/deny`, { reason: 'no' })).json<Err>().error.code, 'COFFER_ACCESS_SELF_APPROVAL');
    assert.equal(await approve('victor-bot', id), '200');
  });

  test('a restricted share link: its approval needs two parties, never two bots of one owner', async () => {
    const link = await h.call(t['bot-a']!, 'POST', '/v1/share-links', { project: 'vision', artifact: 'secret', version: 1, justification: 'send to the auditor' });
    assert.equal(link.statusCode, 201, link.body);
    const id = link.json<{ link: { requestId: string } }>().link.requestId;
    assert.equal(await approve('bot-b', id), 'COFFER_ACCESS_SELF_APPROVAL');
    assert.equal(await approve('victor', id), '200');
    assert.equal(await approve('victor-bot', id), 'COFFER_ACCESS_SELF_APPROVAL', 'victor\'s bot is victor\'s party: his approval is already counted');
    assert.equal(await approve('dana', id), 'COFFER_NOT_FOUND', 'dana may not approve at all (nor see it)');
  });

  test('two approvals required: two sibling bots (or a bot and its owner) make one party, also when they race', async () => {
    for (let round = 0; round < 3; round++) {
      const req = await h.call(t.dana!, 'POST', '/v1/access/requests', { project: 'vision', artifact: 'secret', role: 'reader', durationSeconds: 600, justification: `round ${round}` });
      const id = req.json<{ id: string }>().id;
      const answers = await Promise.all([approve('bot-a', id), approve('bot-b', id), approve('olivia', id)]);
      assert.equal(answers.filter((a) => a === '200').length, 1, `one of the party counts: ${answers.join(' ')}`);
      const shown = await h.call(t.dana!, 'GET', `/v1/access/requests/${id}`);
      assert.deepEqual([shown.json<{ state: string }>().state, shown.json<{ approvals: unknown[] }>().approvals.length], ['pending', 1], 'still waiting for a second party');
      assert.equal(await approve('victor', id), '200');
      const final = (await h.call(t.dana!, 'GET', `/v1/access/requests/${id}`)).json<{ state: string; approvals: unknown[] }>();
      assert.deepEqual([final.state, final.approvals.length], ['active', 2]);
    }
  });
});

void describe('four eyes: owner chains', () => {
  const p = (id: string, ownerId: string | null): Principal => ({ id, kind: ownerId === null ? 'user' : 'service-account', name: id, displayName: id, ownerId, disabled: false, createdAt: 0 });
  const world = new Map<string, Principal>(
    [p('ann', null), p('bob', null), p('sa1', 'ann'), p('sa2', 'ann'), p('deep', 'sa1'), p('cousin', 'sa2'), p('bobsa', 'bob'), p('loop1', 'loop2'), p('loop2', 'loop1'), p('orphan', 'gone')].map((x) => [x.id, x]),
  );
  const lookup = (id: string) => Promise.resolve(world.get(id) ?? null);
  const refused = async (a: string, b: string) => (await fourEyesViolation(lookup, world.get(a)!, b, 'x')) !== null;

  test('one party: a person, their service accounts, and theirs, in both directions', async () => {
    for (const [a, b] of [['ann', 'ann'], ['sa1', 'sa2'], ['ann', 'deep'], ['deep', 'ann'], ['deep', 'cousin'], ['cousin', 'sa1'], ['loop1', 'loop2']]) assert.equal(await refused(a!, b!), true, `${a} / ${b}`);
    for (const [a, b] of [['ann', 'bob'], ['sa1', 'bobsa'], ['deep', 'bob'], ['orphan', 'ann']]) assert.equal(await refused(a!, b!), false, `${a} / ${b}`);
    assert.equal(await refused('orphan', 'gone'), true, 'a deleted owner is still the owner');
    assert.deepEqual([...(await ownerChain(lookup, 'deep')).ids], ['deep', 'sa1', 'ann']);
    assert.equal((await ownerChain(lookup, 'deep')).root, 'ann');
  });

  test('a chain too long to walk counts as shared (fail closed)', async () => {
    const long = new Map<string, Principal>();
    for (let i = 0; i < 40; i++) long.set(`n${i}`, p(`n${i}`, i === 39 ? null : `n${i + 1}`));
    long.set('other', p('other', null));
    const r = await fourEyesViolation((id) => Promise.resolve(long.get(id) ?? null), long.get('other')!, 'n0', 'x');
    assert.notEqual(r, null);
  });
});
