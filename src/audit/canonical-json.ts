import { ValidationError } from '../domain/errors.js';

const MAX_DEPTH = 32;

/**
 * Canonical JSON of `value`: object keys sorted by UTF-16 code units, no whitespace,
 * numbers and strings serialized as ECMAScript's JSON.stringify does. For every input
 * without lone surrogates this is RFC 8785 (JCS); a lone surrogate is kept as a
 * `\udXXX` escape (JSON.stringify's well-formed output), so parsing and canonicalizing
 * again always gives back the same text.
 *
 * Object properties whose value is `undefined` are left out (as in JSON). Anything
 * JSON cannot represent exactly is refused with ValidationError rather than silently
 * changed: non-finite numbers, bigints, functions, symbols, `undefined` in arrays,
 * objects that are not plain (Date, Map, class instances), cycles and nesting deeper
 * than 32 levels.
 *
 * INVARIANT: canonicalJson(JSON.parse(canonicalJson(v))) === canonicalJson(v).
 */
export function canonicalJson(value: unknown): string {
  return write(value, 0);
}

function write(value: unknown, depth: number): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'boolean':
      return value ? 'true' : 'false';
    case 'string':
      return JSON.stringify(value);
    case 'number':
      // NaN and Infinity would become `null` under JSON.stringify: refuse instead of rewriting
      if (!Number.isFinite(value)) throw refuse('non-finite number');
      return JSON.stringify(value);
    case 'object':
      break;
    default:
      throw refuse(typeof value);
  }
  if (depth >= MAX_DEPTH) throw refuse('nesting deeper than 32 levels (or a cycle)');
  if (Array.isArray(value)) {
    const parts: string[] = [];
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i];
      if (item === undefined) throw refuse('undefined array element');
      parts.push(write(item, depth + 1));
    }
    return `[${parts.join(',')}]`;
  }
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) throw refuse('object that is not plain');
  const obj = value as Record<string, unknown>;
  // default sort compares UTF-16 code units, which is the order RFC 8785 requires
  const keys = Object.keys(obj).sort();
  const parts: string[] = [];
  for (const key of keys) {
    const item = obj[key];
    if (item === undefined) continue;
    parts.push(`${JSON.stringify(key)}:${write(item, depth + 1)}`);
  }
  return `{${parts.join(',')}}`;
}

function refuse(what: string): ValidationError {
  return new ValidationError('value cannot be written as canonical json', { detail: `canonical json: ${what}` });
}
