import { existsAfterApply } from './parse-plan.js';
import type { Plan } from './parse-plan.js';
import { ResourceGraph } from './resource-graph.js';
import { UnknownValueError, ViewFactory } from './resource-view.js';
import type { Rule } from './load-rules.js';
import { SEVERITIES, severityRank } from './rule-spec.js';
import type { Severity } from './rule-spec.js';

/**
 * The outcome of one rule on one resource:
 * - `violation`: the rule's expression is true;
 * - `pass`: it is false;
 * - `unknown`: it depends on a value Terraform knows only after apply;
 * - `error`: it could not be evaluated (a value of an unexpected type, a malformed
 *   embedded policy document...).
 */
export type Verdict = 'violation' | 'unknown' | 'pass' | 'error';

/** A verdict other than `pass`, on one resource. */
export interface Finding {
  ruleId: string;
  severity: Severity;
  verdict: Exclude<Verdict, 'pass'>;
  title: string;
  message: string;
  /** Where, for violations (attribute paths...); the unknown path, or the error, otherwise. */
  detail: string | null;
  remediation: string;
  address: string;
  type: string;
  /** What the plan does to the resource (create, update, replace, no-op, read). */
  action: string;
}

/** The result of checking a plan. */
export interface CheckReport {
  /** Version of this report's JSON shape. */
  version: 1;
  plan: { kind: 'plan' | 'state'; formatVersion: string; terraformVersion: string | null; resources: number; checkedResources: number };
  rules: { id: string; severity: Severity; title: string; provider: string; category: string; source: string }[];
  findings: Finding[];
  counts: Record<Verdict, number>;
}

/**
 * Checks every resource instance that exists after apply against every rule for its
 * type. A resource being destroyed is not checked (it will not exist); rules that look
 * across resources (`related`) see only resources that will exist, so a bucket whose
 * encryption resource is being destroyed is reported.
 */
export function checkPlan(plan: Plan, rules: readonly Rule[]): CheckReport {
  const graph = new ResourceGraph(plan.resources);
  const views = new ViewFactory(graph);
  const findings: Finding[] = [];
  const counts: Record<Verdict, number> = { violation: 0, unknown: 0, pass: 0, error: 0 };
  const byType = new Map<string, Rule[]>();
  let checked = 0;
  for (const r of plan.resources) {
    if (!existsAfterApply(r)) continue;
    let applicable = byType.get(r.type);
    if (applicable === undefined) {
      applicable = rules.filter((rule) => rule.appliesTo(r.type));
      byType.set(r.type, applicable);
    }
    if (applicable.length === 0) continue;
    checked++;
    const context = { resource: views.view(r) };
    for (const rule of applicable) {
      const { verdict, detail } = evaluate(rule, context);
      counts[verdict]++;
      if (verdict === 'pass') continue;
      findings.push({
        ruleId: rule.id,
        severity: rule.severity,
        verdict,
        title: rule.title,
        message: rule.message,
        detail,
        remediation: rule.remediation,
        address: r.address,
        type: r.type,
        action: r.change,
      });
    }
  }
  findings.sort((a, b) => severityRank(b.severity) - severityRank(a.severity) || a.address.localeCompare(b.address) || a.ruleId.localeCompare(b.ruleId));
  return {
    version: 1,
    plan: { kind: plan.kind, formatVersion: plan.formatVersion, terraformVersion: plan.terraformVersion, resources: plan.resources.length, checkedResources: checked },
    rules: rules.map((r) => ({ id: r.id, severity: r.severity, title: r.title, provider: r.provider, category: r.category, source: r.source })),
    findings,
    counts,
  };
}

function unknownCause(err: unknown): UnknownValueError | null {
  for (let e = err, i = 0; e instanceof Error && i < 5; e = e.cause, i++) if (e instanceof UnknownValueError) return e;
  return null;
}

function evaluate(rule: Rule, context: { resource: unknown }): { verdict: Verdict; detail: string | null } {
  let result: unknown;
  try {
    result = rule.evaluate(context);
  } catch (err) {
    const unknown = unknownCause(err);
    if (unknown !== null) return { verdict: 'unknown', detail: unknown.message };
    return { verdict: 'error', detail: `evaluation failed: ${String((err as Error).message ?? err).split('\n')[0]!.slice(0, 300)}` };
  }
  if (typeof result !== 'boolean') return { verdict: 'error', detail: `the expression gave ${typeof result}, not a bool` };
  if (!result) return { verdict: 'pass', detail: null };
  return { verdict: 'violation', detail: describe(rule, context) };
}

function describe(rule: Rule, context: { resource: unknown }): string | null {
  if (rule.describe === null) return null;
  try {
    const d = rule.describe(context);
    if (typeof d === 'string') return d === '' ? null : d.slice(0, 500);
    if (Array.isArray(d)) return d.length === 0 ? null : d.map(String).join(', ').slice(0, 500);
    return null;
  } catch {
    // the verdict stands; only the "where" is missing
    return null;
  }
}

/** How unknown verdicts count toward failure. */
export type UnknownPolicy = 'fail' | 'warn';

/**
 * The CI outcome: 2 when a rule could not be evaluated (the check is incomplete), 1 when
 * a violation (or, with `unknown = fail`, an unknown) is at or above `failOn`, else 0.
 * Unknowns count as violations by default: a guardrail cannot wave through what it
 * cannot see; `warn` reports them without failing (the next plan, once the value is
 * known, decides).
 */
export function outcome(report: CheckReport, failOn: Severity, unknown: UnknownPolicy): 0 | 1 | 2 {
  if (report.counts.error > 0) return 2;
  const threshold = severityRank(failOn);
  const failing = report.findings.some(
    (f) => severityRank(f.severity) >= threshold && (f.verdict === 'violation' || (f.verdict === 'unknown' && unknown === 'fail')),
  );
  return failing ? 1 : 0;
}

/** True for a valid `--fail-on` value. */
export function isSeverity(s: string): s is Severity {
  return (SEVERITIES as readonly string[]).includes(s);
}
