/**
 * Durability under a crash: a `coffer server` child process takes concurrent 4 KiB S3
 * PutObject requests of new keys (16 clients) and is killed with SIGKILL mid-stream.
 * After a restart on the same data directory, every PUT that was acknowledged (a 200
 * reached the client) reads back with its SHA-256, and the audit chain verifies: no
 * acknowledged write is lost, however the batching of commits and fsyncs is arranged.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { CofferClient } from '../../src/client/index.js';
import { S3CredentialsClient } from '../../src/client/s3-client.js';
import { startServerProcess, type ServerProcess } from '../support/server-process.js';
import { sdkClient } from './s3-client-helpers.js';

const CLIENTS = 16;
/** PUTs each client attempts at most before the kill (bounded loop). */
const PER_CLIENT = 200;
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

void describe('S3 PutObject: no acknowledged write is lost under kill -9', () => {
  const dir = mkdtempSync(join(tmpdir(), 'coffer-crash-'));
  let server: ServerProcess | null = null;
  after(async () => {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('concurrent PUTs, SIGKILL, restart: every acknowledged object reads back and the chain verifies', { timeout: 240_000 }, async () => {
    const env = { COFFER_S3_LISTEN: '127.0.0.1:0' };
    server = await startServerProcess(dir, { env });
    const { token } = await new CofferClient({ baseUrl: server.url }).bootstrap({ setupToken: server.setupToken!, name: 'admin' });
    const creds = await new S3CredentialsClient({ baseUrl: server.url, token }).issue({});
    const s3 = sdkClient(server.s3Url!, creds);
    await s3.send(new CreateBucketCommand({ Bucket: 'crash' }));

    const acknowledged = new Map<string, string>();
    let attempted = 0;
    let killed = false;
    const clients = Array.from({ length: CLIENTS }, async (_, c) => {
      for (let i = 0; i < PER_CLIENT && !killed; i++) {
        const key = `c${c}/obj-${i}`;
        const body = randomBytes(4096);
        attempted++;
        try {
          await s3.send(new PutObjectCommand({ Bucket: 'crash', Key: key, Body: body }));
          acknowledged.set(key, sha256(body));
        } catch {
          // refused or cut by the kill: not acknowledged, nothing is promised about it
          if (killed) return;
        }
      }
    });
    // kill once a fair number are acknowledged, while the others are in flight
    const deadline = Date.now() + 120_000;
    while (acknowledged.size < 40 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    killed = true;
    await server.kill9();
    await Promise.all(clients);
    s3.destroy();
    assert.ok(acknowledged.size >= 40, `only ${acknowledged.size} PUTs were acknowledged before the deadline`);
    assert.ok(attempted > acknowledged.size, 'some PUTs were in flight at the kill');

    server = await startServerProcess(dir, { env });
    const admin = new CofferClient({ baseUrl: server.url, token });
    const again = sdkClient(server.s3Url!, await new S3CredentialsClient({ baseUrl: server.url, token }).issue({}));
    try {
      for (const [key, digest] of acknowledged) {
        const got = await again.send(new GetObjectCommand({ Bucket: 'crash', Key: key }));
        const bytes = await got.Body!.transformToByteArray();
        assert.equal(sha256(bytes), digest, `object ${key} after the restart`);
      }
    } finally {
      again.destroy();
    }
    const verified = await admin.verifyAudit();
    assert.equal(verified.ok, true, `audit chain after the crash: ${JSON.stringify(verified)}`);
  });
});
