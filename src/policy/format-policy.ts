import * as cedar from '@cedar-policy/cedar-wasm/nodejs';
import { PolicyInvalidError } from '../domain/errors.js';
import { parsePolicySources, type PolicySource } from './load-policy-set.js';

/** Layout of formatted policies: Cedar's own defaults (`cedar format`). */
const LINE_WIDTH = 80;
const INDENT_WIDTH = 2;

/**
 * The source laid out by Cedar's formatter (cedar-wasm `formatPolicies`, what `cedar
 * format` does; comments are kept), ending with one newline. The source must parse
 * and give every policy an `@id`, as validate and apply require: otherwise throws
 * {@link PolicyInvalidError} with `source:line:column`.
 */
export function formatPolicySource(source: PolicySource): string {
  // the same syntax and id rules, and the same messages, as validate and apply
  parsePolicySources([source]);
  const r = cedar.formatPolicies({ policyText: source.text, lineWidth: LINE_WIDTH, indentWidth: INDENT_WIDTH });
  if (r.type === 'failure') throw new PolicyInvalidError(`\`${source.name}\` cannot be formatted: ${r.errors.map((e) => e.message).join('; ')}`);
  const text = r.formatted_policy;
  return text.length === 0 || text.endsWith('\n') ? text : `${text}\n`;
}
