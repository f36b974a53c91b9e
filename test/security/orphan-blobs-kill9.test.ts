import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { CofferClient } from '../../src/client/index.js';
import { S3CredentialsClient, type S3Credentials } from '../../src/client/s3-client.js';
import {
  findRecords,
  parseAuditExport,
  rawExchange,
  rawS3Request,
  readText,
  referencedBlobKeys,
  seededRandom,
  startServerProcess,
  storedBlobKeys,
  tempFiles,
  unreferencedBlobs,
  waitFor,
  type ServerProcess,
} from '../support/index.js';

// Issue 11, finding 18: complete blobs that no version points to stayed forever after
// kill -9 (60 in 30 trials). Here a real server subprocess is killed with SIGKILL in the
// middle of a burst of REST and S3 uploads, a few times, until the crash has left
// unreferenced blobs. Restarted with a long `maxUploadSeconds`, the node must keep them
// (they could be uploads about to commit); restarted with a short one, its sweep (at
// start, then periodic) must remove every one of them and nothing else: every version
// still downloads intact, the part of an open multipart upload, older than the grace
// period, survives and completes, no temp file remains, and the sweep is on record.

const SEED = Number(process.env.COFFER_TEST_SEED ?? 1811);
const ROUNDS = Number(process.env.COFFER_ORPHAN_ROUNDS ?? 6);
const LONG = { COFFER_MAX_UPLOAD_SECONDS: '600' };
const SHORT = { COFFER_MAX_UPLOAD_SECONDS: '1' };

