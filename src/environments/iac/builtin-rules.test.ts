import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { BUILTIN_RULE_SPECS, builtinRules } from './builtin-rules.js';
import { checkPlan } from './check-plan.js';
import { parsePlan } from './parse-plan.js';
import { CATEGORIES } from './rule-spec.js';
import { testRuleFixtures } from './test-fixtures.js';

const FIXTURES = fileURLToPath(new URL('../../../../test/fixtures/iac/', import.meta.url));
const PROVIDER_DIRS = ['aws', 'google', 'azurerm'];

test('every built-in rule compiles and has a violating and a passing fixture that behave', () => {
  const rules = builtinRules();
  assert.equal(rules.length, BUILTIN_RULE_SPECS.length);
  const results = testRuleFixtures(rules, FIXTURES);
  assert.deepEqual(
    results.filter((r) => r.status !== 'ok').map((r) => `${r.ruleId}: ${r.status} ${r.problems.join('; ')}`),
    [],
  );
});

test('built-in rules have unique ids, known categories, and fixtures in their provider directory', () => {
  const ids = new Set<string>();
  for (const s of BUILTIN_RULE_SPECS) {
    assert.ok(!ids.has(s.id), `duplicate id ${s.id}`);
    ids.add(s.id);
    assert.ok((CATEGORIES as readonly string[]).includes(s.category), `${s.id}: category ${s.category}`);
    assert.ok(s.fixtures, `${s.id} has no fixtures`);
    for (const f of [s.fixtures.violates, s.fixtures.passes]) {
      const dir = f.split('/')[0]!;
      assert.ok(PROVIDER_DIRS.includes(dir), `${s.id}: fixture ${f} is not under aws/, google/ or azurerm/`);
      if (s.provider !== 'any') assert.equal(dir, s.provider, `${s.id}: fixture ${f} is not in its provider's directory`);
    }
    assert.notEqual(s.fixtures.violates, s.fixtures.passes, s.id);
  }
});

test('every committed provider fixture is used by a rule, and each is a plan or state the parser accepts', () => {
  const used = new Set(BUILTIN_RULE_SPECS.flatMap((s) => (s.fixtures ? [s.fixtures.violates, s.fixtures.passes] : [])));
  for (const dir of PROVIDER_DIRS) {
    for (const name of readdirSync(FIXTURES + dir)) {
      assert.ok(used.has(`${dir}/${name}`), `${dir}/${name} is used by no rule`);
      const plan = parsePlan(readFileSync(`${FIXTURES}${dir}/${name}`, 'utf8'));
      assert.ok(plan.resources.length > 0, `${dir}/${name} has no resource`);
    }
  }
});

test('a passing fixture of a family passes every rule of the family; violating fixtures fail only where they say', () => {
  // the network fixtures are precise: each "open" plan opens exactly what its name says
  const rules = builtinRules();
  const verdicts = (file: string, prefix: string) => {
    const report = checkPlan(parsePlan(readFileSync(FIXTURES + file, 'utf8')), rules.filter((r) => r.id.startsWith(prefix)));
    return [...new Set(report.findings.filter((f) => f.verdict === 'violation').map((f) => f.ruleId))].sort();
  };
  for (const [dir, file, prefix] of [['aws', 'sg', 'aws-sg-'], ['google', 'firewall', 'google-firewall-'], ['azurerm', 'nsg', 'azurerm-nsg-']] as const) {
    assert.deepEqual(verdicts(`${dir}/${file}-restricted.json`, prefix), []);
    assert.deepEqual(verdicts(`${dir}/${file}-ssh-open.json`, prefix), [`${prefix}ingress-ssh-open`]);
    assert.deepEqual(verdicts(`${dir}/${file}-training-egress-open.json`, prefix), [`${prefix}training-egress-open`]);
    assert.ok(verdicts(`${dir}/${file}-all-open.json`, prefix).includes(`${prefix}ingress-all-open`));
    assert.ok(verdicts(`${dir}/${file}-rdp-open.json`, prefix).includes(`${prefix}ingress-rdp-open`));
    assert.ok(!verdicts(`${dir}/${file}-rdp-open.json`, prefix).includes(`${prefix}ingress-all-open`));
  }
});
