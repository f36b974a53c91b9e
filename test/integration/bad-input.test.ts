import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { mkdtemp, open, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import type { CofferApiError, CofferClient } from '../../src/client/index.js';
import { objectHeaderLength } from '../../src/crypto/index.js';
import { generateToken } from '../../src/identity/index.js';
import {
  blobFileOf,
  bootstrapAdmin,
  findRecords,
  listTree,
  openRaw,
  parseAuditExport,
  readText,
  requestHead,
  runCli,
  startInProcess,
  statusCodes,
  tempFiles,
  waitFor,
} from '../support/index.js';
import type { ExportedRecord, InProcessServer } from '../support/index.js';

// Hostile and broken input against a real server on 127.0.0.1 with real SQLite and
// blob files: every refusal must carry the right catalog code, create nothing, leave
// no temp file, and be on the audit record.

const SEGMENT = 4096;
const MAX_JSON = 8192;

interface Answer {
  status: number;
  code: string | undefined;
  message: string | undefined;
  headers: Headers;
  text: string;
}

void describe('bad input', { timeout: 120_000 }, () => {
  let dir: string;
  let dataDir: string;
  let server: InProcessServer;
  let admin: CofferClient;
  let adminToken: string;
  /** Added to the server's clock (ms), to expire tokens without waiting. */
  let clockOffset = 0;

  const call = async (method: string, path: string, options: { body?: string | Buffer; token?: string | null; headers?: Record<string, string> } = {}): Promise<Answer> => {
    const token = options.token === undefined ? adminToken : options.token;
    const res = await fetch(server.url + path, {
      method,
      headers: { ...(token === null ? {} : { authorization: `Bearer ${token}` }), ...(options.body !== undefined ? { 'content-type': 'application/json' } : {}), ...options.headers },
      ...(options.body !== undefined ? { body: options.body } : {}),
    });
    const text = await res.text();
    let parsed: { error?: { code?: string; message?: string } } = {};
    try {
      parsed = JSON.parse(text) as typeof parsed;
    } catch {
      // not JSON
    }
    return { status: res.status, code: parsed.error?.code, message: parsed.error?.message, headers: res.headers, text };
  };
  const expectError = (a: Answer, status: number, code: string, what: string) => {
    assert.deepEqual({ status: a.status, code: a.code }, { status, code }, `${what}: ${a.text.slice(0, 300)}`);
  };
  const auditRecords = async (): Promise<ExportedRecord[]> => parseAuditExport(await readText(await admin.exportAudit()));
  const versionsOf = async (artifact: string) => (await admin.showArtifact('vision', artifact)).versions;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'coffer-bad-input-'));
    dataDir = join(dir, 'data');
    server = await startInProcess(dataDir, { flags: { segmentSize: SEGMENT, maxJsonBytes: MAX_JSON }, clock: () => Date.now() + clockOffset });
    ({ client: admin, token: adminToken } = await bootstrapAdmin(server.url, server.setupToken));
    await admin.createProject({ name: 'vision' });
    for (const name of ['uploads', 'flip-small', 'flip-header', 'flip-tail', 'flip-big']) {
      await admin.createArtifact('vision', { name, kind: 'model', tier: 'restricted', environment: 'dev' });
    }
  });

  after(async () => {
    await server?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  void describe('JSON bodies', () => {
    void test('malformed JSON is 400 COFFER_VALIDATION_FAILED', async () => {
      for (const body of ['{"name":', '{name: "x"}', '', 'null', '"just a string"', '[1,2]']) {
        const a = await call('POST', '/v1/projects', { body });
        expectError(a, 400, 'COFFER_VALIDATION_FAILED', `body ${JSON.stringify(body)}`);
      }
    });

    void test('a JSON body over maxJsonBytes is 413 COFFER_PAYLOAD_TOO_LARGE and creates nothing', async () => {
      const a = await call('POST', '/v1/projects', { body: JSON.stringify({ name: 'too-big', description: 'x'.repeat(MAX_JSON) }) });
      expectError(a, 413, 'COFFER_PAYLOAD_TOO_LARGE', 'oversized body');
      await assert.rejects(admin.showProject('too-big'), (e: CofferApiError) => e.code === 'COFFER_NOT_FOUND');
    });

    void test('a body that is not JSON on a JSON route is refused', async () => {
      const a = await call('POST', '/v1/projects', { body: 'name=x', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
      expectError(a, 415, 'COFFER_UNSUPPORTED_MEDIA_TYPE', 'form body');
    });

    void test('unknown fields are 400 COFFER_VALIDATION_FAILED and create nothing', async () => {
      const cases: [string, string, unknown][] = [
        ['POST', '/v1/projects', { name: 'unknown-field', color: 'red' }],
        ['POST', '/v1/projects/vision/artifacts', { name: 'unknown-field', kind: 'model', tier: 'public', environment: 'dev', owner: 'mallory' }],
        ['POST', '/v1/principals', { kind: 'user', name: 'unknown-field', admin: true }],
        ['POST', '/v1/grants', { principal: 'alice', role: 'reader', project: 'vision', scope: 'everything' }],
        ['POST', '/v1/tokens', { ttlSeconds: 60, principal: 'alice', scopes: ['*'] }],
      ];
      for (const [method, path, body] of cases) expectError(await call(method, path, { body: JSON.stringify(body) }), 400, 'COFFER_VALIDATION_FAILED', `${path} ${JSON.stringify(body)}`);
      expectError(await call('GET', '/v1/projects?limit=10&admin=1'), 400, 'COFFER_VALIDATION_FAILED', 'unknown query parameter');
      await assert.rejects(admin.showProject('unknown-field'), (e: CofferApiError) => e.code === 'COFFER_NOT_FOUND');
      assert.ok(!(await admin.listPrincipals()).items.some((p) => p.name === 'unknown-field'));
    });

    void test('wrong types are 400 COFFER_VALIDATION_FAILED and create nothing', async () => {
      const projectsBefore = (await admin.listProjects()).items.map((p) => p.name);
      const cases: [string, unknown][] = [
        ['/v1/projects', { name: 12345 }],
        ['/v1/projects', { name: true }],
        ['/v1/projects', { name: null }],
        ['/v1/projects', { name: ['wrong-type-array'] }],
        ['/v1/projects', { name: { value: 'x' } }],
        ['/v1/projects', { name: 'wrong-type-desc', description: 42 }],
        ['/v1/projects/vision/artifacts', { name: 'wrong-type', kind: 'model', tier: 'secret', environment: 'dev' }],
        ['/v1/projects/vision/artifacts', { name: 'wrong-type', kind: 'model', tier: 'public', environment: 'dev', labels: { a: 1 } }],
        ['/v1/projects/vision/artifacts', { name: 'wrong-type', kind: 'model', tier: 'public', environment: 'dev', labels: ['a'] }],
        ['/v1/grants', { principal: 'alice', role: 'reader', project: 'vision', artifact: 'uploads', version: '1' }],
        ['/v1/grants', { principal: 'alice', role: 'god', project: 'vision' }],
        ['/v1/tokens', { ttlSeconds: '60' }],
        ['/v1/tokens', { ttlSeconds: 1.5 }],
      ];
      // every case is tried, so one report lists all that slip through
      const accepted: string[] = [];
      for (const [path, body] of cases) {
        const a = await call('POST', path, { body: JSON.stringify(body) });
        if (a.status !== 400 || a.code !== 'COFFER_VALIDATION_FAILED') accepted.push(`${path} ${JSON.stringify(body)} -> ${a.status} ${a.code ?? a.text.slice(0, 80)}`);
      }
      for (const q of ['limit=abc', 'limit=0', 'limit=1000000', 'limit=1.5']) {
        const a = await call('GET', `/v1/projects?${q}`);
        if (a.status !== 400 || a.code !== 'COFFER_VALIDATION_FAILED') accepted.push(`GET /v1/projects?${q} -> ${a.status}`);
      }
      const created = (await admin.listProjects()).items.map((p) => p.name).filter((n) => !projectsBefore.includes(n));
      const artifacts = (await admin.listArtifacts('vision')).items.map((a) => a.name).filter((n) => n === 'wrong-type');
      assert.deepEqual({ accepted, created, artifacts }, { accepted: [], created: [], artifacts: [] }, 'mistyped input must be refused, not coerced');
    });
  });

  void describe('names', () => {
    const traversal = ['../x', 'a/../b', 'a\u0000b', '/etc/passwd', './x', '..', '.', 'a/./b', 'a//b', 'a/', '..\\x', 'C:\\x', '%2e%2e'];

    void test('path traversal in project, artifact and principal names is 400 COFFER_INVALID_NAME and nothing lands on disk', async () => {
      const treeBefore = await listTree(dir);
      const projectsBefore = (await admin.listProjects()).items.map((p) => p.name);
      const artifactsBefore = (await admin.listArtifacts('vision')).items.map((a) => a.name);
      const passwd = statSync('/etc/passwd');
      for (const name of traversal) {
        expectError(await call('POST', '/v1/projects', { body: JSON.stringify({ name }) }), 400, 'COFFER_INVALID_NAME', `project ${JSON.stringify(name)}`);
        expectError(
          await call('POST', '/v1/projects/vision/artifacts', { body: JSON.stringify({ name, kind: 'model', tier: 'public', environment: 'dev' }) }),
          400,
          'COFFER_INVALID_NAME',
          `artifact ${JSON.stringify(name)}`,
        );
        expectError(await call('POST', '/v1/principals', { body: JSON.stringify({ kind: 'user', name }) }), 400, 'COFFER_INVALID_NAME', `user ${JSON.stringify(name)}`);
      }
      // the message never echoes a control character
      const nul = await call('POST', '/v1/projects', { body: JSON.stringify({ name: 'a\u0000b' }) });
      assert.ok(![...(nul.message ?? '')].some((c) => c.charCodeAt(0) < 0x20), JSON.stringify(nul.message));

      assert.deepEqual((await admin.listProjects()).items.map((p) => p.name), projectsBefore);
      assert.deepEqual((await admin.listArtifacts('vision')).items.map((a) => a.name), artifactsBefore);
      assert.ok(!(await admin.listPrincipals()).items.some((p) => traversal.includes(p.name)));
      assert.deepEqual(await listTree(dir), treeBefore, 'no file or directory appeared anywhere under the temp dir');
      assert.deepEqual(await readdir(dir), ['data'], 'nothing next to the data dir');
      assert.equal(statSync('/etc/passwd').mtimeMs, passwd.mtimeMs);
    });

    void test('traversal in URL paths finds nothing and writes nothing', async () => {
      const treeBefore = await listTree(dir);
      const paths: [string, string][] = [
        ['GET', '/v1/projects/..%2F..%2Fetc'],
        ['GET', '/v1/projects/vision%00'],
        ['GET', '/v1/projects/vision/artifacts/..%2F..%2F..%2Fetc%2Fpasswd'],
        ['GET', '/v1/projects/vision/artifacts/%2Fetc%2Fpasswd/versions/1/content'],
        ['GET', '/v1/projects/vision/artifacts/uploads%00/versions/1/content'],
        ['POST', '/v1/projects/vision/artifacts/..%2F..%2F..%2Ftmp%2Fowned/versions'],
        ['POST', '/v1/projects/..%2F..%2Fx/artifacts/y/versions'],
      ];
      for (const [method, path] of paths) {
        const a = await call(method, path, method === 'POST' ? { body: Buffer.from('payload'), headers: { 'content-type': 'application/octet-stream' } } : {});
        assert.ok([400, 404].includes(a.status) && ['COFFER_INVALID_NAME', 'COFFER_NOT_FOUND', 'COFFER_VALIDATION_FAILED'].includes(a.code ?? ''), `${method} ${path}: ${a.status} ${a.text}`);
      }
      // literal dot segments, which fetch would normalize away: a raw request
      for (const path of ['/v1/projects/vision/artifacts/../../../../etc/passwd/versions', '/v1/projects/vision/artifacts/./uploads/versions']) {
        const conn = await openRaw(server.url);
        await conn.write(requestHead('POST', path, { host: 'x', authorization: `Bearer ${adminToken}`, 'content-type': 'application/octet-stream', 'content-length': 7, connection: 'close' }) + 'payload');
        await conn.closed;
        const codes = statusCodes(conn.received());
        assert.ok(codes.length === 1 && [400, 404].includes(codes[0]!), `${path}: ${conn.received().slice(0, 200)}`);
      }
      assert.deepEqual(await listTree(dir), treeBefore, 'no file or directory appeared');
      assert.ok(!existsSync('/tmp/owned'));
      assert.deepEqual(await versionsOf('uploads'), []);
    });
  });

  void describe('uploads with a wrong Content-Length or a vanishing client', () => {
    const uploadPath = '/v1/projects/vision/artifacts/uploads/versions';
    const uploadFailures = async () => findRecords(await auditRecords(), { action: 'upload', resource: 'project/vision/artifact/uploads', outcome: 'failure' });

    void test('declared larger than sent, then the connection is closed: no version, no temp file, a failure record', async () => {
      const failuresBefore = (await uploadFailures()).length;
      const conn = await openRaw(server.url);
      await conn.write(requestHead('POST', uploadPath, { host: 'x', authorization: `Bearer ${adminToken}`, 'content-type': 'application/octet-stream', 'content-length': 50_000 }));
      await conn.write(randomBytes(20_000));
      conn.socket.end();
      await waitFor('the server to close the connection', () => (conn.socket.destroyed || conn.socket.readableEnded ? true : undefined), { timeoutMs: 5000 }).catch(() => undefined);
      conn.socket.destroy();
      await waitFor('the upload failure record', async () => ((await uploadFailures()).length > failuresBefore ? true : undefined));
      await waitFor('temp files to be removed', async () => ((await tempFiles(dataDir)).length === 0 ? true : undefined));
      assert.deepEqual(await versionsOf('uploads'), []);
    });

    void test('declared smaller than the body, all sent at once (with the digest of the whole body): no version, no temp file, never a 2xx', async () => {
      const failuresBefore = (await uploadFailures()).length;
      const body = randomBytes(3000);
      const conn = await openRaw(server.url);
      const head = requestHead('POST', uploadPath, {
        host: 'x',
        authorization: `Bearer ${adminToken}`,
        'content-type': 'application/octet-stream',
        'content-length': 1000,
        'x-coffer-sha256': createHash('sha256').update(body).digest('hex'),
      });
      // one write: the bytes past Content-Length arrive with the body and are parsed as a next request
      await conn.write(Buffer.concat([Buffer.from(head), body]));
      await waitFor('the connection to close', () => (conn.socket.destroyed || conn.socket.readableEnded ? true : undefined), { timeoutMs: 5000 }).catch(() => undefined);
      conn.socket.destroy();
      const codes = statusCodes(conn.received());
      assert.ok(codes.length > 0 && codes.every((c) => c >= 400), `answers ${codes.join(',')}: ${conn.received().slice(0, 200)}`);
      // the upload itself ends in a failure record (digest mismatch or aborted), never a version
      const failures = await waitFor('the upload failure record', async () => {
        const f = await uploadFailures();
        return f.length > failuresBefore ? f : undefined;
      });
      assert.match(failures.at(-1)!.body.reason ?? '', /^COFFER_(DIGEST_MISMATCH|UPLOAD_ABORTED|CONTENT_LENGTH_MISMATCH)$/);
      assert.deepEqual(await versionsOf('uploads'), []);
      assert.deepEqual(await tempFiles(dataDir), []);
    });

    void test('declared smaller than the body, the rest sent later: exactly the declared bytes are stored, the rest is refused', async () => {
      const body = randomBytes(3000);
      const conn = await openRaw(server.url);
      await conn.write(requestHead('POST', uploadPath, { host: 'x', authorization: `Bearer ${adminToken}`, 'content-type': 'application/octet-stream', 'content-length': 1000 }));
      await conn.write(body.subarray(0, 1000));
      await waitFor('the first answer', () => (statusCodes(conn.received()).length >= 1 ? true : undefined));
      await conn.write(body.subarray(1000)).catch(() => undefined);
      await waitFor('the connection to close', () => (conn.socket.destroyed || conn.socket.readableEnded ? true : undefined), { timeoutMs: 3000 }).catch(() => undefined);
      conn.socket.destroy();
      const codes = statusCodes(conn.received());
      assert.equal(codes[0], 201, conn.received().slice(0, 300));
      // the 2000 trailing bytes are not a request: never a 2xx
      assert.ok(codes.slice(1).every((c) => c >= 400), `trailing bytes answered ${codes.join(',')}`);
      const versions = await versionsOf('uploads');
      assert.deepEqual(versions.map((v) => v.size), [1000]);
      const got = Buffer.concat(await (await admin.pull('vision', 'uploads', versions[0]!.number)).body.toArray());
      assert.ok(got.equals(body.subarray(0, 1000)));
      assert.deepEqual(await tempFiles(dataDir), []);
    });

    void test('a client that disconnects mid-upload: no version, no temp file, a failure record', async () => {
      await server.runtime.audit.flush();
      const before = (await versionsOf('uploads')).length;
      const failuresBefore = (await uploadFailures()).length;
      const conn = await openRaw(server.url);
      await conn.write(requestHead('POST', uploadPath, { host: 'x', authorization: `Bearer ${adminToken}`, 'content-type': 'application/octet-stream', 'content-length': 400_000 }));
      await conn.write(randomBytes(150_000));
      // the upload is under way: its temp file exists
      await waitFor('the upload temp file', async () => ((await tempFiles(dataDir)).length > 0 ? true : undefined));
      conn.socket.destroy();
      const failures = await waitFor('the upload failure record', async () => {
        const f = await uploadFailures();
        return f.length > failuresBefore ? f : undefined;
      });
      const failure = failures[failures.length - 1]!;
      assert.equal(failure.body.decision, 'allow');
      assert.ok(failure.body.reason !== null, 'the failure names its reason');
      const attempt = findRecords(await auditRecords(), { action: 'upload', outcome: 'attempt', requestId: failure.body.requestId });
      assert.equal(attempt.length, 1, 'the attempt was recorded before the act');
      await waitFor('temp files to be removed', async () => ((await tempFiles(dataDir)).length === 0 ? true : undefined));
      assert.equal((await versionsOf('uploads')).length, before);
    });
  });

  void describe('tokens', () => {
    const whoami = (token: string | null, raw?: string) =>
      fetch(`${server.url}/v1/whoami`, { headers: raw !== undefined ? { authorization: raw } : token === null ? {} : { authorization: `Bearer ${token}` } }).then(async (res) => ({
        status: res.status,
        code: ((await res.json()) as { error?: { code?: string } }).error?.code,
        challenge: res.headers.get('www-authenticate'),
      }));
    const refused = async (token: string | null, code: string, what: string, raw?: string) => {
      const r = await whoami(token, raw);
      assert.deepEqual({ status: r.status, code: r.code }, { status: 401, code }, what);
      assert.match(r.challenge ?? '', /^Bearer/, `${what}: WWW-Authenticate`);
      // a refused token is refused on every route, data routes included
      const pull = await call('GET', '/v1/projects/vision/artifacts/uploads/versions/1/content', { token });
      assert.equal(pull.status, 401, `${what}: download`);
    };

    void test('missing, malformed, unknown and mistyped tokens are 401', async () => {
      await refused(null, 'COFFER_AUTH_REQUIRED', 'no token');
      await refused('garbage', 'COFFER_AUTH_TOKEN_INVALID', 'malformed token');
      await refused(null, 'COFFER_AUTH_REQUIRED', 'another scheme than Bearer', `Basic ${Buffer.from('alice:pw').toString('base64')}`);
      await refused(generateToken('pat'), 'COFFER_AUTH_TOKEN_INVALID', 'well-formed unknown token');
      const last = adminToken.at(-1) === 'A' ? 'B' : 'A';
      await refused(adminToken.slice(0, -1) + last, 'COFFER_AUTH_TOKEN_INVALID', 'a real token with one character changed');
      await refused(server.setupToken ?? generateToken('setup'), 'COFFER_AUTH_TOKEN_INVALID', 'the setup token is not an API token');
    });

    void test('a revoked token is 401 COFFER_AUTH_TOKEN_REVOKED', async () => {
      const { token, info } = await admin.createToken({ description: 'to revoke' });
      assert.equal((await whoami(token)).status, 200);
      await admin.revokeToken(info.id);
      await refused(token, 'COFFER_AUTH_TOKEN_REVOKED', 'revoked token');
    });

    void test('an expired token is 401 COFFER_AUTH_TOKEN_EXPIRED (server clock moved past its ttl)', async () => {
      const { token } = await admin.createToken({ ttlSeconds: 60 });
      assert.equal((await whoami(token)).status, 200);
      clockOffset = 59_000;
      try {
        assert.equal((await whoami(token)).status, 200, 'still valid just before expiry');
        clockOffset = 60_001;
        await refused(token, 'COFFER_AUTH_TOKEN_EXPIRED', 'expired token');
      } finally {
        clockOffset = 0;
      }
    });

    void test('a disabled user is refused at once, and its tokens stay dead once enabled again (credential lineage)', async () => {
      await admin.createPrincipal({ kind: 'user', name: 'carol' });
      const { token } = await admin.createToken({ principal: 'carol' });
      assert.equal((await whoami(token)).status, 200);
      await admin.setDisabled('carol', true);
      await refused(token, 'COFFER_AUTH_TOKEN_REVOKED', 'disabled user');
      await admin.setDisabled('carol', false);
      // a disable ends the principal's credentials (issue 11, finding 4): a stolen one stays dead
      await refused(token, 'COFFER_AUTH_TOKEN_REVOKED', 'a token ended by the disable');
      const fresh = await admin.createToken({ principal: 'carol' });
      assert.equal((await whoami(fresh.token)).status, 200);
    });

    void test('every refused authentication is on the audit record with its reason', async () => {
      const records = findRecords(await auditRecords(), { action: 'authenticate', decision: 'deny', outcome: 'denied', actor: null });
      const reasons = new Set(records.map((r) => r.body.reason));
      for (const code of ['COFFER_AUTH_REQUIRED', 'COFFER_AUTH_TOKEN_INVALID', 'COFFER_AUTH_TOKEN_REVOKED', 'COFFER_AUTH_TOKEN_EXPIRED']) {
        assert.ok(reasons.has(code), `audit holds a refused authentication with ${code}`);
      }
    });
  });

  void describe('tampered ciphertext', () => {
    /** Pushes `data`, then applies `damage` to its blob file; returns the version number. */
    const pushAndDamage = async (artifact: string, data: Buffer, damage: (file: string, headerLength: number) => Promise<void>): Promise<number> => {
      const v = await admin.push('vision', artifact, Readable.from([data]), { size: data.length });
      const file = await blobFileOf(dataDir, v.id);
      assert.ok(file !== null, 'the blob file exists');
      await damage(file, objectHeaderLength(v.id));
      return v.number;
    };
    const flipByte = async (file: string, offset: number) => {
      const fh = await open(file, 'r+');
      try {
        const b = Buffer.alloc(1);
        await fh.read(b, 0, 1, offset);
        b[0] = b[0]! ^ 0x01;
        await fh.write(b, 0, 1, offset);
      } finally {
        await fh.close();
      }
    };
    const messages = new Set<string>();

    const expectGenericFailure = async (artifact: string, version: number, plaintext: Buffer, what: string) => {
      for (const range of [undefined, 'bytes=0-99', 'bytes=10-']) {
        const a = await call('GET', `/v1/projects/vision/artifacts/${artifact}/versions/${version}/content`, range ? { headers: { range } } : {});
        expectError(a, 500, 'COFFER_DECRYPTION_FAILED', `${what} ${range ?? 'whole'}`);
        assert.match(a.headers.get('content-type') ?? '', /^application\/json/);
        messages.add(a.message ?? '');
        // nothing of the plaintext is served: the body is only the error document
        const body = Buffer.from(a.text, 'latin1');
        for (let i = 0; i + 16 <= plaintext.length; i += 16) assert.equal(body.indexOf(plaintext.subarray(i, i + 16)), -1, `${what}: plaintext at ${i} leaked`);
      }
    };

    void test('one flipped bit in a one-segment object: 500 COFFER_DECRYPTION_FAILED, no plaintext served', async () => {
      const data = randomBytes(1000);
      const n = await pushAndDamage('flip-small', data, (file, header) => flipByte(file, header + 500));
      await expectGenericFailure('flip-small', n, data, 'flipped segment byte');
      const failure = findRecords(await auditRecords(), { action: 'download', resource: `project/vision/artifact/flip-small@${n}`, outcome: 'failure' });
      assert.ok(failure.some((r) => r.body.reason === 'COFFER_DECRYPTION_FAILED' && r.body.bytes === 0), 'the failed download is recorded with 0 bytes');
    });

    void test('a flipped header byte and a flipped tag byte give the same one generic error', async () => {
      const d1 = randomBytes(700);
      const n1 = await pushAndDamage('flip-header', d1, (file) => flipByte(file, 20));
      await expectGenericFailure('flip-header', n1, d1, 'flipped header byte');
      const d2 = randomBytes(700);
      const n2 = await pushAndDamage('flip-tail', d2, async (file) => flipByte(file, (await stat(file)).size - 1));
      await expectGenericFailure('flip-tail', n2, d2, 'flipped tag byte');
      assert.equal(messages.size, 1, `one message for every decryption failure: ${[...messages].join(' | ')}`);
    });

    void test('a flip in a later segment of a multi-segment object cuts the transfer before that segment, and `coffer pull` leaves no file', async (t) => {
      // 64 segments, the flip in segment 50: well past the first reads, so streaming has begun when it is found
      const data = randomBytes(64 * SEGMENT + 123);
      const bad = 50;
      const n = await pushAndDamage('flip-big', data, (file, header) => flipByte(file, header + bad * (SEGMENT + 16) + 42));
      const res = await fetch(`${server.url}/v1/projects/vision/artifacts/flip-big/versions/${n}/content`, { headers: { authorization: `Bearer ${adminToken}` } });
      const chunks: Buffer[] = [];
      let failed = false;
      try {
        for await (const chunk of res.body!) chunks.push(Buffer.from(chunk as Uint8Array));
      } catch {
        failed = true;
      }
      const got = Buffer.concat(chunks);
      t.diagnostic(`answer ${res.status}, ${got.length} of ${data.length} bytes before the cut`);
      if (res.status === 200) {
        // the first segments were authentic and already on their way: the only signal left is a cut connection
        assert.ok(failed, 'the transfer is cut, not completed');
        assert.ok(got.length <= bad * SEGMENT, `nothing from the corrupt segment on is served (${got.length} of ${data.length} bytes arrived)`);
        assert.ok(got.equals(data.subarray(0, got.length)), 'what was served is the authentic prefix');
      } else {
        // found before the headers went out: the one generic error, no plaintext
        assert.equal(res.status, 500);
        assert.equal((JSON.parse(got.toString('utf8')) as { error: { code: string } }).error.code, 'COFFER_DECRYPTION_FAILED');
      }

      const out = join(dir, 'pulled-flip-big.bin');
      const run = await runCli(['pull', `vision/flip-big@${n}`, '-o', out, '--no-progress'], { env: { COFFER_URL: server.url, COFFER_TOKEN: adminToken } });
      assert.notEqual(run.code, 0, `pull must fail: ${run.stdout} ${run.stderr}`);
      assert.ok(!existsSync(out), 'no output file');
      assert.deepEqual((await readdir(dir)).filter((f) => f.includes('pulled-flip-big')), [], 'no partial file either');
    });
  });
});
