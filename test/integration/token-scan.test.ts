import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { generateToken } from '../../src/identity/token-format.js';
import { RUNNING_COMPILED, cliArgs, repoRoot, runCli } from '../support/index.js';

// `coffer token scan` on real git repositories built in a temp directory: the whole
// history (every ref, the reflog), the working tree, the staged changes and the
// pre-commit hook, as a user runs them.

const GIT_ENV = {
  ...process.env,
  GIT_AUTHOR_NAME: 'Kim',
  GIT_AUTHOR_EMAIL: 'kim@example.com',
  GIT_COMMITTER_NAME: 'Kim',
  GIT_COMMITTER_EMAIL: 'kim@example.com',
  GIT_CONFIG_GLOBAL: '/dev/null',
  GIT_CONFIG_NOSYSTEM: '1',
};
const git = (repo: string, ...args: string[]) => execFileSync('git', ['-C', repo, ...args], { env: GIT_ENV, encoding: 'utf8' }).trim();

const AWS_ID = 'AKIAIOSFODNN7EXAMPLE';
const AWS_SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
const AZURE = `DefaultEndpointsProtocol=https;AccountName=acmeml;AccountKey=${'Q'.repeat(40)}r/s+t${'7'.repeat(41)}==;EndpointSuffix=core.windows.net`;
const GITHUB = 'ghp_R7Yq2mT9wK4zX8pL1nV6bC3dF5gH0jS2aQeU';
const GCP_LINE = '  "private_key": "-----BEGIN PRIVATE KEY-----\\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQ\\n-----END PRIVATE KEY-----\\n",';
const PEM = '-----BEGIN EC PRIVATE KEY-----';

interface Row {
  kind: string;
  redacted: string;
  source: string;
  commit: string | null;
  path: string;
  line: number;
}

