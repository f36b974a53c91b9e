/**
 * Environments as code (issue 16), the offline half: a Terraform plan checker whose
 * rules are data (CEL expressions over each resource; built-in rules plus user rule
 * files), reports as a table, JSON and SARIF 2.1.0, and leaked-key scanning of files and
 * git history. Nothing here touches the network or the store: the server (phase two:
 * registry, guardrail gate, Shadow AI) calls {@link checkTerraformPlan} with the rules it
 * holds.
 */
import { builtinRules } from './iac/builtin-rules.js';
import { checkPlan } from './iac/check-plan.js';
import type { CheckReport } from './iac/check-plan.js';
import type { JsonLimits } from './iac/bounded-json.js';
import type { Rule } from './iac/load-rules.js';
import { DEFAULT_PLAN_LIMITS, parsePlan } from './iac/parse-plan.js';

export { DEFAULT_PLAN_LIMITS, existsAfterApply, parsePlan, planFromJson } from './iac/parse-plan.js';
export type { ChangeKind, Plan, PlanResource } from './iac/parse-plan.js';
export type { JsonLimits } from './iac/bounded-json.js';
export { BUILTIN_RULE_SPECS, builtinRules } from './iac/builtin-rules.js';
export { compileRules, loadRuleFile, loadRules } from './iac/load-rules.js';
export type { Rule } from './iac/load-rules.js';
export { CATEGORIES, RULE_FILE_SCHEMA, SEVERITIES, severityRank } from './iac/rule-spec.js';
export type { RuleSpec, Severity } from './iac/rule-spec.js';
export { checkPlan, isSeverity, outcome } from './iac/check-plan.js';
export type { CheckReport, Finding, UnknownPolicy, Verdict } from './iac/check-plan.js';
export { TOOL, formatSarif, formatTable } from './iac/format-report.js';
export { renderCatalogue } from './iac/catalogue.js';
export { testRuleFixtures } from './iac/test-fixtures.js';
export type { FixtureResult } from './iac/test-fixtures.js';
export { CEL_FUNCTIONS } from './iac/cel-library.js';
export { SECRET_KINDS, containsSecret, findSecrets, isSecretName } from './secrets/secret-patterns.js';
export type { SecretKind, SecretMatch } from './secrets/secret-patterns.js';

/**
 * Checks the text of `terraform show -json` against rules (the built-in ones by default).
 * Throws IacPlanInvalidError for a plan that cannot be read; never throws for what a
 * rule finds (that is in the report). Synchronous and CPU-bound: a server should run it
 * off the request path for large plans.
 */
export function checkTerraformPlan(text: string, options: { rules?: readonly Rule[]; limits?: JsonLimits } = {}): CheckReport {
  const plan = parsePlan(text, options.limits ?? DEFAULT_PLAN_LIMITS);
  return checkPlan(plan, options.rules ?? builtinRules());
}
