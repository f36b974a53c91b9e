/**
 * cedar-wasm returns a policy's JSON form as JavaScript objects, so integer literals
 * beyond 2^53 arrive rounded. When a policy has such literals, its text is converted
 * again with each of them replaced by a unique small marker, and the markers found in
 * the JSON (`m`, or `-m` where the parser folded a minus sign) get the exact value back.
 */
import * as cedar from '@cedar-policy/cedar-wasm/nodejs';
import { CompileError } from './compile-expr.js';

/** Spans of the integer literals of Cedar policy text (outside strings, comments and identifiers) beyond 2^53. */
function bigLiteralSpans(text: string): { start: number; end: number; value: bigint }[] {
  const out: { start: number; end: number; value: bigint }[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c === '"') {
      i++;
      while (i < text.length && text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
      i++;
    } else if (c === '/' && text[i + 1] === '/') {
      while (i < text.length && text[i] !== '\n') i++;
    } else if (/[A-Za-z_]/.test(c)) {
      while (i < text.length && /[A-Za-z0-9_]/.test(text[i]!)) i++;
    } else if (/[0-9]/.test(c)) {
      const start = i;
      while (i < text.length && /[0-9]/.test(text[i]!)) i++;
      const value = BigInt(text.slice(start, i));
      if (value > 9007199254740991n) out.push({ start, end: i, value });
    } else {
      i++;
    }
  }
  return out;
}

function hasUnsafe(node: unknown): boolean {
  if (typeof node === 'number') return !Number.isSafeInteger(node);
  if (Array.isArray(node)) return node.some(hasUnsafe);
  if (typeof node === 'object' && node !== null) return Object.values(node).some(hasUnsafe);
  return false;
}

/**
 * The JSON form of a policy with exact integer literals. `json` is cedar-wasm's
 * conversion of `text`; it is returned as is unless it holds rounded numbers.
 */
export function exactPolicyJson(json: unknown, text: string, kind: 'policy' | 'template'): unknown {
  if (!hasUnsafe(json)) return json;
  const spans = bigLiteralSpans(text);
  const markers = new Map<number, bigint>();
  let next = 9000000000000000;
  let marked = '';
  let at = 0;
  for (const s of spans) {
    while (text.includes(String(next))) next++;
    markers.set(next, s.value);
    marked += `${text.slice(at, s.start)}${next}`;
    at = s.end;
    next++;
  }
  marked += text.slice(at);
  const answer = kind === 'policy' ? cedar.policyToJson(marked) : cedar.templateToJson(marked);
  if (answer.type === 'failure') throw new CompileError(`integer literals of the policy cannot be represented exactly: ${answer.errors[0]?.message ?? ''}`);
  const fix = (node: unknown, inValue: boolean): unknown => {
    if (typeof node === 'number' && inValue) {
      const pos = markers.get(node);
      if (pos !== undefined) return pos;
      const neg = markers.get(-node);
      if (neg !== undefined) return -neg;
      return node;
    }
    if (Array.isArray(node)) return node.map((x) => fix(x, inValue));
    if (typeof node === 'object' && node !== null) {
      return Object.fromEntries(Object.entries(node).map(([k, x]) => [k, fix(x, inValue || k === 'Value')]));
    }
    return node;
  };
  const exact = fix(answer.json, false);
  if (hasUnsafe(exact)) throw new CompileError('integer literals of the policy cannot be represented exactly');
  return exact;
}
