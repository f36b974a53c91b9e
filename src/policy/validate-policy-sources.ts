import { loadPolicySet, type PolicySource } from './load-policy-set.js';
import { readSchemaText } from './policy-files.js';

/** Where a validated policy or template sits. */
export interface PolicySummary {
  id: string;
  kind: 'policy' | 'template';
  source: string;
  line: number;
  column: number;
}

/**
 * Parses and strictly validates policy sources against Coffer's schema (or `schema`),
 * as an engine would at load time. Throws PolicyInvalidError with source, line and
 * column of the first problem; returns the policies found otherwise.
 */
export function validatePolicySources(sources: readonly PolicySource[], schema: string = readSchemaText()): PolicySummary[] {
  const set = loadPolicySet(schema, sources);
  return [...set.policies, ...set.templates].map(({ id, kind, source, line, column }) => ({ id, kind, source, line, column }));
}
