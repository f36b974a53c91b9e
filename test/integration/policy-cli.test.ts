/**
 * `coffer policy ...` and `coffer authz explain` through the real CLI program (in
 * process) against a server listening on 127.0.0.1: what people type and read.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { FEATURE_COMMANDS } from '../../src/cli/commands.js';
import { runCli } from '../../src/cli/program.js';
import { bootstrapAdmin, repoRoot, startInProcess, type InProcessServer } from '../support/index.js';

void describe('coffer policy (CLI)', { timeout: 60_000 }, () => {
  let server: InProcessServer;
  let work: string;
  let token: string;

  const coffer = async (...args: string[]) => {
    let out = '';
    let err = '';
    const env = { COFFER_URL: server.url, COFFER_TOKEN: token, COFFER_CREDENTIALS_FILE: join(work, 'creds.json') };
    const code = await runCli(args, { out: (s) => (out += s), err: (s) => (err += s), env, isTTY: false }, async () => undefined, FEATURE_COMMANDS);
    return { code, out, err };
  };

  before(async () => {
    work = mkdtempSync(join(tmpdir(), 'coffer-policy-cli-'));
    server = await startInProcess(join(work, 'data'));
    ({ token } = await bootstrapAdmin(server.url, server.setupToken, 'admin'));
    mkdirSync(join(work, 'policies'));
    copyFileSync(join(repoRoot(), 'src', 'policy', 'examples', 'working-hours.cedar'), join(work, 'policies', 'working-hours.cedar'));
    copyFileSync(join(repoRoot(), 'src', 'policy', 'examples', 'working-hours.tests.json'), join(work, 'policies', 'working-hours.tests.json'));
    writeFileSync(join(work, 'typo.cedar'), '@id("t")\nforbid (principal, action, resource)\nwhen { resource has tier && resource.teir == "restricted" };\n');
    assert.equal((await coffer('project', 'create', 'ml')).code, 0);
    assert.equal((await coffer('artifact', 'create', 'ml/resnet', '--tier', 'restricted')).code, 0);
  });
  after(async () => {
    await server.close();
    rmSync(work, { recursive: true, force: true });
  });

  it('validates, with file:line:column on errors and exit code 1', async () => {
    const bad = await coffer('policy', 'validate', join(work, 'typo.cedar'));
    assert.equal(bad.code, 1);
    assert.match(bad.err, new RegExp(`COFFER_POLICY_INVALID: .*${join(work, 'typo.cedar').replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:3:29: .*\`teir\``));
    const ok = await coffer('policy', 'validate', join(work, 'policies'));
    assert.equal(ok.code, 0, ok.err);
    assert.match(ok.out, /^valid: 1 policy\n {2}working-hours\/prod-and-restricted {2}.*working-hours\.cedar:5:1\n$/);
  });

  it("formats with Cedar's formatter: prints, --check (exit code 1), --write; refuses what does not parse", async () => {
    const messy = join(work, 'messy.cedar');
    writeFileSync(messy, '// keep me\n@id("m")   permit(principal,action==Coffer::Action::"download",resource)when{resource has tier&&resource.tier=="public"};');
    const want = '// keep me\n@id("m")\npermit (\n  principal,\n  action == Coffer::Action::"download",\n  resource\n)\nwhen { resource has tier && resource.tier == "public" };\n';
    const printed = await coffer('policy', 'fmt', messy);
    assert.deepEqual([printed.code, printed.out], [0, want], printed.err);
    const tidy = join(work, 'tidy.cedar');
    writeFileSync(tidy, want.replace('"m"', '"t"'));
    const check = await coffer('policy', 'fmt', '--check', messy, tidy);
    assert.equal(check.code, 1);
    assert.equal(check.out, `${messy}\n`);
    assert.match(check.err, /1 file is not formatted/);
    const write = await coffer('policy', 'fmt', '--write', messy);
    assert.equal(write.code, 0, write.err);
    assert.equal(readFileSync(messy, 'utf8'), want);
    assert.deepEqual(await coffer('policy', 'fmt', '--check', messy), { code: 0, out: '', err: '' });
    // nothing is written when a file does not parse, and the error says where
    writeFileSync(join(work, 'broken.cedar'), '@id("b")\npermit (principal,\n');
    const broken = await coffer('policy', 'fmt', '--write', messy, join(work, 'broken.cedar'));
    assert.equal(broken.code, 1);
    assert.match(broken.err, /COFFER_POLICY_INVALID: .*broken\.cedar:2:19/);
    assert.equal(readFileSync(join(work, 'broken.cedar'), 'utf8'), '@id("b")\npermit (principal,\n');
  });

  it('runs test files: the policies they name, pass or fail (exit code)', async () => {
    const pass = await coffer('policy', 'test', join(work, 'policies', 'working-hours.tests.json'));
    assert.equal(pass.code, 0, pass.err);
    assert.match(pass.out, /7 passed, 0 failed \(against the draft\)/);
    const typo = await coffer('policy', 'test', join(work, 'policies', 'working-hours.tests.json'), join(work, 'typo.cedar'));
    assert.equal(typo.code, 1);
    assert.match(typo.err, /COFFER_POLICY_INVALID/);
  });

  it('applies, lists, explains, diffs and rolls back', async () => {
    const applied = await coffer('policy', 'apply', join(work, 'policies'), '-m', 'working hours');
    assert.equal(applied.code, 0, applied.err);
    assert.equal(applied.out, 'applied: version 1 is active (1 custom policy, activation 1)\n');
    const list = await coffer('policy', 'list');
    assert.match(list.out, /^active: version 1\n/);
    assert.match(list.out, /\*\s+1\s+1\s+admin\s+\S+\s+working hours/);
    const explain = await coffer('authz', 'explain', 'admin', 'upload', 'ml/resnet', '--at', '2025-03-08T12:00:00Z');
    assert.equal(explain.code, 0, explain.err);
    assert.match(explain.out, /^decision: DENY \(forbidden; policy set version 1\)\n {2}denied by forbid `working-hours\/prod-and-restricted`/);
    assert.match(explain.out, /owner\s+project\/ml\/artifact\/resnet\s+-\s+overridden/);
    const weekday = await coffer('authz', 'explain', 'admin', 'upload', 'ml/resnet', '--local-hour', '10', '--weekday', 'tue');
    assert.match(weekday.out, /^decision: ALLOW \(permitted/);
    const diff = await coffer('policy', 'diff', '--from', '0', '--to', '1');
    assert.match(diff.out, /\+ added working-hours\/prod-and-restricted/);
    const impact = await coffer('policy', 'impact', join(work, 'typo.cedar'), '--days', '1');
    assert.equal(impact.code, 1);
    const back = await coffer('policy', 'rollback');
    assert.equal(back.out, 'rolled back: version 0 is active (0 custom policies, activation 2)\n');
    const show = await coffer('policy', 'show', '1', '--source');
    assert.match(show.out, /^version 1, by admin at .*: working hours\n {2}working-hours\/prod-and-restricted {2}.*\n\n--- .*working-hours\.cedar\n\/\/ Working hours/);
  });
});