void describe('security: orphaned blobs after kill -9 are swept, and nothing else is', { timeout: 300_000 }, () => {
  let root: string;
  let dataDir: string;
  let server: ServerProcess | null = null;
  let token: string;
  let credentials: S3Credentials;

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'coffer-orphans-'));
    dataDir = join(root, 'data');
  });

  after(async () => {
    await server?.stop();
    await rm(root, { recursive: true, force: true });
  });

  const client = () => new CofferClient({ baseUrl: server!.url, token });
  const s3 = (method: string, path: string, query: Array<[string, string]> = [], body?: Buffer) => {
    const req = rawS3Request(server!.s3Url!, credentials, { method, path, query, ...(body ? { body } : {}) });
    return rawExchange(server!.s3Url!, req.head, req.body);
  };

  void test('kill -9 mid-upload leaves orphans; a long grace keeps them; the sweep removes them and only them', async (t) => {
    const random = seededRandom(SEED);
    t.diagnostic(`seed ${SEED} (COFFER_TEST_SEED replays it)`);
    server = await startServerProcess(dataDir, { env: LONG });
    const boot = await new CofferClient({ baseUrl: server.url }).bootstrap({ setupToken: server.setupToken!, name: 'admin' });
    token = boot.token;
    await client().createProject({ name: 'vision' });
    await client().createArtifact('vision', { name: 'model', kind: 'model', tier: 'internal', environment: 'dev' });

    let orphans: string[] = [];
    let rounds = 0;
    while (rounds < ROUNDS && orphans.length === 0) {
      rounds++;
      credentials = await new S3CredentialsClient({ baseUrl: server.url, token }).issue();
      let stop = false;
      const outcome = { ok: 0, failed: 0, last: '' };
      const workers = Array.from({ length: 12 }, async (_, w) => {
        for (let i = 0; !stop; i++) {
          const data = randomBytes(random.int(16, 256) * 1024);
          try {
            if (w % 3 === 0) await s3('PUT', `/vision/obj-${rounds}-${w}-${i}`, [], data);
            else await client().push('vision', 'model', Readable.from([data]), { size: data.length });
            outcome.ok++;
          } catch (err) {
            // the server is being killed: connection errors are expected
            outcome.failed++;
            outcome.last = (err as Error).message;
          }
        }
      });
      // kill once uploads flow (the machine may be slow), at a moment where a blob is visible
      // and its row not yet committed (looked at from outside, so the commit may still win)
      await waitFor('uploads to flow', () => (outcome.ok >= 3 ? true : undefined), { timeoutMs: 60_000 });
      await new Promise((r) => setTimeout(r, random.int(0, 200)));
      await waitFor('a blob not yet committed', async () => ((await unreferencedBlobs(dataDir).catch(() => [])).length > 0 ? true : undefined), { timeoutMs: 10_000, intervalMs: 1 }).catch(() => undefined);
      await server.kill9();
      stop = true;
      await Promise.all(workers);
      orphans = await unreferencedBlobs(dataDir);
      t.diagnostic(`round ${rounds}: ${orphans.length} unreferenced of ${(await storedBlobKeys(dataDir)).length} blob(s) after kill -9 (uploads: ${JSON.stringify(outcome)})`);
      server = await startServerProcess(dataDir, { env: LONG });
    }
    assert.ok(orphans.length > 0, `${rounds} kill -9 rounds left no unreferenced blob to sweep`);

    // a long grace: these could be uploads about to commit, so the node keeps them
    await new Promise((r) => setTimeout(r, 1500));
    assert.deepEqual((await unreferencedBlobs(dataDir)).filter((k) => orphans.includes(k)), orphans, 'younger than the grace period: kept');

    // an open multipart upload with one part: its blob must outlive the sweeps below
    credentials = await new S3CredentialsClient({ baseUrl: server.url, token }).issue();
    const created = await s3('POST', '/vision/multi', [['uploads', '']]);
    const uploadId = /<UploadId>([^<]+)<\/UploadId>/.exec(created.body.toString())![1]!;
    const partData = randomBytes(64 * 1024);
    const part = await s3('PUT', '/vision/multi', [['partNumber', '1'], ['uploadId', uploadId]], partData);
    assert.equal(part.status, 200, part.body.toString());
    const partKeys = [...referencedBlobKeys(dataDir)].filter((k) => k.includes('/s3p_'));
    assert.equal(partKeys.length, 1);

    // what every version holds now, to check the sweep touched none of them
    const versions = (await client().showArtifact('vision', 'model')).versions;
    const digests = new Map(versions.map((v) => [v.number, v.sha256]));

    await server.stop();
    server = await startServerProcess(dataDir, { env: SHORT });
    await waitFor('the sweep to remove the orphans', async () => ((await unreferencedBlobs(dataDir)).length === 0 ? true : undefined), { timeoutMs: 20_000 });
    // the part is older than the grace period now (1 s upload + 1 s margin), and still there
    const partAge = Date.now() - (await stat(join(dataDir, 'blobs', ...partKeys[0]!.split('/')) + '.blob')).mtimeMs;
    assert.ok(partAge > 2000, `the part blob is ${partAge} ms old: past the grace period`);
    await new Promise((r) => setTimeout(r, 1500));
    assert.ok((await storedBlobKeys(dataDir)).includes(partKeys[0]!), 'the part of an open upload is never swept');
    assert.deepEqual(await tempFiles(dataDir), []);

    // every version still there, and whole
    credentials = await new S3CredentialsClient({ baseUrl: server.url, token }).issue();
    for (const [n, sha] of digests) {
      const d = await client().pull('vision', 'model', n);
      const h = createHash('sha256');
      for await (const chunk of d.body) h.update(chunk as Buffer);
      assert.equal(h.digest('hex'), sha, `version ${n} intact`);
    }
    const done = await s3('POST', '/vision/multi', [['uploadId', uploadId]], Buffer.from(`<CompleteMultipartUpload><Part><PartNumber>1</PartNumber></Part></CompleteMultipartUpload>`));
    assert.equal(done.status, 200, done.body.toString());
    const got = await s3('GET', '/vision/multi');
    assert.ok(got.body.equals(partData), 'the open upload completes with its part');

    const records = parseAuditExport(await readText(await client().exportAudit(1)));
    const swept = findRecords(records, { action: 'vault:sweep-orphans', outcome: 'success' });
    assert.ok(swept.length >= 1, 'the sweep is on record');
    assert.deepEqual(new Set(swept.flatMap((r) => r.body.context.keys as string[])), new Set(orphans), 'it names what it removed');
    const verified = await client().verifyAudit();
    assert.equal(verified.ok, true, JSON.stringify(verified));
  });
});
