import { parsePolicySources, type PolicySource } from './load-policy-set.js';

/** A policy on one side of a diff. */
export interface DiffedPolicy {
  id: string;
  /** `source:line:column` */
  at: string;
  text: string;
}

/** What changes between two policy sets, policy by policy (matched by `@id`). */
export interface PolicyDiff {
  added: DiffedPolicy[];
  removed: DiffedPolicy[];
  /** Same id, different text; `lines` is a unified-style line diff (`-`, `+`, ` `). */
  changed: { id: string; before: DiffedPolicy; after: DiffedPolicy; lines: string[] }[];
  unchanged: string[];
}

/**
 * Compares two policy sets by policy id. Texts are compared after trimming trailing
 * whitespace on every line, so moving a policy to another file or line is no change.
 * Throws PolicyInvalidError if either side does not parse.
 */
export function diffPolicySets(before: readonly PolicySource[], after: readonly PolicySource[]): PolicyDiff {
  const a = new Map(parsePolicySources(before).map((p) => [p.id, { id: p.id, at: `${p.source}:${p.line}:${p.column}`, text: p.text }]));
  const b = new Map(parsePolicySources(after).map((p) => [p.id, { id: p.id, at: `${p.source}:${p.line}:${p.column}`, text: p.text }]));
  const diff: PolicyDiff = { added: [], removed: [], changed: [], unchanged: [] };
  for (const [id, p] of a) {
    const q = b.get(id);
    if (q === undefined) diff.removed.push(p);
    else if (normalize(p.text) === normalize(q.text)) diff.unchanged.push(id);
    else diff.changed.push({ id, before: p, after: q, lines: lineDiff(normalize(p.text).split('\n'), normalize(q.text).split('\n')) });
  }
  for (const [id, q] of b) if (!a.has(id)) diff.added.push(q);
  const byId = (x: { id: string }, y: { id: string }) => (x.id < y.id ? -1 : x.id > y.id ? 1 : 0);
  diff.added.sort(byId);
  diff.removed.sort(byId);
  diff.changed.sort(byId);
  diff.unchanged.sort();
  return diff;
}

function normalize(text: string): string {
  return text
    .split('\n')
    .map((l) => l.trimEnd())
    .join('\n')
    .trim();
}

/** A line diff by longest common subsequence (policies are short). */
export function lineDiff(x: readonly string[], y: readonly string[]): string[] {
  const n = x.length;
  const m = y.length;
  const lcs: number[][] = Array.from({ length: n + 1 }, () => new Array<number>(m + 1).fill(0));
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) lcs[i]![j] = x[i] === y[j] ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!);
  }
  const out: string[] = [];
  let i = 0;
  let j = 0;
  while (i < n && j < m) {
    if (x[i] === y[j]) {
      out.push(` ${x[i]}`);
      i++;
      j++;
    } else if (lcs[i + 1]![j]! >= lcs[i]![j + 1]!) out.push(`-${x[i++]}`);
    else out.push(`+${y[j++]}`);
  }
  while (i < n) out.push(`-${x[i++]}`);
  while (j < m) out.push(`+${y[j++]}`);
  return out;
}
