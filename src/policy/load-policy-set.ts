import * as cedar from '@cedar-policy/cedar-wasm/nodejs';
import { PolicyInvalidError } from '../domain/errors.js';
import { positionOfByteOffset, positionOfCharOffset, utf8Length } from './source-position.js';

/** A named policy text (a `.cedar` file or a policy submitted through the API). */
export interface PolicySource {
  /** Shown in error messages (`baseline/grants.cedar`). */
  name: string;
  text: string;
}

/** One policy or template of a validated set, with where it came from. */
export interface PolicyEntry {
  /** Its `@id` annotation: the policy id Cedar reports. */
  readonly id: string;
  readonly kind: 'policy' | 'template';
  /** The policy's own text, annotations included. */
  readonly text: string;
  /** Cedar's JSON form of the policy (the input of the compiled evaluator). */
  readonly json: cedar.PolicyJson;
  /** Source name, and the 1-based line and column where the policy starts. */
  readonly source: string;
  readonly line: number;
  readonly column: number;
}

/**
 * A policy set that parsed and passed strict validation against the schema.
 * INVARIANT: only {@link loadPolicySet} builds one, so every forbid in it is well typed
 * and cannot be silently skipped for a type error.
 */
export interface ValidatedPolicySet {
  readonly schemaText: string;
  readonly policies: readonly PolicyEntry[];
  readonly templates: readonly PolicyEntry[];
}

interface Located {
  text: string;
  kind: 'policy' | 'template';
  source: PolicySource;
  /** Character offset of the policy text within its source. */
  offset: number;
}

/**
 * Parses `sources`, gives each policy the id of its `@id` annotation (required, unique)
 * and validates the whole set against `schemaText` in strict mode.
 * Throws {@link PolicyInvalidError} with the source name, line and column of the first
 * problem (Cedar's byte offsets converted to lines and columns); `detail` lists all.
 */
export function loadPolicySet(schemaText: string, sources: readonly PolicySource[]): ValidatedPolicySet {
  const schemaCheck = cedar.checkParseSchema(schemaText);
  if (schemaCheck.type === 'failure') {
    const problems = schemaCheck.errors.map((e) => describe({ name: 'schema', text: schemaText }, 0, e));
    throw invalid('schema is not valid', problems);
  }
  const byId = parseById(sources);

  const staticPolicies: Record<string, string> = {};
  const templates: Record<string, string> = {};
  for (const [id, p] of byId) (p.kind === 'policy' ? staticPolicies : templates)[id] = p.text;
  const answer = cedar.validate({
    schema: schemaText,
    policies: { staticPolicies, templates },
    validationSettings: { mode: 'strict' },
  });
  if (answer.type === 'failure') {
    throw invalid('policy set is not valid', answer.errors.map((e) => describe({ name: 'policies', text: '' }, 0, e)));
  }
  if (answer.validationErrors.length > 0) {
    // cedar-wasm's order varies: report the first problem in source order, then by message
    const order = new Map([...byId.keys()].map((id, i) => [id, i]));
    const located = answer.validationErrors.map((ve) => {
      const p = byId.get(ve.policyId);
      return { id: ve.policyId, rank: order.get(ve.policyId) ?? Infinity, at: ve.error.sourceLocations?.[0]?.start ?? 0, text: p === undefined ? ve.error.message : describe(p.source, p.offset, ve.error, p.text) };
    });
    located.sort((a, b) => a.rank - b.rank || a.at - b.at || (a.text < b.text ? -1 : a.text > b.text ? 1 : 0));
    throw invalid(`policy \`${located[0]!.id}\` is not valid`, located.map((l) => l.text));
  }

  const entries: PolicyEntry[] = [];
  for (const [id, p] of byId) {
    const pos = positionOfCharOffset(p.source.text, p.offset);
    entries.push(Object.freeze({ id, kind: p.kind, text: p.text, json: p.json, source: p.source.name, line: pos.line, column: pos.column }));
  }
  return Object.freeze({
    schemaText,
    policies: Object.freeze(entries.filter((e) => e.kind === 'policy')),
    templates: Object.freeze(entries.filter((e) => e.kind === 'template')),
  });
}

