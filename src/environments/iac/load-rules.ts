import { lstatSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, extname, join, resolve } from 'node:path';
import { Ajv } from 'ajv';
import type { ValidateFunction } from 'ajv';
import { parse as parseYaml } from 'yaml';
import { IacRuleInvalidError } from '../../domain/errors.js';
import { iacEnvironment } from './cel-library.js';
import { RULE_FILE_SCHEMA } from './rule-spec.js';
import type { RuleSpec } from './rule-spec.js';

/** A loaded rule: its spec, where it came from, and its compiled expressions. */
export interface Rule extends RuleSpec {
  /** `builtin`, or the file the rule was read from. */
  source: string;
  /** Directory fixture paths are relative to. */
  fixtureBase: string;
  /** The compiled `violation` expression. */
  evaluate: (context: { resource: unknown }) => unknown;
  /** The compiled `detail` expression, if any. */
  describe: ((context: { resource: unknown }) => unknown) | null;
  /** True when the rule checks resources of `type`. */
  appliesTo: (type: string) => boolean;
}

/** Largest rule file read. */
const MAX_RULE_FILE_BYTES = 1024 * 1024;
/** Most rule files read from one directory tree. */
const MAX_RULE_FILES = 500;

let validateFile: ValidateFunction | undefined;

/**
 * Compiles rule specs. Every problem is an {@link IacRuleInvalidError} naming the rule
 * and its source: a rule that does not validate or compile is never skipped, because a
 * guardrail that silently does not run is worse than a check that refuses to start.
 */
export function compileRules(doc: unknown, source: string, fixtureBase: string): Rule[] {
  validateFile ??= new Ajv({ allErrors: false, strict: false }).compile(RULE_FILE_SCHEMA);
  if (!validateFile(doc)) {
    const e = validateFile.errors?.[0];
    throw new IacRuleInvalidError(`rules in \`${source}\` are not valid: \`${e?.instancePath || '/'}\` ${e?.message ?? 'has the wrong shape'}`);
  }
  const specs = (doc as { rules: RuleSpec[] }).rules;
  const seen = new Set<string>();
  return specs.map((spec) => {
    if (seen.has(spec.id)) throw new IacRuleInvalidError(`rule \`${spec.id}\` is defined twice in \`${source}\``);
    seen.add(spec.id);
    return compileRule(spec, source, fixtureBase);
  });
}

function compileExpression(spec: RuleSpec, field: 'violation' | 'detail', source: string, accept: (type: string) => boolean, expected: string) {
  const env = iacEnvironment();
  const text = spec[field]!;
  let checked: { valid: boolean; type?: string; error?: { message: string } };
  try {
    checked = env.check(text);
  } catch (err) {
    checked = { valid: false, error: { message: (err as Error).message } };
  }
  if (!checked.valid) {
    throw new IacRuleInvalidError(`rule \`${spec.id}\` in \`${source}\`: \`${field}\` does not compile: ${firstLine(checked.error?.message)}`);
  }
  if (!accept(String(checked.type))) {
    throw new IacRuleInvalidError(`rule \`${spec.id}\` in \`${source}\`: \`${field}\` has type \`${String(checked.type)}\`, expected ${expected}`);
  }
  const program = env.parse(text);
  return (context: { resource: unknown }): unknown => program(context) as unknown;
}

function compileRule(spec: RuleSpec, source: string, fixtureBase: string): Rule {
  const evaluate = compileExpression(spec, 'violation', source, (t) => t === 'bool' || t === 'dyn', 'bool');
  const describe =
    spec.detail === undefined ? null : compileExpression(spec, 'detail', source, (t) => t === 'string' || t === 'dyn' || t === 'list' || t.startsWith('list<'), 'a string or a list');
  const exact = new Set(spec.resource_types.filter((t) => !t.endsWith('*')));
  const prefixes = spec.resource_types.filter((t) => t.endsWith('*')).map((t) => t.slice(0, -1));
  return {
    ...spec,
    source,
    fixtureBase,
    evaluate,
    describe,
    appliesTo: (type) => exact.has(type) || prefixes.some((p) => type.startsWith(p)),
  };
}

function firstLine(s: string | undefined): string {
  return (s ?? 'unknown error').split('\n')[0]!.slice(0, 300);
}

/** Reads and compiles one rule file (`.yaml`, `.yml` or `.json`). */
export function loadRuleFile(path: string): Rule[] {
  const full = resolve(path);
  let text: string;
  try {
    const st = statSync(full);
    if (!st.isFile()) throw new IacRuleInvalidError(`rule file \`${path}\` is not a file`);
    if (st.size > MAX_RULE_FILE_BYTES) throw new IacRuleInvalidError(`rule file \`${path}\` is larger than ${MAX_RULE_FILE_BYTES} bytes`);
    text = readFileSync(full, 'utf8');
  } catch (err) {
    if (err instanceof IacRuleInvalidError) throw err;
    throw new IacRuleInvalidError(`rule file \`${path}\` cannot be read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  let doc: unknown;
  try {
    // YAML is a superset of JSON; aliases are capped so a small file cannot expand to a huge one
    doc = extname(full) === '.json' ? JSON.parse(text) : parseYaml(text, { maxAliasCount: 50, prettyErrors: false, uniqueKeys: true });
  } catch (err) {
    throw new IacRuleInvalidError(`rule file \`${path}\` is not valid ${extname(full) === '.json' ? 'JSON' : 'YAML'}: ${firstLine((err as Error).message)}`);
  }
  return compileRules(doc, path, dirname(full));
}

/**
 * Loads rules from files and directories: a directory contributes every `.yaml` and
 * `.yml` file below it (sorted; JSON files there are taken for fixtures, not rules).
 * Ids must be unique across everything loaded, including `existing` (the built-in rules).
 */
export function loadRules(paths: string[], existing: readonly Rule[] = []): Rule[] {
  const files: string[] = [];
  for (const p of paths) {
    let st;
    try {
      st = statSync(p);
    } catch (err) {
      throw new IacRuleInvalidError(`rule path \`${p}\` cannot be read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    if (st.isDirectory()) files.push(...ruleFilesUnder(p));
    else files.push(p);
  }
  const ids = new Map(existing.map((r) => [r.id, r.source]));
  const out: Rule[] = [];
  for (const f of files) {
    for (const rule of loadRuleFile(f)) {
      const other = ids.get(rule.id);
      if (other !== undefined) throw new IacRuleInvalidError(`rule \`${rule.id}\` in \`${f}\` has the id of a rule in \`${other}\``);
      ids.set(rule.id, f);
      out.push(rule);
    }
  }
  return out;
}

function ruleFilesUnder(dir: string): string[] {
  const out: string[] = [];
  const stack = [dir];
  while (stack.length > 0) {
    const d = stack.pop()!;
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      // symlinked directories are not followed (no loops); symlinked files are
      const st = lstatSync(p);
      if (st.isDirectory()) stack.push(p);
      else if (/\.ya?ml$/.test(name) && (st.isFile() || (st.isSymbolicLink() && statSync(p, { throwIfNoEntry: false })?.isFile()))) out.push(p);
      if (out.length > MAX_RULE_FILES) throw new IacRuleInvalidError(`more than ${MAX_RULE_FILES} rule files under \`${dir}\``);
    }
  }
  return out.sort();
}
