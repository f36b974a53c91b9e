import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { builtinRules } from './builtin-rules.js';
import { checkPlan, outcome } from './check-plan.js';
import type { CheckReport } from './check-plan.js';
import { compileRules } from './load-rules.js';
import { parsePlan } from './parse-plan.js';

const FIXTURES = fileURLToPath(new URL('../../../../test/fixtures/iac/', import.meta.url));
const check = (file: string, rules = builtinRules()) => checkPlan(parsePlan(readFileSync(FIXTURES + file, 'utf8')), rules);
const verdict = (report: CheckReport, ruleId: string, address: string) =>
  report.findings.find((f) => f.ruleId === ruleId && f.address === address)?.verdict ?? 'pass';

test('a value known only after apply gives an unknown verdict, not a pass; another rule that is open still violates', () => {
  const report = check('format/unknown-values.json');
  const u = report.findings.find((f) => f.ruleId === 'aws-sg-ingress-ssh-open' && f.address === 'aws_security_group.from_vpc');
  assert.equal(u?.verdict, 'unknown');
  assert.match(u?.detail ?? '', /`ingress\[0\]\.cidr_blocks` is known only after apply/);
  // port 3389 is not in the unknown rule's range: decided without the unknown CIDR
  assert.equal(verdict(report, 'aws-sg-ingress-rdp-open', 'aws_security_group.from_vpc'), 'pass');
  // one rule of `mixed` has an unknown CIDR, the other is open to the world on 22: a violation whatever the unknown is
  assert.equal(verdict(report, 'aws-sg-ingress-ssh-open', 'aws_security_group.mixed'), 'violation');
});

test('unknowns fail by default at or above --fail-on, and only warn with `warn`', () => {
  const report = check('format/unknown-values.json');
  const onlyUnknown: CheckReport = { ...report, findings: report.findings.filter((f) => f.verdict === 'unknown'), counts: { ...report.counts, violation: 0 } };
  assert.equal(outcome(onlyUnknown, 'low', 'fail'), 1);
  assert.equal(outcome(onlyUnknown, 'low', 'warn'), 0);
  assert.equal(outcome(onlyUnknown, 'critical', 'fail'), 0, 'the unknown is high, below critical');
  assert.equal(outcome(report, 'high', 'warn'), 1, 'the violation is high');
  assert.equal(outcome(report, 'critical', 'warn'), 0);
  assert.equal(outcome({ ...report, counts: { ...report.counts, error: 1 } }, 'critical', 'warn'), 2, 'an evaluation error makes the check incomplete');
});

test('references resolve inside their own module instance; nested child modules are checked', () => {
  const report = check('format/modules.json');
  assert.equal(verdict(report, 'aws-s3-bucket-encryption-missing', 'module.bucket["raw"].aws_s3_bucket.this'), 'pass');
  assert.equal(verdict(report, 'aws-s3-bucket-encryption-missing', 'module.bucket["curated"].aws_s3_bucket.this'), 'violation');
  assert.equal(verdict(report, 'aws-s3-bucket-encryption-missing', 'module.lake.module.scratch.aws_s3_bucket.this'), 'violation');
});

test('a resource being destroyed is not a violation; a bucket losing its encryption resource is', () => {
  const report = check('aws/s3-bucket-encryption-deleted.json');
  assert.ok(!report.findings.some((f) => f.address.startsWith('aws_s3_bucket_server_side_encryption_configuration')));
  assert.equal(verdict(report, 'aws-s3-bucket-encryption-missing', 'aws_s3_bucket.datasets'), 'violation');
  // the same plan with the deletion dropped: the configuration resource still exists, the bucket passes
  const doc = JSON.parse(readFileSync(FIXTURES + 'aws/s3-bucket-encryption-deleted.json', 'utf8')) as { resource_changes: { change: { actions: string[]; after: unknown; before: unknown } }[] };
  const sse = doc.resource_changes[2]!;
  sse.change.actions = ['no-op'];
  sse.change.after = sse.change.before;
  const kept = checkPlan(parsePlan(JSON.stringify(doc)), builtinRules());
  assert.equal(verdict(kept, 'aws-s3-bucket-encryption-missing', 'aws_s3_bucket.datasets'), 'pass');
});

test('a replaced resource is judged on its new state; a data source read during planning comes from prior_state', () => {
  assert.equal(verdict(check('aws/sg-all-open.json'), 'aws-sg-ingress-all-open', 'aws_security_group_rule.debug_any'), 'violation');
  const report = check('aws/iam-wildcard-resource.json');
  assert.equal(verdict(report, 'aws-iam-policy-wildcard-resource', 'data.aws_iam_policy_document.writer'), 'violation');
});

test('a policy read at apply time is judged through the policy document it refers to', () => {
  const report = check('aws/s3-bucket-secure.json');
  assert.equal(verdict(report, 'aws-s3-bucket-public-policy', 'aws_s3_bucket_policy.models'), 'pass');
  // make the document's principal public: the bucket policy (still unknown) now violates
  const doc = JSON.parse(readFileSync(FIXTURES + 'aws/s3-bucket-secure.json', 'utf8')) as { resource_changes: { address: string; change: { after: { statement: { principals: { identifiers: string[]; type: string }[] }[] } } }[] };
  const d = doc.resource_changes.find((r) => r.address === 'data.aws_iam_policy_document.models')!;
  d.change.after.statement[0]!.principals = [{ identifiers: ['*'], type: '*' }];
  assert.equal(verdict(checkPlan(parsePlan(JSON.stringify(doc)), builtinRules()), 'aws-s3-bucket-public-policy', 'aws_s3_bucket_policy.models'), 'violation');
});

test('findings never carry the secret values they point at', () => {
  const text = JSON.stringify(check('aws/secrets-in-attributes.json'));
  for (const secret of ['AKIAIOSFODNN7EXAMPLE', 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY', 'ghp_R7Yq2mT9wK4zX8pL1nV6bC3dF5gH0jS2aQeU', 'Sup3r-Secret-Training-Db']) {
    assert.ok(!text.includes(secret), `report leaks ${secret.slice(0, 4)}…`);
  }
  assert.match(text, /environment\[0\]\.variables\.AWS_SECRET_ACCESS_KEY/);
});

test('a rule that fails at evaluation is an error verdict (exit 2), not a pass', () => {
  const [rule] = compileRules(
    { rules: [{ id: 'user-bad-math', severity: 'low', title: 't', message: 'm', category: 'hardening', provider: 'aws', resource_types: ['aws_s3_bucket'], violation: 'int(resource.values.bucket) > 1', remediation: 'r' }] },
    'test',
    '',
  );
  const report = check('aws/s3-public-access-block-off.json', [rule!]);
  assert.equal(report.counts.error, 1);
  assert.equal(report.findings[0]!.verdict, 'error');
  assert.equal(outcome(report, 'critical', 'warn'), 2);
});
