import { createHash } from 'node:crypto';
import type { Log, ReportingDescriptor, Result } from 'sarif';
import type { CheckReport, Finding } from './check-plan.js';
import type { Rule } from './load-rules.js';
import type { Severity } from './rule-spec.js';

/** Name and version the reports carry. */
export const TOOL = { name: 'coffer-iac', version: '0.1.0' } as const;

function findingText(f: Finding): string {
  if (f.verdict === 'violation') return f.detail === null ? f.message : `${f.message} (${f.detail})`;
  if (f.verdict === 'unknown') return `cannot decide before apply: ${f.detail ?? 'a value is unknown'}`;
  return f.detail ?? 'evaluation failed';
}

/** The report as an aligned table with a summary line, for people. */
export function formatTable(report: CheckReport, failOn: Severity): string {
  const rows = report.findings.map((f) => [f.severity, f.verdict, f.ruleId, f.address, findingText(f)]);
  const head = ['SEVERITY', 'VERDICT', 'RULE', 'RESOURCE', 'MESSAGE'];
  let out = '';
  if (rows.length > 0) {
    const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
    const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ') + '\n';
    out += line(head) + rows.map(line).join('');
  }
  const c = report.counts;
  const what = report.plan.kind === 'state' ? 'state' : 'plan';
  out +=
    `${report.plan.checkedResources} of ${report.plan.resources} resources in the ${what} checked against ${report.rules.length} rules: ` +
    `${c.violation} violation${c.violation === 1 ? '' : 's'}, ${c.unknown} unknown, ${c.error} error${c.error === 1 ? '' : 's'}, ${c.pass} passed (fail on: ${failOn})\n`;
  return out;
}

const LEVEL: Record<Severity, 'error' | 'warning' | 'note'> = { critical: 'error', high: 'error', medium: 'warning', low: 'note' };
/** GitHub code scanning reads `security-severity` (0-10) to rank security results. */
const SECURITY_SEVERITY: Record<Severity, string> = { critical: '9.5', high: '8.0', medium: '5.5', low: '3.0' };

/** Line (1-based) of each resource's entry in the plan text, preferring its `resource_changes` entry. */
export function locateResources(text: string): Map<string, number> {
  const anywhere = new Map<string, number>();
  const inChanges = new Map<string, number>();
  const changesAt = text.indexOf('"resource_changes"');
  const re = /"address"\s*:\s*("(?:[^"\\\n]|\\.){0,4096}")/g;
  let line = 1;
  let pos = 0;
  for (const m of text.matchAll(re)) {
    for (let i = text.indexOf('\n', pos); i !== -1 && i < m.index; i = text.indexOf('\n', i + 1)) line++;
    pos = m.index;
    let address: string;
    try {
      address = JSON.parse(m[1]!) as string;
    } catch {
      continue;
    }
    if (!anywhere.has(address)) anywhere.set(address, line);
    if (changesAt >= 0 && m.index > changesAt && !inChanges.has(address)) inChanges.set(address, line);
  }
  for (const [k, v] of inChanges) anywhere.set(k, v);
  return anywhere;
}

/**
 * The report as a SARIF 2.1.0 log. Violations are `fail` results with a level from the
 * severity; unknowns are `open` results (SARIF's "could not be determined"), level
 * `none`; evaluation errors are tool execution notifications and make the invocation
 * unsuccessful. `planUri` (a relative path or URI of the plan file) anchors locations.
 */
export function formatSarif(report: CheckReport, rules: readonly Rule[], options: { planUri?: string; planText?: string } = {}): Log {
  const ruleIndex = new Map(rules.map((r, i) => [r.id, i]));
  const lines = options.planText === undefined ? new Map<string, number>() : locateResources(options.planText);
  const descriptors: ReportingDescriptor[] = rules.map((r) => ({
    id: r.id,
    name: r.id.replace(/-([a-z0-9])/g, (_m, c: string) => c.toUpperCase()).replace(/^./, (c) => c.toUpperCase()),
    shortDescription: { text: r.title },
    fullDescription: { text: r.message },
    help: { text: r.remediation, markdown: `**Remediation:** ${r.remediation}` },
    defaultConfiguration: { level: LEVEL[r.severity] },
    properties: { tags: ['security', 'iac', r.provider, r.category], severity: r.severity, 'security-severity': SECURITY_SEVERITY[r.severity] },
  }));
  const results: Result[] = [];
  const notifications: NonNullable<NonNullable<Log['runs'][number]['invocations']>[number]['toolExecutionNotifications']> = [];
  for (const f of report.findings) {
    if (f.verdict === 'error') {
      notifications.push({ level: 'error', message: { text: `${f.address}: ${findingText(f)}` }, associatedRule: { id: f.ruleId, index: ruleIndex.get(f.ruleId) ?? -1 } });
      continue;
    }
    const line = lines.get(f.address);
    results.push({
      ruleId: f.ruleId,
      ruleIndex: ruleIndex.get(f.ruleId) ?? -1,
      kind: f.verdict === 'violation' ? 'fail' : 'open',
      level: f.verdict === 'violation' ? LEVEL[f.severity] : 'none',
      message: { text: `${f.address}: ${findingText(f)}` },
      locations: [
        {
          ...(options.planUri === undefined
            ? {}
            : { physicalLocation: { artifactLocation: { uri: options.planUri }, ...(line === undefined ? {} : { region: { startLine: line } }) } }),
          logicalLocations: [{ fullyQualifiedName: f.address, name: f.address, kind: 'resource' }],
        },
      ],
      partialFingerprints: { 'cofferIacFinding/v1': createHash('sha256').update(`${f.ruleId}\u0000${f.address}`).digest('hex') },
      properties: { verdict: f.verdict, severity: f.severity, action: f.action, resourceType: f.type },
    });
  }
  return {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [
      {
        tool: { driver: { name: TOOL.name, version: TOOL.version, semanticVersion: TOOL.version, rules: descriptors } },
        invocations: [{ executionSuccessful: report.counts.error === 0, ...(notifications.length > 0 ? { toolExecutionNotifications: notifications } : {}) }],
        ...(options.planUri === undefined ? {} : { artifacts: [{ location: { uri: options.planUri }, roles: ['analysisTarget'] }] }),
        results,
      },
    ],
  };
}
