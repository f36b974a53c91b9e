/** Severities, lowest first. */
export const SEVERITIES = ['low', 'medium', 'high', 'critical'] as const;
export type Severity = (typeof SEVERITIES)[number];

/** Rank of a severity (low = 0 ... critical = 3). */
export function severityRank(s: Severity): number {
  return SEVERITIES.indexOf(s);
}

/** What a built-in rule checks, for grouping in the catalogue (user rules may name others). */
export const CATEGORIES = ['encryption', 'public-access', 'network', 'egress', 'iam', 'secrets', 'audit-logging', 'hardening'] as const;
export type Category = (typeof CATEGORIES)[number];

/**
 * An IaC rule as written (in YAML or JSON by users; built-in rules use the same shape).
 * `violation` is a CEL expression over `resource`; true means the resource violates the
 * rule. It must compile and type-check to `bool` (or `dyn`) when the rule is loaded.
 */
export interface RuleSpec {
  /** Stable id, lowercase words joined by dashes (`aws-s3-bucket-public-acl`). */
  id: string;
  severity: Severity;
  /** One line: what must hold. */
  title: string;
  /** Shown on each finding: what is wrong. */
  message: string;
  /** One of {@link CATEGORIES} for built-in rules; any lowercase word for user rules. */
  category: string;
  /** Provider the rule is about (`aws`, `google`, `azurerm`), or `any`. */
  provider: string;
  /** Resource types checked; `prefix_*` matches a family, `*` every type. */
  resource_types: string[];
  /** CEL: true when `resource` violates the rule. */
  violation: string;
  /** Optional CEL giving a string (or list of strings) that says where, e.g. attribute paths. Must never yield secret values. */
  detail?: string;
  /** How to fix it. */
  remediation: string;
  /** Plans (paths relative to the rule file, or to test/fixtures/iac for built-in rules) that violate and pass the rule. */
  fixtures?: { violates: string; passes: string };
}

/** JSON Schema of a rule file: `{ rules: [RuleSpec...] }`. */
export const RULE_FILE_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['rules'],
  properties: {
    rules: {
      type: 'array',
      maxItems: 1000,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['id', 'severity', 'title', 'message', 'category', 'provider', 'resource_types', 'violation', 'remediation'],
        properties: {
          id: { type: 'string', pattern: '^[a-z0-9][a-z0-9-]{2,79}$' },
          severity: { enum: [...SEVERITIES] },
          title: { type: 'string', minLength: 1, maxLength: 200 },
          message: { type: 'string', minLength: 1, maxLength: 500 },
          category: { type: 'string', pattern: '^[a-z][a-z-]{0,39}$' },
          provider: { type: 'string', pattern: '^[a-z0-9_-]{1,40}$' },
          resource_types: { type: 'array', minItems: 1, maxItems: 200, items: { type: 'string', pattern: '^(\\*|[a-z0-9_]{1,100}\\*?)$' } },
          violation: { type: 'string', minLength: 1, maxLength: 20000 },
          detail: { type: 'string', minLength: 1, maxLength: 5000 },
          remediation: { type: 'string', minLength: 1, maxLength: 2000 },
          fixtures: {
            type: 'object',
            additionalProperties: false,
            required: ['violates', 'passes'],
            properties: { violates: { type: 'string', minLength: 1, maxLength: 500 }, passes: { type: 'string', minLength: 1, maxLength: 500 } },
          },
        },
      },
    },
  },
} as const;
