import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { cleanEnv, cliArgs, repoRoot, runCli } from '../support/index.js';

// `coffer iac check` and `coffer iac rules` as CI runs them: offline, exit codes 0/1/2.

const fixture = (p: string) => join(repoRoot(), 'test', 'fixtures', 'iac', p);

/** Runs the CLI with `input` on stdin (runCli takes strings; a plan is one). */
function withStdin(args: string[], input: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...cliArgs(), ...args], { cwd: repoRoot(), env: cleanEnv() });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    child.stdin.on('error', () => undefined);
    child.stdin.end(input);
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

void describe('coffer iac', { timeout: 120_000 }, () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'coffer-iac-cli-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('exit 0 for a clean plan, 1 for violations at or above --fail-on', async () => {
    const clean = await runCli(['iac', 'check', fixture('aws/s3-bucket-encryption-deleted.json'), '--fail-on', 'high']);
    assert.equal(clean.code, 0, 'the only violation is medium');
    assert.match(clean.stdout, /1 violation/);
    const failing = await runCli(['iac', 'check', fixture('aws/s3-bucket-encryption-deleted.json')]);
    assert.equal(failing.code, 1);
    assert.match(failing.stdout, /medium {4}violation {2}aws-s3-bucket-encryption-missing {2}aws_s3_bucket\.datasets/);
    const ok = await runCli(['iac', 'check', fixture('aws/sg-restricted.json')]);
    assert.equal(ok.code, 0);
  });

  test('unknowns fail by default and only warn with --unknown warn', async () => {
    const plan = fixture('format/unknown-values.json');
    assert.equal((await runCli(['iac', 'check', plan, '--fail-on', 'critical'])).code, 0, 'the unknown is high');
    writeFileSync(
      join(dir, 'ssh.yaml'),
      'rules:\n  - id: acme-ssh\n    severity: high\n    title: t\n    message: ssh open\n    category: network\n    provider: aws\n    resource_types: [aws_security_group]\n    violation: networkRules(resource).exists(r, r.direction == "ingress" && r.peers.exists(p, worldCidr(p)) && reaches(r, 22))\n    remediation: r\n',
    );
    const strict = await runCli(['iac', 'check', plan, '--no-builtin', '--rules', join(dir, 'ssh.yaml'), '--format', 'json']);
    const report = JSON.parse(strict.stdout) as { counts: Record<string, number>; exitCode: number };
    assert.deepEqual([report.counts.violation, report.counts.unknown], [1, 1]);
    assert.equal(strict.code, 1);
    // drop the violating resource: only the unknown is left
    const doc = JSON.parse(readFileSync(plan, 'utf8')) as { resource_changes: { address: string }[]; planned_values: { root_module: { resources: { address: string }[] } } };
    doc.resource_changes = doc.resource_changes.filter((r) => r.address !== 'aws_security_group.mixed');
    doc.planned_values.root_module.resources = doc.planned_values.root_module.resources.filter((r) => r.address !== 'aws_security_group.mixed');
    writeFileSync(join(dir, 'unknown-only.json'), JSON.stringify(doc));
    const args = ['iac', 'check', join(dir, 'unknown-only.json'), '--no-builtin', '--rules', join(dir, 'ssh.yaml')];
    assert.equal((await runCli(args)).code, 1);
    const warned = await runCli([...args, '--unknown', 'warn']);
    assert.equal(warned.code, 0);
    assert.match(warned.stdout, /high {6}unknown {2}acme-ssh {2}aws_security_group\.from_vpc/);
  });

  test('JSON and SARIF reports, to stdout or a file, from a file or stdin', async () => {
    const plan = fixture('google/bucket-public.json');
    const json = await runCli(['iac', 'check', plan, '--format', 'json']);
    assert.equal(json.code, 1);
    const report = JSON.parse(json.stdout) as { version: number; findings: { ruleId: string; verdict: string }[]; failOn: string; exitCode: number };
    assert.equal(report.version, 1);
    assert.equal(report.exitCode, 1);
    assert.ok(report.findings.some((f) => f.ruleId === 'google-storage-bucket-public' && f.verdict === 'violation'));
    const out = join(dir, 'report.sarif');
    const sarif = await runCli(['iac', 'check', plan, '--format', 'sarif', '-o', out]);
    assert.equal(sarif.code, 1);
    assert.equal(sarif.stdout, '');
    const log = JSON.parse(readFileSync(out, 'utf8')) as { version: string; runs: { results: { locations: { physicalLocation: { artifactLocation: { uri: string } } }[] }[] }[] };
    assert.equal(log.version, '2.1.0');
    assert.equal(log.runs[0]!.results[0]!.locations[0]!.physicalLocation.artifactLocation.uri, 'test/fixtures/iac/google/bucket-public.json');
    const piped = await withStdin(['iac', 'check', '-', '--format', 'sarif'], readFileSync(plan, 'utf8'));
    assert.equal(piped.code, 1, piped.stderr);
    assert.equal((JSON.parse(piped.stdout) as { runs: { results: unknown[] }[] }).runs[0]!.results.length, 4);
  });

  test('bad input exits 2 with a clear error, never a stack trace', async () => {
    const cases: [string[], RegExp, string?][] = [
      [['iac', 'check', join(dir, 'missing.json')], /error: .*missing\.json/],
      [['iac', 'check', '-'], /COFFER_IAC_PLAN_INVALID: plan is not valid JSON/, '{"format_version": "1.2", "resource_changes": ['],
      [['iac', 'check', '-'], /COFFER_IAC_PLAN_INVALID: plan is nested too deeply/, '['.repeat(100_000)],
      [['iac', 'check', '-'], /`\/resource_changes\/0\/change\/actions\/0` must be equal to one of the allowed values/, '{"format_version":"1.2","resource_changes":[{"address":"a.b","mode":"managed","type":"a","name":"b","change":{"actions":["nuke"]}}]}'],
      [['iac', 'check', '-', '--max-plan-mb', '1'], /larger than the limit/, ' '.repeat(1024 * 1024 + 10)],
      [['iac', 'check', fixture('aws/iam-admin.json'), '--fail-on', 'urgent'], /argument 'urgent' is invalid/],
      [['iac', 'check', fixture('aws/iam-admin.json'), '--format', 'xml'], /argument 'xml' is invalid/],
      [['iac', 'check', fixture('aws/iam-admin.json'), '--no-builtin'], /no rules to check/],
      [['iac', 'check'], /missing required argument 'plan'/],
    ];
    for (const [args, message, stdin] of cases) {
      const run = stdin === undefined ? await runCli(args) : await withStdin(args, stdin);
      assert.equal(run.code, 2, `${args.join(' ')}: exit ${run.code}\n${run.stderr}`);
      assert.match(run.stderr, message, args.join(' '));
      assert.doesNotMatch(run.stderr, /\n\s+at /, 'no stack trace');
    }
  });

  test('a rule file that does not compile stops the check (exit 2); `iac rules --test` runs rule fixtures', async () => {
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'rules:\n  - id: acme-bad\n    severity: low\n    title: t\n    message: m\n    category: network\n    provider: aws\n    resource_types: [aws_s3_bucket]\n    violation: resource.values.acl ==\n    remediation: r\n');
    const run = await runCli(['iac', 'check', fixture('aws/iam-admin.json'), '--rules', bad]);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /COFFER_IAC_RULE_INVALID: rule `acme-bad` in `.*bad\.yaml`: `violation` does not compile/);
    const list = await runCli(['iac', 'rules', '--json']);
    assert.equal((JSON.parse(list.stdout) as unknown[]).length, 56);
    const tested = await runCli(['iac', 'rules', '--test']);
    assert.equal(tested.code, 0, tested.stdout);
    assert.equal(tested.stdout.split('\n').filter((l) => l.startsWith('ok ')).length, 56);
  });
});
