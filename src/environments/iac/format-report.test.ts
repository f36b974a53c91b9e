import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import AjvDraft04 from 'ajv-draft-04';
import addFormats from 'ajv-formats';
import { builtinRules } from './builtin-rules.js';
import { checkPlan } from './check-plan.js';
import { compileRules } from './load-rules.js';
import { formatSarif, formatTable, locateResources } from './format-report.js';
import { parsePlan } from './parse-plan.js';

const FIXTURES = fileURLToPath(new URL('../../../../test/fixtures/', import.meta.url));

/** The official OASIS schema (errata 01), committed as test/fixtures/sarif-schema-2.1.0.json. */
function sarifValidator() {
  const schema = JSON.parse(readFileSync(FIXTURES + 'sarif-schema-2.1.0.json', 'utf8')) as Record<string, unknown>;
  const ajv = new AjvDraft04.default({ allErrors: true, strict: false });
  addFormats.default(ajv);
  return ajv.compile(schema);
}

test('SARIF output of violations, unknowns and errors is valid SARIF 2.1.0', () => {
  const validate = sarifValidator();
  const bad = compileRules(
    { rules: [{ id: 'user-broken', severity: 'low', title: 't', message: 'm', category: 'hardening', provider: 'aws', resource_types: ['aws_security_group'], violation: 'int(resource.values.name) > 0', remediation: 'r' }] },
    'test',
    '',
  );
  const rules = [...builtinRules(), ...bad];
  const planText = readFileSync(FIXTURES + 'iac/format/unknown-values.json', 'utf8');
  const report = checkPlan(parsePlan(planText), rules);
  assert.ok(report.counts.violation > 0 && report.counts.unknown > 0 && report.counts.error > 0);
  const log = formatSarif(report, rules, { planUri: 'test/fixtures/iac/format/unknown-values.json', planText });
  const ok = validate(log);
  assert.ok(ok, JSON.stringify(validate.errors?.slice(0, 5), null, 2));
  const run = log.runs[0]!;
  assert.equal(run.tool.driver.rules!.length, rules.length);
  assert.equal(run.invocations![0]!.executionSuccessful, false);
  assert.equal(run.invocations![0]!.toolExecutionNotifications!.length, report.counts.error);
  const kinds = run.results!.map((r) => `${r.kind}/${r.level}`);
  assert.ok(kinds.includes('fail/error') && kinds.includes('open/none'), kinds.join(' '));
  // every result points at its resource_changes entry in the plan file
  for (const r of run.results!) {
    const line = r.locations![0]!.physicalLocation!.region!.startLine!;
    const address = r.locations![0]!.logicalLocations![0]!.fullyQualifiedName!;
    assert.ok(planText.split('\n')[line - 1]!.includes(JSON.stringify(address)), `${address} at line ${line}`);
    assert.equal(run.tool.driver.rules![r.ruleIndex!]!.id, r.ruleId);
  }
  // the validator does reject what SARIF forbids
  const broken = structuredClone(log);
  (broken.runs[0]!.results![0] as { level: string }).level = 'critical';
  assert.ok(!validate(broken), 'a level outside the enum must not validate');
  assert.ok(!validate({ ...log, version: '2.0.0' }));
  // without a file (stdin) the log is still valid
  assert.ok(validate(formatSarif(report, rules)), JSON.stringify(validate.errors?.slice(0, 3)));
});

test('the SARIF of every fixture plan is valid, and fingerprints are stable across runs', () => {
  const validate = sarifValidator();
  const rules = builtinRules();
  for (const file of ['iac/aws/secrets-in-attributes.json', 'iac/google/bucket-public.json', 'iac/azurerm/key-vault-exposed.json', 'iac/google/firewall-restricted.json']) {
    const text = readFileSync(FIXTURES + file, 'utf8');
    const a = formatSarif(checkPlan(parsePlan(text), rules), rules, { planUri: file, planText: text });
    const b = formatSarif(checkPlan(parsePlan(text), rules), rules, { planUri: file, planText: text });
    assert.ok(validate(a), `${file}: ${JSON.stringify(validate.errors?.slice(0, 3))}`);
    assert.deepEqual(a.runs[0]!.results!.map((r) => r.partialFingerprints), b.runs[0]!.results!.map((r) => r.partialFingerprints));
  }
});

test('the table names each finding and ends with the counts', () => {
  const report = checkPlan(parsePlan(readFileSync(FIXTURES + 'iac/format/unknown-values.json', 'utf8')), builtinRules());
  const out = formatTable(report, 'medium');
  assert.match(out, /^SEVERITY {2}VERDICT/);
  assert.match(out, /high {6}violation {2}aws-sg-ingress-ssh-open {2}aws_security_group\.mixed/);
  assert.match(out, /cannot decide before apply: `ingress\[0\]\.cidr_blocks` is known only after apply/);
  assert.match(out, /3 of 3 resources in the plan checked against 56 rules: 1 violation, 1 unknown, 0 errors, \d+ passed \(fail on: medium\)\n$/);
});

test('resource lines prefer the resource_changes entry over planned_values', () => {
  const text = '{\n"planned_values": {"address": "a.b"},\n"resource_changes": [\n{"address": "a.b"}\n]}';
  assert.equal(locateResources(text).get('a.b'), 4);
});