void describe('coffer token scan on git repositories', { timeout: 180_000 }, () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'coffer-token-scan-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const newRepo = (name: string) => {
    const repo = join(dir, name);
    mkdirSync(repo);
    git(repo, 'init', '-q', '-b', 'main');
    return repo;
  };
  const commit = (repo: string, files: Record<string, string | Buffer | null>, message: string) => {
    for (const [p, content] of Object.entries(files)) {
      const full = join(repo, p);
      if (content === null) rmSync(full);
      else {
        mkdirSync(join(full, '..'), { recursive: true });
        writeFileSync(full, content);
      }
    }
    git(repo, 'add', '-A');
    git(repo, 'commit', '-q', '-m', message);
    return git(repo, 'rev-parse', 'HEAD');
  };
  const scan = async (args: string[]) => {
    const run = await runCli(['token', 'scan', ...args, '--json']);
    return { run, rows: run.stdout.trim().startsWith('[') ? (JSON.parse(run.stdout) as Row[]) : [] };
  };
  const secretsOf = () => [AWS_ID, AWS_SECRET, AZURE.split('AccountKey=')[1]!.slice(0, 60), GITHUB, 'MIIEvQIBADANBgkq'];

  test('secrets removed from the tree, on other branches, behind tags and only in the reflog are found, with commit, path and line', async () => {
    const repo = newRepo('history');
    const c1 = commit(repo, { 'README.md': 'model registry\n', 'deploy/creds.env': `# ci\nAWS_ACCESS_KEY_ID=${AWS_ID}\nAWS_SECRET_ACCESS_KEY=${AWS_SECRET}\n`, 'keys/sa.json': `{\n  "type": "service_account",\n${GCP_LINE}\n}\n` }, 'add deploy credentials');
    commit(repo, { 'deploy/creds.env': null, 'keys/sa.json': null }, 'remove credentials');
    // a branch that still carries a connection string
    git(repo, 'checkout', '-q', '-b', 'feature');
    const c3 = commit(repo, { 'notes/storage with space ü.md': `# notes\n\n\n\n${AZURE}\n` }, 'notes');
    git(repo, 'checkout', '-q', 'main');
    // a commit only a tag reaches (no branch)
    const blob = execFileSync('git', ['-C', repo, 'hash-object', '-w', '--stdin'], { env: GIT_ENV, input: `token: ${GITHUB}\n`, encoding: 'utf8' }).trim();
    const tagTree = execFileSync('git', ['-C', repo, 'mktree'], { env: GIT_ENV, input: `100644 blob ${blob}\tgh.txt\n`, encoding: 'utf8' }).trim();
    const tagged = execFileSync('git', ['-C', repo, 'commit-tree', tagTree, '-m', 'orphan'], { env: GIT_ENV, encoding: 'utf8' }).trim();
    git(repo, 'tag', 'leaky', tagged);
    // a commit amended away: only the reflog still reaches it
    const amended = commit(repo, { 'id_ec': `${PEM}\nMHcCAQEEIB\n-----END EC PRIVATE KEY-----\n` }, 'add key');
    rmSync(join(repo, 'id_ec'));
    git(repo, 'add', '-A');
    git(repo, 'commit', '-q', '--amend', '--allow-empty', '-m', 'no key after all');
    // a binary blob and a large blob with a key inside are skipped, not read as text
    commit(repo, { 'model.bin': Buffer.concat([Buffer.from([0, 1, 2, 0]), Buffer.from(`\n${AWS_ID}\n`)]), 'big.txt': 'x'.repeat(2 * 1024 * 1024) + `\n${AWS_ID}\n` }, 'artifacts');

    const { run, rows } = await scan([repo, '--no-files', '--max-blob-mb', '1']);
    assert.equal(run.code, 3, `exit 3 when something is found\n${run.stderr}`);
    const where = rows.map((r) => `${r.kind} ${r.commit?.slice(0, 12) ?? '-'} ${r.path}:${r.line}`).sort();
    assert.deepEqual(
      where,
      [
        `aws-access-key-id ${c1.slice(0, 12)} deploy/creds.env:2`,
        `aws-secret-access-key ${c1.slice(0, 12)} deploy/creds.env:3`,
        `azure-storage-key ${c3.slice(0, 12)} notes/storage with space ü.md:5`,
        `gcp-service-account-key ${c1.slice(0, 12)} keys/sa.json:3`,
        `github-token ${tagged.slice(0, 12)} gh.txt:1`,
        `private-key ${amended.slice(0, 12)} id_ec:1`,
      ].sort(),
    );
    assert.ok(rows.every((r) => r.source === 'history'));
    for (const s of secretsOf()) assert.ok(!run.stdout.includes(s) && !run.stderr.includes(s), `the scan prints ${s.slice(0, 6)}…`);

    // the human form names the skipped blobs
    const human = await runCli(['token', 'scan', repo, '--no-files', '--max-blob-mb', '1']);
    assert.match(human.stdout, /6 findings \(0 files, \d+ blobs, 1 too large and 1 binary skipped\)/);
    for (const s of secretsOf()) assert.ok(!human.stdout.includes(s));
  });

  test('a clean repository exits 0; the working tree is scanned too unless --no-files', async () => {
    const repo = newRepo('clean');
    commit(repo, { 'train.py': 'import torch\nprint("hello")\n' }, 'code');
    const clean = await runCli(['token', 'scan', repo]);
    assert.equal(clean.code, 0, clean.stderr);
    assert.match(clean.stdout, /^no leaked credentials found \(1 files, 1 blobs\)/);
    const token = generateToken('pat');
    writeFileSync(join(repo, '.env'), `\nCOFFER_TOKEN=${token}\n`);
    const { run, rows } = await scan([repo]);
    assert.equal(run.code, 3);
    assert.deepEqual(rows.map((r) => `${r.kind} ${r.source} ${r.path}:${r.line} ${r.redacted}`), [`coffer-token worktree .env:2 ${token.slice(0, 15)}…`]);
    assert.ok(!run.stdout.includes(token));
    assert.equal((await runCli(['token', 'scan', repo, '--no-files'])).code, 0, 'not committed: not in history');
  });

  test('--staged reports what the next commit adds, with its line in the staged file', async () => {
    const repo = newRepo('staged');
    commit(repo, { 'app.cfg': 'a = 1\nb = 2\n' }, 'config');
    writeFileSync(join(repo, 'app.cfg'), `a = 1\nb = 2\naws_secret_access_key = ${AWS_SECRET}\n`);
    git(repo, 'add', 'app.cfg');
    writeFileSync(join(repo, 'unstaged.txt'), `${GITHUB}\n`);
    const { run, rows } = await scan([repo, '--staged']);
    assert.equal(run.code, 3);
    assert.deepEqual(rows.map((r) => `${r.kind} ${r.source} ${r.path}:${r.line}`), ['aws-secret-access-key staged app.cfg:3']);
    git(repo, 'reset', '-q');
    assert.equal((await runCli(['token', 'scan', repo, '--staged'])).code, 0);
  });

  test('the pre-commit hook script refuses a commit that adds a credential', { skip: !RUNNING_COMPILED && 'needs the compiled CLI' }, () => {
    const repo = newRepo('hooked');
    commit(repo, { 'a.txt': 'one\n' }, 'first');
    const hook = join(repo, '.git', 'hooks', 'pre-commit');
    copyFileSync(join(repoRoot(), 'scripts', 'pre-commit-secrets.sh'), hook);
    chmodSync(hook, 0o755);
    const env = { ...GIT_ENV, COFFER: [process.execPath, ...cliArgs()].join(' ') };
    writeFileSync(join(repo, 'deploy.sh'), `export AWS_ACCESS_KEY_ID=${AWS_ID}\n`);
    git(repo, 'add', 'deploy.sh');
    const refused = spawnSync('git', ['-C', repo, 'commit', '-q', '-m', 'deploy'], { env, encoding: 'utf8' });
    assert.notEqual(refused.status, 0, 'the commit must be refused');
    assert.match(refused.stderr, /pre-commit: the staged changes add credentials/);
    assert.match(refused.stdout + refused.stderr, /aws-access-key-id .*deploy\.sh:1/);
    assert.ok(!(refused.stdout + refused.stderr).includes(AWS_ID));
    assert.equal(git(repo, 'rev-list', '--count', 'HEAD'), '1', 'nothing was committed');
    writeFileSync(join(repo, 'deploy.sh'), 'export AWS_PROFILE=training\n');
    git(repo, 'add', 'deploy.sh');
    const accepted = spawnSync('git', ['-C', repo, 'commit', '-q', '-m', 'deploy'], { env, encoding: 'utf8' });
    assert.equal(accepted.status, 0, accepted.stderr);
  });

  test('scanning a hostile repository does not run the commands its git config names', async () => {
    const repo = newRepo('hostile');
    commit(repo, { 'a.txt': 'clean\n' }, 'first');
    const marker = join(dir, 'pwned');
    const script = join(dir, 'evil.sh');
    writeFileSync(script, `#!/bin/sh\ntouch ${marker}\nexit 0\n`);
    chmodSync(script, 0o755);
    writeFileSync(join(repo, '.gitattributes'), '*.txt diff=txt\n');
    writeFileSync(join(repo, 'a.txt'), `clean\n${AWS_ID}\n`);
    git(repo, 'add', '-A');
    // configured after staging: git's own `add` would run the fsmonitor hook
    git(repo, 'config', 'core.fsmonitor', script);
    git(repo, 'config', 'diff.external', script);
    git(repo, 'config', 'core.pager', script);
    git(repo, 'config', 'diff.txt.textconv', script);
    assert.ok(!existsSync(marker));
    for (const args of [[repo], [repo, '--staged']]) {
      const run = await runCli(['token', 'scan', ...args]);
      assert.equal(run.code, 3, run.stderr);
    }
    assert.ok(!existsSync(marker), 'a command from the repository config ran');
  });
});
