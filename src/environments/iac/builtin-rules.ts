import { compileRules } from './load-rules.js';
import type { Rule } from './load-rules.js';
import type { RuleSpec } from './rule-spec.js';
import { AWS_RULES } from './rules/aws.js';
import { AZURERM_RULES } from './rules/azurerm.js';
import { GENERIC_RULES } from './rules/generic.js';
import { GOOGLE_RULES } from './rules/google.js';

/** The specs of the built-in rules, in catalogue order (AWS, Google, Azure, any provider). */
export const BUILTIN_RULE_SPECS: readonly RuleSpec[] = [...AWS_RULES, ...GOOGLE_RULES, ...AZURERM_RULES, ...GENERIC_RULES];

let compiled: Rule[] | undefined;

/**
 * The built-in rules, compiled through the same validation as user rule files (a built-in
 * rule that does not compile fails loudly, like any other). Their fixtures are relative
 * to `test/fixtures/iac/`.
 */
export function builtinRules(): Rule[] {
  compiled ??= compileRules({ rules: BUILTIN_RULE_SPECS }, 'builtin', '');
  return compiled;
}
