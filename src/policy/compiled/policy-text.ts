/**
 * Cedar policy text to the compiled form, through cedar-wasm's parser: the text is
 * split into policies and templates, each converted to Cedar's JSON policy form (with
 * exact integer literals) and compiled.
 */
import * as cedar from '@cedar-policy/cedar-wasm/nodejs';
import { CompileError } from './compile-expr.js';
import { CompiledPolicySet, type PolicyJsonEntry } from './compiled-policy-set.js';
import { exactPolicyJson } from './long-literals.js';

/** One policy's text to a JSON entry. Throws CompileError if cedar-wasm rejects it. */
export function policyTextToEntry(id: string, text: string, kind: 'policy' | 'template'): PolicyJsonEntry {
  const answer = kind === 'policy' ? cedar.policyToJson(text) : cedar.templateToJson(text);
  if (answer.type === 'failure') throw new CompileError(`policy \`${id}\`: ${answer.errors.map((e) => e.message).join('; ')}`);
  return { id, kind, json: exactPolicyJson(answer.json, text, kind) };
}

/**
 * A policy-set text to JSON entries with the ids Cedar gives a policy-set string:
 * `policy0`, `policy1`, ... in textual order (templates share the numbering).
 */
export function policySetTextToEntries(text: string): PolicyJsonEntry[] {
  const parts = cedar.policySetTextToParts(text);
  if (parts.type === 'failure') throw new CompileError(parts.errors.map((e) => e.message).join('; '));
  const claimed = new Set<number>();
  const locate = (p: string) => {
    let from = 0;
    for (;;) {
      const i = text.indexOf(p, from);
      if (i < 0) return Number.MAX_SAFE_INTEGER;
      if (!claimed.has(i)) {
        claimed.add(i);
        return i;
      }
      from = i + 1;
    }
  };
  const located = [
    ...parts.policies.map((p) => ({ text: p, kind: 'policy' as const, at: locate(p) })),
    ...parts.policy_templates.map((p) => ({ text: p, kind: 'template' as const, at: locate(p) })),
  ].sort((a, b) => a.at - b.at);
  return located.map((p, i) => policyTextToEntry(`policy${i}`, p.text, p.kind));
}

/** Compiles policies given as a map id -> text (static policies) and templates id -> text. */
export function compilePolicyTexts(policies: Record<string, string>, templates: Record<string, string> = {}): CompiledPolicySet {
  return new CompiledPolicySet([
    ...Object.entries(policies).map(([id, t]) => policyTextToEntry(id, t, 'policy')),
    ...Object.entries(templates).map(([id, t]) => policyTextToEntry(id, t, 'template')),
  ]);
}
