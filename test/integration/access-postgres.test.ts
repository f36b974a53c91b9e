/**
 * The access flows on PostgreSQL (COFFER_TEST_PG_URL; a database created for the run):
 * racing approvals through the HTTP layer give exactly one grant, the grant ends at its
 * expiry, racing share-link downloads take the last use once.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { openAccessHarness } from './access-harness.js';
import type { AccessHarness } from './access-harness.js';

const baseUrl = process.env.COFFER_TEST_PG_URL;

if (baseUrl === undefined || baseUrl === '') {
  void it('access flows on PostgreSQL', { skip: 'COFFER_TEST_PG_URL is not set' }, () => {});
} else {
  void describe('access flows on PostgreSQL', () => {
    const name = `coffer_access_flow_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
    let h: AccessHarness;
    let olivia: string;
    let dana: string;
    before(async () => {
      const admin = new pg.Client({ connectionString: baseUrl });
      await admin.connect();
      await admin.query(`create database ${name}`).finally(() => admin.end());
      const url = new URL(baseUrl);
      url.pathname = `/${name}`;
      h = await openAccessHarness({ databaseUrl: url.toString() });
      olivia = await h.principal('olivia');
      dana = await h.principal('dana');
      await h.call(h.adminToken, 'POST', '/v1/projects', { name: 'vision' });
      await h.call(h.adminToken, 'POST', '/v1/grants', { principal: 'olivia', role: 'owner', project: 'vision' });
      await h.call(olivia, 'POST', '/v1/projects/vision/artifacts', { name: 'models/resnet', kind: 'model', tier: 'restricted', environment: 'dev' });
      await h.call(olivia, 'POST', '/v1/projects/vision/artifacts', { name: 'eval/report', kind: 'evaluation', tier: 'internal', environment: 'dev' });
      await h.push(olivia, 'vision', 'models/resnet', randomBytes(10_000));
      await h.push(olivia, 'vision', 'eval/report', randomBytes(10_000));
    });
    after(async () => {
      await h?.close();
      const c = new pg.Client({ connectionString: baseUrl });
      await c.connect();
      await c.query(`drop database if exists ${name} with (force)`).finally(() => c.end());
    });

    const pull = () => h.call(dana, 'GET', `/v1/projects/vision/artifacts/${encodeURIComponent('models/resnet')}/versions/1/content`);

    void it('gives exactly one grant to racing approvals, ending at its expiry', async () => {
      for (let round = 0; round < 3; round++) {
        const req = await h.call(dana, 'POST', '/v1/access/requests', { project: 'vision', artifact: 'models/resnet', role: 'reader', durationSeconds: 3600, justification: `round ${round}` });
        const id = req.json<{ id: string }>().id;
        const results = await Promise.all([h.call(olivia, 'POST', `/v1/access/requests/${id}/approve`, {}), h.call(h.adminToken, 'POST', `/v1/access/requests/${id}/approve`, {})]);
        assert.deepEqual(results.map((r) => r.statusCode).sort(), [200, 409]);
        const store = h.runtime.store;
        const artifact = (await store.getArtifactByName((await store.getProjectByName('vision'))!.id, 'models/resnet'))!;
        const danaId = (await store.getPrincipalByName('dana'))!.id;
        const forDana = (await store.listGrantsOnScope('artifact', artifact.id)).filter((g) => g.principalId === danaId);
        assert.equal(forDana.length, 1, 'exactly one grant');
        const approvedAt = h.now();
        assert.equal((await pull()).statusCode, 200);
        h.setNow(approvedAt + 3600_000 + 1000);
        assert.equal((await pull()).statusCode, 404);
        await h.call(dana, 'POST', `/v1/access/requests/${id}/revoke`, {});
      }
    });

    void it('lets one of several racing downloads take the last use of a link', async () => {
      const created = await h.call(olivia, 'POST', '/v1/share-links', { project: 'vision', artifact: 'eval/report', version: 1, maxDownloads: 2 });
      const path = created.json<{ path: string }>().path;
      const results = await Promise.all(Array.from({ length: 6 }, () => h.call(null, 'GET', path)));
      assert.deepEqual(results.map((r) => r.statusCode).sort(), [200, 200, 410, 410, 410, 410]);
    });
  });
}
