import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { findRecords, parseAuditExport, runCli, startServerProcess } from '../support/index.js';
import type { CliRun, ExportedRecord, ServerProcess } from '../support/index.js';

// The user story, played as a new user would: a `coffer server` subprocess and
// the `coffer` CLI as subprocesses, each user with their own credentials file.

const BIG = 3 * 1024 * 1024 + 12_345;

/** The message of a CLI error line with every backticked name replaced, to compare shapes. */
function shapeOf(stderr: string): string {
  const line = stderr.trim().split('\n').pop() ?? '';
  return line.replace(/`[^`]*`/g, '`NAME`');
}

function ok(run: CliRun, what: string): CliRun {
  assert.equal(run.code, 0, `${what} failed (exit ${run.code}):\nstdout: ${run.stdout}\nstderr: ${run.stderr}`);
  return run;
}

void describe('e2e: a new user runs the story of the foundation issue with the CLI', { timeout: 180_000 }, () => {
  let dir: string;
  let server: ServerProcess;
  let aliceEnv: Record<string, string>;
  let bobEnv: Record<string, string>;
  let big: Buffer;
  let small: Buffer;
  let bobToken: string;
  /** HTTP requests bob made, counted for the audit check. */
  let bobRequests = 0;
  let records: ExportedRecord[] = [];

  const alice = async (what: string, args: string[]) => ok(await runCli(args, { env: aliceEnv }), what);
  const bob = (args: string[]) => {
    bobRequests++;
    return runCli(args, { env: bobEnv });
  };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'coffer-e2e-'));
    big = randomBytes(BIG);
    small = Buffer.from('{"weights":"small second version"}\n');
    await writeFile(join(dir, 'model-v1.bin'), big);
    await writeFile(join(dir, 'model-v2.json'), small);
    await writeFile(join(dir, 'secret.csv'), 'id,label\n1,cat\n');
    server = await startServerProcess(join(dir, 'data'));
    aliceEnv = { COFFER_URL: server.url, COFFER_CREDENTIALS_FILE: join(dir, 'alice.json'), XDG_CONFIG_HOME: join(dir, 'xdg') };
    // bob gets the server from his login cache, not from the environment
    bobEnv = { COFFER_CREDENTIALS_FILE: join(dir, 'bob.json'), XDG_CONFIG_HOME: join(dir, 'xdg') };
  });

  after(async () => {
    await server?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  void test('the server prints a one-time setup token and `coffer bootstrap` makes the first admin', async () => {
    assert.match(server.setupToken ?? '', /^coffer_setup_[0-9A-Za-z]{38}$/);
    const run = await alice('bootstrap', ['bootstrap', '--name', 'alice', '--setup-token', server.setupToken!]);
    assert.match(run.stdout, /administrator `alice` created/);
    assert.equal((await stat(join(dir, 'alice.json'))).mode & 0o777, 0o600, 'the credentials cache is owner-only');
    assert.equal((await stat(join(dir, 'data', 'root.key'))).mode & 0o777, 0o600, 'the generated root key is owner-only');
    const creds = JSON.parse(await readFile(join(dir, 'alice.json'), 'utf8')) as { server: string; token: string };
    assert.equal(creds.server, server.url);
    assert.match(creds.token, /^coffer_pat_/);
    const again = await runCli(['bootstrap', '--name', 'mallory', '--setup-token', server.setupToken!], { env: { ...aliceEnv, COFFER_CREDENTIALS_FILE: join(dir, 'mallory.json') } });
    assert.notEqual(again.code, 0, 'the setup token works once');
    assert.match(again.stderr, /COFFER_SETUP_TOKEN_INVALID/);
  });

  void test('alice creates a project and a restricted dev artifact and pushes two versions', async () => {
    await alice('project create', ['project', 'create', 'vision', '--description', 'image models']);
    await alice('project create', ['project', 'create', 'other-team']);
    const created = JSON.parse((await alice('artifact create', ['artifact', 'create', 'vision/resnet', '--tier', 'restricted', '--env', 'dev', '--json'])).stdout) as Record<string, string>;
    assert.deepEqual({ name: created.name, tier: created.tier, environment: created.environment, kind: created.kind }, { name: 'resnet', tier: 'restricted', environment: 'dev', kind: 'model' });
    await alice('artifact create', ['artifact', 'create', 'vision/secret-data', '--kind', 'dataset', '--tier', 'restricted', '--env', 'dev']);

    const v1 = JSON.parse((await alice('push v1', ['push', 'vision/resnet', join(dir, 'model-v1.bin'), '--json', '--no-progress'])).stdout) as { number: number; size: number; sha256: string };
    assert.equal(v1.number, 1);
    assert.equal(v1.size, BIG);
    const v2 = await alice('push v2', ['push', 'vision/resnet', join(dir, 'model-v2.json'), '--no-progress']);
    assert.match(v2.stdout, /pushed vision\/resnet@2 \(\d+ bytes, sha256 [0-9a-f]{64}\)/);
    await alice('push secret', ['push', 'vision/secret-data', join(dir, 'secret.csv'), '--no-progress']);

    const shown = JSON.parse((await alice('artifact show', ['artifact', 'show', 'vision/resnet', '--json'])).stdout) as { versions: { number: number; size: number }[] };
    assert.deepEqual(shown.versions.map((v) => [v.number, v.size]), [[1, BIG], [2, small.length]]);
    const projects = JSON.parse((await alice('project list', ['project', 'list', '--json'])).stdout) as { name: string }[];
    assert.deepEqual(projects.map((p) => p.name).sort(), ['other-team', 'vision']);
  });

  void test('alice creates bob, grants him reader on version 1 only and issues him a token', async () => {
    await alice('user create', ['user', 'create', 'bob']);
    const grant = JSON.parse((await alice('grant', ['grant', 'bob', 'reader', 'vision/resnet@1', '--json'])).stdout) as { role: string; scopeKind: string };
    assert.deepEqual({ role: grant.role, scopeKind: grant.scopeKind }, { role: 'reader', scopeKind: 'version' });
    const grants = JSON.parse((await alice('grants', ['grants', 'vision/resnet@1', '--json'])).stdout) as { role: string }[];
    assert.deepEqual(grants.map((g) => g.role), ['reader']);
    const issued = JSON.parse((await alice('token create', ['token', 'create', '--for', 'bob', '--json'])).stdout) as { token: string };
    assert.match(issued.token, /^coffer_pat_[0-9A-Za-z]{38}$/);
    bobToken = issued.token;
  });

  void test('bob logs in with his own credentials file and sees only what he was granted', async () => {
    const login = await runCli(['--server', server.url, 'login', '--token', bobToken], { env: bobEnv });
    bobRequests++;
    ok(login, 'bob login');
    assert.match(login.stdout, /as `bob`/);
    assert.ok(!login.stdout.includes(bobToken) && !login.stderr.includes(bobToken), 'the token is not echoed');
    const me = JSON.parse(ok(await bob(['whoami', '--json']), 'whoami').stdout) as { name: string; grants: unknown[] };
    assert.equal(me.name, 'bob');
    assert.equal(me.grants.length, 1);
    const shown = JSON.parse(ok(await bob(['artifact', 'show', 'vision/resnet', '--json']), 'bob artifact show').stdout) as { versions: { number: number }[] };
    assert.deepEqual(shown.versions.map((v) => v.number), [1], 'bob sees version 1 only');
  });

  void test('bob pulls version 1 byte for byte', async () => {
    const out = join(dir, 'bob-v1.bin');
    const run = ok(await bob(['pull', 'vision/resnet@1', '-o', out, '--json', '--no-progress']), 'bob pull v1');
    const result = JSON.parse(run.stdout) as { number: number; size: number; file: string };
    assert.deepEqual({ number: result.number, size: result.size, file: result.file }, { number: 1, size: BIG, file: out });
    assert.ok((await readFile(out)).equals(big), 'pulled bytes are identical to the pushed file');
  });

  void test('bob gets "not found" for version 2, latest, another artifact and a missing project, shaped like missing things', async () => {
    const cases: { ref: string; hidden: boolean }[] = [
      { ref: 'vision/resnet@2', hidden: true },
      { ref: 'vision/resnet@3', hidden: false },
      { ref: 'vision/resnet', hidden: true }, // latest is version 2
      { ref: 'vision/secret-data@1', hidden: true },
      { ref: 'vision/ghost@1', hidden: false },
      { ref: 'other-team/anything@1', hidden: false },
      { ref: 'no-such-project/x@1', hidden: false },
    ];
    const shapes = new Map<string, boolean[]>();
    for (const c of cases) {
      const out = join(dir, `denied-${c.ref.replace(/[^a-z0-9]/g, '_')}`);
      const run = await bob(['pull', c.ref, '-o', out, '--no-progress']);
      assert.equal(run.code, 1, `${c.ref}: exit code`);
      assert.match(run.stderr, /^error: COFFER_NOT_FOUND: /m, `${c.ref}: ${run.stderr}`);
      assert.ok(!existsSync(out), `${c.ref}: no output file`);
      const shape = shapeOf(run.stderr);
      shapes.set(shape, [...(shapes.get(shape) ?? []), c.hidden]);
    }
    assert.equal(shapes.size, 1, `hidden and missing versions answer alike: ${[...shapes.keys()].join(' | ')}`);

    // metadata reads: a hidden artifact and project look exactly like missing ones
    const pairs: [string[], string[]][] = [
      [['artifact', 'show', 'vision/secret-data'], ['artifact', 'show', 'vision/ghost']],
      [['project', 'show', 'other-team'], ['project', 'show', 'no-such-project']],
      [['artifact', 'list', 'other-team'], ['artifact', 'list', 'no-such-project']],
    ];
    for (const [hidden, missing] of pairs) {
      const h = await bob(hidden);
      const m = await bob(missing);
      assert.equal(h.code, 1, hidden.join(' '));
      assert.match(h.stderr, /COFFER_NOT_FOUND/, `${hidden.join(' ')}: ${h.stderr}`);
      assert.equal(shapeOf(h.stderr), shapeOf(m.stderr), `${hidden.join(' ')} vs ${missing.join(' ')}`);
      assert.equal(h.stderr.replace(/`[^`]*`/g, ''), m.stderr.replace(/`[^`]*`/g, ''));
    }
    const listed = JSON.parse(ok(await bob(['project', 'list', '--json']), 'bob project list').stdout) as { name: string }[];
    assert.ok(!listed.some((p) => p.name === 'other-team'), 'a project bob cannot see is not listed');
    const leftovers = (await readdir(dir)).filter((f) => f.endsWith('.part'));
    assert.deepEqual(leftovers, [], 'failed pulls leave no temp files');
  });

  void test('bob cannot grant himself more, nor read the audit log', async () => {
    const grant = await bob(['grant', 'bob', 'reader', 'vision/resnet@2']);
    assert.equal(grant.code, 1);
    assert.match(grant.stderr, /COFFER_NOT_FOUND|COFFER_FORBIDDEN/);
    const verify = await bob(['audit', 'verify']);
    assert.equal(verify.code, 1);
    assert.match(verify.stderr, /COFFER_FORBIDDEN/);
  });

  void test('`coffer audit verify` says the chain is intact', async () => {
    const human = await alice('audit verify', ['audit', 'verify']);
    assert.match(human.stdout, /^audit chain intact: \d+ records, last seq \d+$/m);
    const json = JSON.parse((await alice('audit verify --json', ['audit', 'verify', '--json'])).stdout) as { ok: boolean; checked: number; lastSeq: number };
    assert.equal(json.ok, true);
    assert.ok(json.checked > 20 && json.checked === json.lastSeq, JSON.stringify(json));
  });

  void test('`coffer audit export` holds the allowed and denied records of every step', async () => {
    const file = join(dir, 'audit.jsonl');
    await alice('audit export', ['audit', 'export', '-o', file]);
    records = parseAuditExport(await readFile(file, 'utf8'));
    assert.deepEqual(records.map((r) => r.seq), records.map((_, i) => i + 1), 'seqs are 1..n without gaps');
    const one = (what: string, match: Parameters<typeof findRecords>[1]) => {
      const found = findRecords(records, match);
      assert.ok(found.length >= 1, `audit has ${what}: ${JSON.stringify(match)}`);
      return found;
    };
    one('bootstrap', { action: 'bootstrap', decision: 'allow', outcome: 'success', actor: 'alice' });
    one('the failed second bootstrap', { action: 'bootstrap', decision: 'deny', outcome: 'denied', reason: 'COFFER_SETUP_TOKEN_INVALID' });
    one('project creation', { action: 'create-project', resource: 'project/vision', decision: 'allow', outcome: 'success', actor: 'alice' });
    one('artifact creation', { action: 'create-artifact', resource: 'project/vision/artifact/resnet', decision: 'allow', outcome: 'success', actor: 'alice' });
    const uploads = one('uploads', { action: 'upload', resource: 'project/vision/artifact/resnet', outcome: 'success', actor: 'alice' });
    assert.deepEqual(uploads.map((r) => r.body.bytes), [BIG, small.length]);
    one('user creation', { action: 'manage-principals', resource: 'principal/bob', outcome: 'success', actor: 'alice' });
    const grant = one('the grant', { action: 'grant', resource: 'project/vision/artifact/resnet@1', decision: 'allow', outcome: 'success', actor: 'alice' });
    assert.equal(grant[0]!.body.context.grantee, 'bob');
    one("bob's token", { action: 'manage-principals', resource: 'principal/bob/tokens', outcome: 'success', actor: 'alice' });

    const pulled = one("bob's download of v1", { action: 'download', resource: 'project/vision/artifact/resnet@1', decision: 'allow', outcome: 'success', actor: 'bob' });
    assert.equal(pulled[0]!.body.bytes, BIG);
    assert.ok(pulled[0]!.body.policies.length > 0, 'an allow names its determining policies');
    for (const resource of ['project/vision/artifact/resnet@2', 'project/vision/artifact/resnet@latest', 'project/vision/artifact/secret-data@1', 'project/no-such-project/artifact/x@1', 'project/vision/artifact/ghost@1']) {
      one(`bob's denied download of ${resource}`, { action: 'download', resource, decision: 'deny', outcome: 'denied', reason: 'COFFER_NOT_FOUND', actor: 'bob' });
    }
    one("bob's denied self-grant", { action: 'grant', decision: 'deny', outcome: 'denied', actor: 'bob' });
    one("bob's denied audit read", { action: 'read-audit', decision: 'deny', outcome: 'denied', actor: 'bob', reason: 'COFFER_FORBIDDEN' });
    one("bob's denied look at a hidden project", { action: 'read-metadata', resource: 'project/other-team', decision: 'deny', actor: 'bob' });

    const secrets = [bobToken, server.setupToken!];
    for (const r of records) {
      const text = JSON.stringify(r);
      for (const s of secrets) assert.ok(!text.includes(s), `record ${r.seq} holds a secret`);
    }
  });

  void test('every request bob made left at least one audit record (login included)', () => {
    const bobRequestIds = new Set(records.filter((r) => r.body.actor?.name === 'bob').map((r) => r.body.requestId));
    assert.equal(bobRequestIds.size, bobRequests, `bob made ${bobRequests} requests; the audit log names ${bobRequestIds.size}`);
  });
});
