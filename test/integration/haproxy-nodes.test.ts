import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { CofferClient } from '../../src/client/index.js';
import { openS3BlobStore } from '../../src/store/s3/index.js';
import { bootstrapAdmin, startInProcess, waitFor } from '../support/index.js';
import type { ConfigFlags, InProcessServer } from '../support/index.js';
import { haproxySkip, startHaproxy, type Haproxy } from '../support/haproxy.js';
import { pgAdmin } from '../support/postgres.js';
import { emptyPrefix, ensureBucket, requireS3TestServer, s3Settings, s3Skip, s3TestServer, uniquePrefix } from '../support/s3-server.js';

// deploy/haproxy.cfg, the configuration docs/deploy.md gives, as is in front of two Coffer
// nodes on one PostgreSQL and one bucket (Ceph RGW): both nodes serve, a drained node gets no
// new requests, a node that stops is taken out by the /v1/ready check.

const pgUrl = process.env.COFFER_TEST_PG_URL;
const inCi = process.env.CI !== undefined && process.env.CI !== '' && process.env.CI !== 'false';
const pgSkip = pgUrl ? false : inCi ? false : 'skipped: set COFFER_TEST_PG_URL to run HAProxy in front of two nodes';

void describe('deploy/haproxy.cfg in front of two nodes (PostgreSQL + RGW)', { skip: haproxySkip() || s3Skip() || pgSkip, timeout: 300_000 }, () => {
  const dbName = `coffer_lb_${randomBytes(5).toString('hex')}`;
  let created = false;
  let dir: string;
  let prefix: string;
  const nodes: InProcessServer[] = [];
  let lb: Haproxy | undefined;

  before(async () => {
    assert.ok(pgUrl, 'CI is set but COFFER_TEST_PG_URL is not');
    await ensureBucket(requireS3TestServer());
    await pgAdmin(pgUrl, `CREATE DATABASE ${dbName}`);
    created = true;
    dir = await mkdtemp(join(tmpdir(), 'coffer-lb-'));
    prefix = uniquePrefix('lb');
  });

  after(async () => {
    await lb?.stop();
    for (const n of nodes) await n.close().catch(() => undefined);
    if (created) await pgAdmin(pgUrl!, `DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
    const s3 = s3TestServer();
    if (s3 !== null && prefix !== undefined) {
      const store = await openS3BlobStore(s3Settings(s3, prefix, { conditionalCreate: 'none' }));
      await emptyPrefix(s3, store, prefix);
      store.close();
    }
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  void test('round trip through the balancer on both nodes; drain; a stopped node is taken out', async () => {
    const s3 = requireS3TestServer();
    const u = new URL(pgUrl!);
    u.pathname = `/${dbName}`;
    const flags = {
      databaseUrl: u.toString(),
      blobStore: 's3',
      blobS3Endpoint: s3.endpoint,
      blobS3Region: s3.region,
      blobS3Bucket: s3.bucket,
      blobS3Prefix: prefix,
      blobS3PathStyle: 1,
      blobS3AccessKeyId: s3.accessKeyId,
      blobS3SecretAccessKey: s3.secretAccessKey,
      keyProvider: 'env',
      rootKey: randomBytes(32).toString('base64'),
    } as unknown as ConfigFlags;
    // one after the other: the second node finds the keyring and schema the first one made
    nodes.push(await startInProcess(join(dir, 'node1'), { flags }));
    nodes.push(await startInProcess(join(dir, 'node2'), { flags }));
    lb = await startHaproxy(dir, nodes.map((n, i) => ({ name: `node${i + 1}`, address: new URL(n.url).host })));
    const up = async () => [...(await lb!.servers()).values()].filter((s) => s.status === 'UP').length;
    await waitFor('both nodes UP behind HAProxy', async () => ((await up()) === 2 ? true : undefined), { timeoutMs: 20_000 });

    // each start while no admin exists issues a fresh setup token: the last one is valid
    const { token } = await bootstrapAdmin(lb.url, nodes[1]!.setupToken);
    const alice = new CofferClient({ baseUrl: lb.url, token });
    await alice.createProject({ name: 'vision' });
    await alice.createArtifact('vision', { name: 'small', kind: 'other', tier: 'restricted', environment: 'dev' });
    const body = randomBytes(4096);
    await alice.push('vision', 'small', Readable.from([body]), { size: body.length });
    const pullAll = async (n: number) => {
      for (let i = 0; i < n; i++) {
        const got = Buffer.concat((await (await alice.pull('vision', 'small', 1)).body.toArray()) as Buffer[]);
        assert.ok(got.equals(body));
      }
    };
    await pullAll(20);
    const spread = await lb.servers();
    assert.ok(spread.get('node1')!.total > 0 && spread.get('node2')!.total > 0, JSON.stringify([...spread]));

    // drain node1 (an upgrade): new requests all go to node2
    await lb.admin('set server coffer_nodes/node1 state drain');
    const drained = (await lb.servers()).get('node1')!.total;
    await pullAll(10);
    assert.equal((await lb.servers()).get('node1')!.total, drained, 'a drained node gets no new request');
    await lb.admin('set server coffer_nodes/node1 state ready');

    // node2 stops: the readiness check takes it out, every request is served by node1
    await nodes[1]!.close();
    await waitFor('node2 DOWN', async () => ((await lb!.servers()).get('node2')!.status.startsWith('DOWN') ? true : undefined), { timeoutMs: 20_000 });
    await pullAll(10);
    assert.equal((await alice.verifyAudit()).ok, true);
  });
});
