import { CEL_FUNCTIONS, ML_WORKLOAD_TYPES } from './cel-library.js';
import type { RuleSpec } from './rule-spec.js';
import { SECRET_KINDS } from '../secrets/secret-patterns.js';

/** The markers docs/environments.md puts around the generated catalogue. */
export const CATALOGUE_BEGIN = '<!-- iac-catalogue:begin (generated from the rules by `npm run docs:iac`: do not edit by hand) -->';
export const CATALOGUE_END = '<!-- iac-catalogue:end -->';

const PROVIDERS: [string, string][] = [
  ['aws', 'AWS (`aws`)'],
  ['google', 'Google Cloud (`google`)'],
  ['azurerm', 'Azure (`azurerm`)'],
  ['any', 'Every provider'],
];

function cell(s: string): string {
  return s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

/**
 * The rule catalogue as Markdown, generated from the rule specs themselves (docs/environments.md
 * embeds it between markers; `npm run docs:iac` rewrites it and a test fails when it is stale).
 */
export function renderCatalogue(specs: readonly RuleSpec[]): string {
  const lines: string[] = [];
  const types = new Set(specs.flatMap((s) => s.resource_types).filter((t) => t !== '*'));
  lines.push(`${specs.length} built-in rules over ${types.size} resource types. Severity: critical > high > medium > low.`);
  lines.push('');
  for (const [provider, title] of PROVIDERS) {
    const mine = specs.filter((s) => s.provider === provider);
    if (mine.length === 0) continue;
    lines.push(`### ${title}`, '');
    lines.push('| id | severity | category | what must hold | resource types | fixtures (violates / passes) |');
    lines.push('|---|---|---|---|---|---|');
    for (const s of mine) {
      const fx = s.fixtures ? `\`${s.fixtures.violates}\` / \`${s.fixtures.passes}\`` : '-';
      lines.push(`| \`${s.id}\` | ${s.severity} | ${s.category} | ${cell(s.title)} | ${s.resource_types.map((t) => `\`${t}\``).join(', ')} | ${fx} |`);
    }
    lines.push('');
  }
  lines.push('### Rule details', '');
  for (const s of specs) {
    lines.push(`#### \`${s.id}\` (${s.severity})`, '');
    lines.push(`${s.title}. Finding: ${s.message}.`, '');
    lines.push('```cel', s.violation, '```', '');
    lines.push(`Remediation: ${s.remediation}.`, '');
  }
  lines.push('### Resource types covered', '');
  const byProvider = new Map<string, string[]>();
  for (const t of [...types].sort()) {
    const p = t.split('_')[0]!;
    byProvider.set(p, [...(byProvider.get(p) ?? []), t]);
  }
  for (const [p, ts] of byProvider) lines.push(`- ${p}: ${ts.map((t) => `\`${t}\``).join(', ')}`);
  lines.push('', `ML workloads that make a network a training network: ${ML_WORKLOAD_TYPES.map((t) => `\`${t}\``).join(', ')}.`, '');
  lines.push('### CEL functions available to rules', '');
  lines.push('| function | meaning |', '|---|---|');
  for (const f of CEL_FUNCTIONS) lines.push(`| \`${cell(f.signature)}\` | ${cell(f.doc)} |`);
  lines.push('', '### Secret formats recognized', '');
  lines.push('Used by `iac-secret-in-plain-attribute` and by `coffer token scan`:', '');
  for (const k of SECRET_KINDS) lines.push(`- \`${k.kind}\`: ${k.description}`);
  return lines.join('\n') + '\n';
}
