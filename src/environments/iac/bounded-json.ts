import { IacPlanInvalidError } from '../../domain/errors.js';

/** A parsed JSON value. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };
/** A parsed JSON object. */
export type JsonObject = { [key: string]: JsonValue };

/** Limits on untrusted JSON (a plan, or a policy document embedded in one). */
export interface JsonLimits {
  /** Largest input, in UTF-16 code units of the decoded text. */
  maxLength: number;
  /** Deepest nesting of arrays and objects. */
  maxDepth: number;
}

/**
 * Parses untrusted JSON within limits. The nesting depth is measured by a linear scan
 * before `JSON.parse`, so a hostile document (`[[[[...`) is refused before any code
 * that walks the result recursively can run out of stack.
 * `what` names the input in the error (`plan`, `policy document`).
 */
export function parseBoundedJson(text: string, limits: JsonLimits, what: string): JsonValue {
  if (text.length > limits.maxLength) {
    throw new IacPlanInvalidError(`${what} is too large: ${text.length} characters, the limit is ${limits.maxLength}`);
  }
  const depth = maxNesting(text, limits.maxDepth);
  if (depth > limits.maxDepth) throw new IacPlanInvalidError(`${what} is nested too deeply: more than ${limits.maxDepth} levels`);
  try {
    return JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text) as JsonValue;
  } catch (err) {
    // V8's message may quote a snippet of the input: keep only its first line, bounded
    const reason = String((err as Error).message ?? err).split('\n')[0]!.slice(0, 160);
    throw new IacPlanInvalidError(`${what} is not valid JSON: ${reason}`);
  }
}

/**
 * The deepest nesting of `[`/`{` outside strings, stopping early once past `stopAt`.
 * Written by hand: JSON.parse offers no depth limit, and no maintained streaming parser
 * is worth a dependency for one counter.
 */
function maxNesting(text: string, stopAt: number): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c /* \ */) i++;
      else if (c === 0x22 /* " */) inString = false;
      continue;
    }
    if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      depth++;
      if (depth > max) {
        max = depth;
        if (max > stopAt) return max;
      }
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return max;
}

/** True for a plain JSON object (not an array, not null). */
export function isJsonObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
