import assert from 'node:assert/strict';
import { mkdtemp, rm, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CofferApiError } from '../../src/client/index.js';
import { bootstrapAdmin, fillDisk, mountTmpfs, startInProcess, unmount, waitFor, type InProcessServer } from '../support/index.js';

// Issue 11, finding 15: `/v1/ready` answered 200 while every request was refused because
// the audit store was full. A node that cannot write audit records serves nothing (fail
// closed), so it must leave the load balancer's rotation: readiness probes the write
// path of the audit records, and comes back by itself once the store recovers.

const readiness = async (url: string) => (await fetch(`${url}/v1/ready`)).status;

void describe('security: readiness tells the truth about the audit store', { timeout: 120_000 }, () => {
  let root: string;
  let dataDir: string;
  let mounted = false;
  let server: InProcessServer | null = null;
  let skip: string | null = null;

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'coffer-ready-'));
    dataDir = join(root, 'data');
    skip = await mountTmpfs(dataDir, 16);
    mounted = skip === null;
  });

  after(async () => {
    await server?.close();
    if (mounted) await unmount(dataDir);
    await rm(root, { recursive: true, force: true });
  });

  void test('a full audit store makes the node not ready before any request fails; it is ready again once space is back', async (t) => {
    if (skip !== null) return t.skip(`skipped: no tmpfs for the fault (${skip})`);
    server = await startInProcess(dataDir);
    const { client: admin } = await bootstrapAdmin(server.url, server.setupToken);
    await admin.createProject({ name: 'vision' });
    assert.equal(await readiness(server.url), 200, 'ready while the store has room');

    const filler = await fillDisk(dataDir);
    let removed = false;
    try {
      // no request has been refused yet: readiness finds out by itself
      const status = await waitFor('readiness to notice the full audit store', async () => ((await readiness(server!.url)) === 503 ? 503 : undefined), { timeoutMs: 5000 }).catch(() => 200);
      await assert.rejects(admin.createProject({ name: 'during-outage' }), (err: unknown) => err instanceof CofferApiError && err.code === 'COFFER_AUDIT_UNAVAILABLE', 'the audit store is really full: requests are refused');
      assert.equal(status, 503, '/v1/ready answered 200 while the audit store could not be written');
      assert.equal(await readiness(server.url), 503, 'still not ready while requests are refused');
      await unlink(filler);
      removed = true;
    } finally {
      if (!removed) await unlink(filler).catch(() => undefined);
    }
    await waitFor('readiness to recover', async () => ((await readiness(server!.url)) === 200 ? true : undefined), { timeoutMs: 10_000 });
    await admin.createProject({ name: 'after-outage' });
    const verified = await admin.verifyAudit();
    assert.equal(verified.ok, true, JSON.stringify(verified));
  });

  void test('readiness is cheap for anyone to call: a burst of probes costs at most a few store writes', async (t) => {
    if (skip !== null || server === null) return t.skip('skipped: needs the server of the test before');
    // past the reuse window of the last verdict
    await new Promise((r) => setTimeout(r, 1100));
    const before = server.runtime.readiness.probeWrites();
    const started = Date.now();
    const statuses = await Promise.all(Array.from({ length: 200 }, () => readiness(server!.url)));
    const seconds = Math.ceil((Date.now() - started) / 1000);
    assert.ok(statuses.every((s) => s === 200), statuses.join(','));
    const writes = server.runtime.readiness.probeWrites() - before;
    // one verdict a second, whatever the number of callers (a slow machine stretches the burst)
    assert.ok(writes >= 1 && writes <= seconds + 1, `${writes} probe writes for 200 probes in ${seconds} s`);
  });
});