/** A policy or template as parsed (not validated against a schema), with where it came from. */
export interface ParsedPolicy {
  readonly id: string;
  readonly kind: 'policy' | 'template';
  readonly text: string;
  readonly json: cedar.PolicyJson;
  readonly source: string;
  readonly line: number;
  readonly column: number;
}

/**
 * Parses `sources` into policies and templates with their `@id` (required, unique),
 * without validating them against a schema (for diffs). Throws {@link PolicyInvalidError}
 * with source, line and column of the first syntax problem.
 */
export function parsePolicySources(sources: readonly PolicySource[]): ParsedPolicy[] {
  return [...parseById(sources)].map(([id, p]) => {
    const pos = positionOfCharOffset(p.source.text, p.offset);
    return { id, kind: p.kind, text: p.text, json: p.json, source: p.source.name, line: pos.line, column: pos.column };
  });
}

function parseById(sources: readonly PolicySource[]): Map<string, Located & { json: cedar.PolicyJson }> {
  const byId = new Map<string, Located & { json: cedar.PolicyJson }>();
  for (const source of sources) {
    for (const located of splitSource(source)) {
      const converted = located.kind === 'policy' ? cedar.policyToJson(located.text) : cedar.templateToJson(located.text);
      if (converted.type === 'failure') {
        throw invalid(`policy in \`${source.name}\` is not valid`, converted.errors.map((e) => describe(source, located.offset, e, located.text)));
      }
      const id = converted.json.annotations?.id;
      const at = where(source, located.offset);
      if (id === undefined || id.length === 0) {
        throw invalid(`policy at ${at} is not valid: it has no @id annotation`, []);
      }
      if (byId.has(id)) {
        const first = byId.get(id)!;
        throw invalid(`policy \`${id}\` at ${at} is not valid: the id is already used at ${where(first.source, first.offset)}`, []);
      }
      byId.set(id, { ...located, json: converted.json });
    }
  }
  return byId;
}

/** Splits a source into its policies and templates, each with its offset in the source. */
function splitSource(source: PolicySource): Located[] {
  const parts = cedar.policySetTextToParts(source.text);
  if (parts.type === 'failure') {
    throw invalid(`\`${source.name}\` is not valid`, parts.errors.map((e) => describe(source, 0, e)));
  }
  const claimed = new Set<number>();
  const locate = (text: string): number => {
    let from = 0;
    for (;;) {
      const i = source.text.indexOf(text, from);
      if (i < 0) return 0; // the parser normalised the text: report the start of the source
      if (!claimed.has(i)) {
        claimed.add(i);
        return i;
      }
      from = i + 1;
    }
  };
  const out: Located[] = [];
  for (const text of parts.policies) out.push({ text, kind: 'policy', source, offset: locate(text) });
  for (const text of parts.policy_templates) out.push({ text, kind: 'template', source, offset: locate(text) });
  return out.sort((a, b) => a.offset - b.offset);
}

/**
 * `source:line:column: message (help)` for a Cedar error whose byte offsets are relative
 * to `part` (a policy starting at character `offset` of the source), or to the source.
 */
function describe(source: PolicySource, offset: number, error: cedar.DetailedError, part?: string): string {
  const loc = error.sourceLocations?.[0];
  let at = source.name;
  if (loc !== undefined) {
    const base = part === undefined ? 0 : utf8Length(source.text.slice(0, offset));
    const pos = positionOfByteOffset(source.text, base + loc.start);
    at = `${source.name}:${pos.line}:${pos.column}`;
  } else if (part !== undefined) {
    at = where(source, offset);
  }
  const label = loc?.label ? `: ${loc.label}` : '';
  const help = error.help ? ` (${error.help})` : '';
  return `${at}: ${error.message}${label}${help}`;
}

function where(source: PolicySource, offset: number): string {
  const pos = positionOfCharOffset(source.text, offset);
  return `${source.name}:${pos.line}:${pos.column}`;
}

function invalid(summary: string, problems: string[]): PolicyInvalidError {
  const message = problems.length > 0 ? `${summary}: ${problems[0]}` : summary;
  return new PolicyInvalidError(message, { detail: problems.join('\n') });
}
