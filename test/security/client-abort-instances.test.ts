import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { CofferClient } from '../../src/client/index.js';
import { S3CredentialsClient, type S3Credentials } from '../../src/client/s3-client.js';
import { openRaw, rawS3Request, requestHead, startServerProcess, statusCodes, waitFor, type ServerProcess } from '../support/index.js';

// The exact requests of the penetration test (issue 11, finding 1) that ended the
// process, replayed against a real server subprocess: a crash there cannot take the
// test runner with it, and shows as a dead pid and an unanswered health check.

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

void describe('security: a client hanging up never ends the process (the reported instances)', { timeout: 180_000 }, () => {
  let root: string;
  let server: ServerProcess;
  let adminToken: string;
  let userToken: string;
  let credentials: S3Credentials;
  let dataDir: string;

  /** The server is alive and answers health; if the check fails, the next test gets a fresh server. */
  const assertAlive = async (what: string) => {
    // a crash is asynchronous (the error event fires on a later tick): give it the time to happen
    await pause(300);
    const alive = server.alive();
    const health = await fetch(`${server.url}/v1/health`).then((r) => r.status, (err: Error) => `no answer (${err.message})`);
    if (!alive || health !== 200) {
      const stderr = server.stderr();
      await server.stop();
      server = await startServerProcess(dataDir);
      assert.fail(`${what}: the server died (alive ${alive}, health ${health}); its last words:\n${stderr.slice(-1500)}`);
    }
  };

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'coffer-abort-'));
    dataDir = join(root, 'data');
    server = await startServerProcess(dataDir);
    const { token } = await new CofferClient({ baseUrl: server.url }).bootstrap({ setupToken: server.setupToken!, name: 'admin' });
    adminToken = token;
    const admin = new CofferClient({ baseUrl: server.url, token });
    await admin.createProject({ name: 'vision' });
    await admin.createArtifact('vision', { name: 'resnet', kind: 'model', tier: 'internal', environment: 'dev' });
    const v1 = randomBytes(64 * 1024);
    await admin.push('vision', 'resnet', Readable.from([v1]), { size: v1.length });
    await admin.createPrincipal({ kind: 'user', name: 'bob' });
    await admin.createGrant({ principal: 'bob', role: 'reader', project: 'vision' });
    userToken = (await admin.createToken({ principal: 'bob' })).token;
    credentials = await new S3CredentialsClient({ baseUrl: server.url, token: adminToken }).issue();
  });

  after(async () => {
    await server?.stop();
    if (root) await rm(root, { recursive: true, force: true });
  });

  /** Sends `head` and `body`, waits `holdMs`, then hangs up (whatever the server answered). */
  const sendAndHangUp = async (url: string, head: string, body: Buffer, holdMs: number): Promise<string> => {
    const conn = await openRaw(url);
    await conn.write(head);
    if (body.length > 0) conn.socket.write(body);
    await pause(holdMs);
    conn.socket.destroy();
    return conn.received();
  };

  void test('REST: an upload refused (unknown project) with a short body, then a hang-up', async () => {
    for (let i = 0; i < 3; i++) {
      const head = requestHead('POST', '/v1/projects/nope/artifacts/x/versions', { host: 'x', authorization: `Bearer ${adminToken}`, 'content-type': 'application/octet-stream', 'content-length': 100 });
      await sendAndHangUp(server.url, head, Buffer.from('abc'), 100);
      await assertAlive(`refused upload #${i + 1}`);
    }
  });

  void test('REST: an upload refused by policy (reader may not upload) with a short body, then a hang-up', async () => {
    const head = requestHead('POST', '/v1/projects/vision/artifacts/resnet/versions', { host: 'x', authorization: `Bearer ${userToken}`, 'content-type': 'application/octet-stream', 'content-length': 4096 });
    await sendAndHangUp(server.url, head, randomBytes(1000), 200);
    await assertAlive('upload refused by policy');
    // the same refusal with the whole body is answered, and the connection stays usable
    const conn = await openRaw(server.url);
    await conn.write(head);
    await conn.write(randomBytes(4096));
    await conn.write(requestHead('GET', '/v1/health', { host: 'x' }));
    const codes = await waitFor('both answers', () => (statusCodes(conn.received()).length >= 2 ? statusCodes(conn.received()) : undefined));
    conn.socket.destroy();
    assert.deepEqual(codes, [403, 200]);
  });

  void test('S3: a signed PutObject whose client closes the socket after the body and before the answer', async () => {
    for (const encoding of ['sha256', 'chunked', 'unsigned'] as const) {
      for (let i = 0; i < 4; i++) {
        const req = rawS3Request(server.s3Url!, credentials, { method: 'PUT', path: `/vision/put-${encoding}-${i}`, body: randomBytes(20_000), encoding, chunkSize: 8192 });
        await sendAndHangUp(server.s3Url!, req.head, req.body, 0);
        await assertAlive(`PutObject (${encoding}) #${i + 1} closed before the answer`);
      }
    }
  });

  void test('S3: a signed UploadPart whose client closes the socket after the body and before the answer', async () => {
    const create = rawS3Request(server.s3Url!, credentials, { method: 'POST', path: '/vision/parts', query: [['uploads', '']] });
    const conn = await openRaw(server.s3Url!);
    await conn.write(create.head);
    const uploadId = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no upload id: ${conn.received()}`)), 10_000);
      conn.socket.on('data', () => {
        const m = /<UploadId>([^<]+)<\/UploadId>/.exec(conn.received());
        if (m) {
          clearTimeout(timer);
          resolve(m[1]!);
        }
      });
    });
    conn.socket.destroy();
    for (let i = 0; i < 4; i++) {
      const req = rawS3Request(server.s3Url!, credentials, { method: 'PUT', path: '/vision/parts', query: [['partNumber', String(i + 1)], ['uploadId', uploadId]], body: randomBytes(20_000), encoding: i % 2 === 0 ? 'sha256' : 'chunked', chunkSize: 8192 });
      await sendAndHangUp(server.s3Url!, req.head, req.body, 0);
      await assertAlive(`UploadPart #${i + 1} closed before the answer`);
    }
  });
});
