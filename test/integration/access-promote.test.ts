/**
 * Promotion gates against a real runtime and app: dev -> staging -> prod in order,
 * approvals for prod through the request mechanism (not by the promoter), the digest of
 * the stored bytes re-read through the vault, pluggable checks failing closed, a
 * version seen by policy in the environment it reached, prod versions never deleted.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { open } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import { resolveSubject } from '../../src/identity/resolve-subject.js';
import { findVersion } from '../../src/service/resources.js';
import { blobFileOf } from '../support/files.js';
import { auditRecords, openAccessHarness } from './access-harness.js';
import type { AccessHarness } from './access-harness.js';

void describe('promotion gates', () => {
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
    await h.call(olivia, 'POST', '/v1/projects/vision/artifacts', { name: 'models/det', kind: 'model', tier: 'internal', environment: 'dev' });
    await h.push(olivia, 'vision', 'models/det', randomBytes(100_000));
    await h.push(olivia, 'vision', 'models/det', Buffer.concat([randomBytes(1000), Buffer.from('BEGIN PRIVATE KEY'), randomBytes(1000)]));
    await h.push(olivia, 'vision', 'models/det', randomBytes(300_000));
  });
  after(async () => h.close());

  const promote = (token: string, version: number, to: string) => h.call(token, 'POST', '/v1/promotions', { project: 'vision', artifact: 'models/det', version, to, justification: 'passed offline eval' });

  /** What policy decides for olivia deleting version `n`, as the core resolves it. */
  const mayDelete = async (n: number) => {
    const deps = h.runtime.service.deps;
    const found = (await findVersion(deps, 'vision', 'models/det', n))!;
    const olv = (await deps.store.getPrincipalByName('olivia'))!;
    const subject = await resolveSubject(deps.store, olv, h.now());
    // the gate's decision: a prod change also needs `bypass-promotion` (service/prod-guard.ts)
    const caller = { subject, meta: { requestId: 'test', sourceIp: '127.0.0.1', userAgent: 'test' }, tokenId: 'test', credentialId: 'test', context: { sourceIp: '127.0.0.1', now: h.now(), mfa: { methods: ['token'], ageSeconds: 0 }, device: { managed: false, id: '' } } };
    const d = h.runtime.service.gate.decide(caller, 'delete', { kind: 'version', ...found });
    return { env: found.artifact.environment, allowed: d.allowed };
  };

  void it('goes dev -> staging -> prod, prod only with an approval by someone else', async () => {
    assert.deepEqual(await mayDelete(1), { env: 'dev', allowed: true });
    const skip = await promote(olivia, 1, 'prod');
    assert.equal(skip.statusCode, 409);
    assert.match(skip.json<{ error: { message: string } }>().error.message, /can be promoted to `staging` only/);
    assert.equal((await promote(dana, 1, 'staging')).statusCode, 403, 'readers do not promote');

    const staged = await promote(olivia, 1, 'staging');
    assert.equal(staged.statusCode, 201, staged.body);
    assert.deepEqual(staged.json().promotion.checks, ['digest']);
    assert.equal((await mayDelete(1)).env, 'staging');

    const asked = await promote(olivia, 1, 'prod');
    assert.equal(asked.statusCode, 202, asked.body);
    const request = asked.json().request as { id: string; kind: string; state: string; approvalsRequired: number };
    assert.equal(request.kind, 'promote');
    assert.equal(request.approvalsRequired, 1);
    assert.equal((await promote(olivia, 1, 'prod')).json().request.id, request.id, 'asking again does not file a second request');
    assert.equal((await mayDelete(1)).env, 'staging', 'nothing moved yet');
    assert.equal((await h.call(olivia, 'POST', `/v1/access/requests/${request.id}/approve`, {})).json().error.code, 'COFFER_ACCESS_SELF_APPROVAL');
    assert.equal((await h.call(h.adminToken, 'POST', `/v1/access/requests/${request.id}/approve`, { comment: 'eval signed off' })).statusCode, 200);

    const done = await promote(olivia, 1, 'prod');
    assert.equal(done.statusCode, 201, done.body);
    assert.equal(done.json().promotion.requestId, request.id);
    assert.equal((await h.call(olivia, 'GET', `/v1/access/requests/${request.id}`)).json().state, 'used');
    assert.deepEqual(await mayDelete(1), { env: 'prod', allowed: false }, 'a prod version is not deleted, even by its owner, unless a policy permits bypass-promotion');
    const again = await promote(olivia, 1, 'prod');
    assert.equal(again.statusCode, 409);
    assert.match(again.json<{ error: { message: string } }>().error.message, /already in prod/);

    const listed = (await h.call(dana, 'GET', `/v1/promotions?project=vision&artifact=${encodeURIComponent('models/det')}`)).json().items as Array<{ version: string; from: string; to: string; promotedBy: string }>;
    assert.deepEqual(listed.map((p) => [p.version, p.from, p.to, p.promotedBy]), [['vision/models/det@1', 'dev', 'staging', 'olivia'], ['vision/models/det@1', 'staging', 'prod', 'olivia']]);
    const records = await auditRecords(h.runtime);
    assert.ok(records.some((r) => r.action === 'promote' && r.outcome === 'success' && r.context.requestId === request.id));
  });

  void it('runs registered checks and fails closed', async () => {
    h.runtime.access.checks.register({
      name: 'secret-scan',
      async run({ open: read }) {
        let text = '';
        for await (const chunk of await read()) text += (chunk as Buffer).toString('latin1');
        return text.includes('BEGIN PRIVATE KEY') ? { ok: false, detail: 'private key material found' } : { ok: true };
      },
    });
    try {
      const refused = await promote(olivia, 2, 'staging');
      assert.equal(refused.statusCode, 422);
      assert.equal(refused.json().error.code, 'COFFER_PROMOTION_CHECK_FAILED');
      assert.match(refused.json<{ error: { message: string } }>().error.message, /`secret-scan` failed: private key material found/);
      assert.equal((await mayDelete(2)).env, 'dev');
      const clean = await promote(olivia, 3, 'staging');
      assert.equal(clean.statusCode, 201);
      assert.deepEqual(clean.json().promotion.checks, ['digest', 'secret-scan']);
    } finally {
      h.runtime.access.checks.unregister('secret-scan');
    }
    h.runtime.access.checks.register({ name: 'broken', run: () => Promise.reject(new Error('scanner down')) });
    try {
      assert.equal((await promote(olivia, 2, 'staging')).statusCode, 422, 'a check that cannot run is a failed check');
    } finally {
      h.runtime.access.checks.unregister('broken');
    }
  });

  void it('re-reads the stored bytes: a tampered blob is never promoted', async () => {
    const version = (await findVersion(h.runtime.service.deps, 'vision', 'models/det', 2))!.version;
    const file = (await blobFileOf(h.config.dataDir, version.id))!;
    const fh = await open(file, 'r+');
    try {
      const { size } = await fh.stat();
      const b = Buffer.alloc(1);
      await fh.read(b, 0, 1, size - 10);
      b[0] = b[0]! ^ 0x01;
      await fh.write(b, 0, 1, size - 10);
    } finally {
      await fh.close();
    }
    const r = await promote(olivia, 2, 'staging');
    assert.equal(r.statusCode, 422);
    assert.match(r.json<{ error: { message: string } }>().error.message, /`digest` failed/);
    assert.equal((await mayDelete(2)).env, 'dev');
  });
});
