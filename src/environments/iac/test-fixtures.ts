import { readFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { checkPlan } from './check-plan.js';
import type { Verdict } from './check-plan.js';
import type { Rule } from './load-rules.js';
import { parsePlan } from './parse-plan.js';

/** The outcome of one rule on its two fixture plans. */
export interface FixtureResult {
  ruleId: string;
  /** `no-fixtures` for a rule without fixtures. */
  status: 'ok' | 'failed' | 'no-fixtures';
  problems: string[];
}

function verdictsOf(rule: Rule, path: string): Record<Verdict, number> {
  const report = checkPlan(parsePlan(readFileSync(path, 'utf8')), [rule]);
  return report.counts;
}

/**
 * Runs each rule on its fixtures: the `violates` plan must give at least one violation
 * and no error; the `passes` plan must give no violation, no unknown and no error (a
 * pass that only holds because a value is unknown is not a pass). `base` resolves the
 * fixture paths of rules whose own base is empty (the built-in rules).
 */
export function testRuleFixtures(rules: readonly Rule[], base: string): FixtureResult[] {
  return rules.map((rule) => {
    if (!rule.fixtures) return { ruleId: rule.id, status: 'no-fixtures', problems: [] };
    const problems: string[] = [];
    const resolve = (p: string) => (isAbsolute(p) ? p : join(rule.fixtureBase || base, p));
    for (const [which, path] of [['violates', rule.fixtures.violates], ['passes', rule.fixtures.passes]] as const) {
      let counts: Record<Verdict, number>;
      try {
        counts = verdictsOf(rule, resolve(path));
      } catch (err) {
        problems.push(`${which} fixture \`${path}\`: ${(err as Error).message}`);
        continue;
      }
      if (counts.error > 0) problems.push(`${which} fixture \`${path}\`: ${counts.error} evaluation error(s)`);
      if (which === 'violates' && counts.violation === 0) problems.push(`violates fixture \`${path}\` gives no violation (${counts.pass} pass, ${counts.unknown} unknown)`);
      if (which === 'passes' && counts.violation + counts.unknown > 0) problems.push(`passes fixture \`${path}\` gives ${counts.violation} violation(s) and ${counts.unknown} unknown`);
      if (which === 'passes' && counts.pass === 0) problems.push(`passes fixture \`${path}\` checks no resource of the rule's types`);
    }
    return { ruleId: rule.id, status: problems.length === 0 ? 'ok' : 'failed', problems };
  });
}
