/**
 * Attack (robustness): a new user clones the repository and runs the README's test
 * command. The clone has no `../shared`, so no test may fail because of it: tests that
 * read it skip with one line (CI has it, so they still run there).
 */
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { cleanEnv, repoRoot, RUNNING_COMPILED } from '../support/index.js';

function sources(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (name === 'node_modules' || name === 'dist') continue;
    if (statSync(p).isDirectory()) sources(p, out);
    else if (name.endsWith('.ts')) out.push(p);
  }
  return out;
}

void it('the Cedar integration test skips with one line when ../shared is absent', () => {
  const empty = mkdtempSync(join(tmpdir(), 'coffer-no-shared-'));
  try {
    const root = repoRoot();
    const file = RUNNING_COMPILED ? join(root, 'dist', 'src', 'policy', 'compiled', 'integration.test.js') : join(root, 'src', 'policy', 'compiled', 'integration.test.ts');
    const args = RUNNING_COMPILED ? ['--test', file] : ['--import', 'tsx', '--test', file];
    const run = spawnSync(process.execPath, args, { cwd: root, env: cleanEnv({ COFFER_SHARED_DIR: join(empty, 'shared') }), encoding: 'utf8', timeout: 120_000 });
    assert.equal(run.status, 0, run.stdout + run.stderr);
    assert.match(run.stdout, /# SKIP \.\.\/shared\/cedar-integration-tests is absent/);
    assert.match(run.stdout, /# fail 0/);
  } finally {
    rmSync(empty, { recursive: true, force: true });
  }
});

void it('no test reaches ../shared except through test/support/shared-dir.ts', () => {
  const root = repoRoot();
  const offenders = sources(join(root, 'src'))
    .concat(sources(join(root, 'test')), sources(join(root, 'bench')))
    .filter((f) => !f.endsWith(join('support', 'shared-dir.ts')) && f !== join(root, 'test', 'security', 'fresh-clone-without-shared.test.ts'))
    .filter((f) => /['"`]\.\.['"`],\s*['"`]shared['"`]|\.\.\/shared\/|\/work\/shared/.test(readFileSync(f, 'utf8').replace(/^\s*(\/\/|\*).*$/gm, '')))
    .map((f) => relative(root, f));
  assert.deepEqual(offenders, []);
});
