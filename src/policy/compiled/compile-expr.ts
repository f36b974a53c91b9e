/**
 * Compiles a Cedar expression (Cedar's JSON policy form) to a JavaScript closure.
 * Semantics follow the official engine: strict left-to-right evaluation, short-circuit
 * `&&`, `||` and `if`, checked 64-bit arithmetic, and an error (CedarEvalError) for
 * every type error, missing entity or attribute, overflow or failed extension call.
 * Constant sub-expressions are folded at compile time unless they error.
 */
import type { EntityLookup } from './entity-store.js';
import { EXTENSION_FUNCTIONS } from './extensions.js';
import { parseJsonValue } from './json-values.js';
import {
  CedarEvalError, CedarSet, DateTime, Duration, EntityUid, isLong, longAdd, longMul, longNeg, longSub, typeName,
  valueEquals, type CedarRecord, type Value,
} from './values.js';

/** The request as an expression sees it. Slots are set per template link. */
export interface Env {
  principal: EntityUid;
  action: EntityUid;
  resource: EntityUid;
  context: CedarRecord;
  entities: EntityLookup;
  slotPrincipal: EntityUid | undefined;
  slotResource: EntityUid | undefined;
}

/** A compiled expression. */
export type Evaluator = (env: Env) => Value;

/** A policy whose JSON form cannot be compiled (unknown operator or function). */
export class CompileError extends Error {}

interface Compiled {
  ev: Evaluator;
  /** Present when the expression is a constant (folded). */
  constant?: { value: Value };
  /** True if it reads the entity store (never folded). */
  usesStore?: boolean;
}

const typeError = (expected: string, v: Value) => new CedarEvalError(`type error: expected ${expected}, got ${typeName(v)}`);

function asBool(v: Value): boolean {
  if (typeof v !== 'boolean') throw typeError('bool', v);
  return v;
}

/** Cedar `in` on one entity. */
function inEntity(env: Env, left: Value, right: Value): boolean {
  if (!(left instanceof EntityUid)) throw typeError('(entity of type `any_entity_type`)', left);
  if (right instanceof EntityUid) return env.entities.isIn(left, right);
  if (right instanceof CedarSet) {
    const items = right.items;
    for (const item of items) if (!(item instanceof EntityUid)) throw typeError('(entity of type `any_entity_type`)', item);
    for (const item of items) if (env.entities.isIn(left, item as EntityUid)) return true;
    return false;
  }
  throw typeError('(entity of type `any_entity_type`) or set', right);
}

/** Attribute `name` of an entity or record (errors if absent). */
export function getAttr(env: Env, v: Value, name: string): Value {
  if (v instanceof EntityUid) {
    const data = env.entities.get(v);
    if (data === undefined) throw new CedarEvalError(`entity \`${v.key}\` does not exist`, 'entity');
    const a = data.attrs.get(name);
    if (a === undefined) throw new CedarEvalError(`\`${v.key}\` does not have the attribute \`${name}\``, 'attribute');
    return a;
  }
  if (v instanceof Map) {
    const a = v.get(name);
    if (a === undefined) throw new CedarEvalError(`record does not have the attribute \`${name}\``, 'attribute');
    return a;
  }
  throw typeError('(entity or record)', v);
}

function hasAttr(env: Env, v: Value, name: string): boolean {
  if (v instanceof EntityUid) {
    const data = env.entities.get(v);
    return data !== undefined && data.attrs.has(name);
  }
  if (v instanceof Map) return v.has(name);
  throw typeError('(entity or record)', v);
}

function compareOperands(a: Value, b: Value): [number | bigint, number | bigint] {
  if (isLong(a)) {
    if (isLong(b)) return [a, b];
    throw typeError('long', b);
  }
  if (a instanceof DateTime) {
    if (b instanceof DateTime) return [a.ms, b.ms];
    throw typeError('datetime', b);
  }
  if (a instanceof Duration) {
    if (b instanceof Duration) return [a.ms, b.ms];
    throw typeError('duration', b);
  }
  throw typeError('one of [long, datetime, duration]', a);
}

function asSet(v: Value): CedarSet {
  if (!(v instanceof CedarSet)) throw typeError('set', v);
  return v;
}

/** Glob matching for `like`: literal segments separated by wildcards. */
function compileLike(pattern: readonly ('Wildcard' | { Literal: string })[]): (s: string) => boolean {
  // Merge into segments: text between wildcards.
  const segments: string[] = [''];
  for (const p of pattern) {
    if (p === 'Wildcard') segments.push('');
    else segments[segments.length - 1] += p.Literal;
  }
  if (segments.length === 1) {
    const only = segments[0]!;
    return (s) => s === only;
  }
  const first = segments[0]!;
  const last = segments[segments.length - 1]!;
  const middle = segments.slice(1, -1).filter((x) => x.length > 0);
  return (s) => {
    if (s.length < first.length + last.length || !s.startsWith(first) || !s.endsWith(last)) return false;
    let pos = first.length;
    const end = s.length - last.length;
    for (const seg of middle) {
      const i = s.indexOf(seg, pos);
      if (i < 0 || i + seg.length > end) return false;
      pos = i + seg.length;
    }
    return true;
  };
}

type Json = Record<string, unknown>;

/** Compiles an expression of Cedar's JSON policy form. Throws CompileError on unknown forms. */
export function compileExpr(json: unknown): Evaluator {
  return compile(json).ev;
}

const DUMMY_ENV: Env = {
  principal: new EntityUid('', ''),
  action: new EntityUid('', ''),
  resource: new EntityUid('', ''),
  context: new Map(),
  entities: { get: () => undefined, isIn: () => false, ancestorList: () => [] },
  slotPrincipal: undefined,
  slotResource: undefined,
};

/** Marks `ev` constant if every child is constant and nothing reads the store. */
function maybeConst(ev: Evaluator, children: Compiled[], usesStore = false): Compiled {
  if (usesStore || children.some((c) => c.usesStore)) return { ev, usesStore: true };
  if (children.every((c) => c.constant !== undefined)) {
    try {
      const value = ev(DUMMY_ENV);
      return { ev: () => value, constant: { value } };
    } catch {
      return { ev };
    }
  }
  return { ev };
}

function compile(json: unknown): Compiled {
  if (typeof json !== 'object' || json === null) throw new CompileError('malformed expression');
  const keys = Object.keys(json);
  if (keys.length !== 1) throw new CompileError(`malformed expression with keys ${keys.join(', ')}`);
  const op = keys[0]!;
  const body = (json as Json)[op];
  const bin = () => {
    const b = body as { left: unknown; right: unknown };
    return [compile(b.left), compile(b.right)] as const;
  };
  switch (op) {
    case 'Value': {
      const value = parseJsonValue(body, undefined, undefined, 'policy literal');
      return { ev: () => value, constant: { value } };
    }
    case 'Var': {
      switch (body) {
        case 'principal':
          return { ev: (env) => env.principal };
        case 'action':
          return { ev: (env) => env.action };
        case 'resource':
          return { ev: (env) => env.resource };
        case 'context':
          return { ev: (env) => env.context };
      }
      throw new CompileError(`unknown variable \`${String(body)}\``);
    }
    case 'Slot': {
      if (body === '?principal') {
        return {
          ev: (env) => {
            if (env.slotPrincipal === undefined) throw new CedarEvalError('template slot `?principal` is not linked');
            return env.slotPrincipal;
          },
        };
      }
      if (body === '?resource') {
        return {
          ev: (env) => {
            if (env.slotResource === undefined) throw new CedarEvalError('template slot `?resource` is not linked');
            return env.slotResource;
          },
        };
      }
      throw new CompileError(`unknown slot \`${String(body)}\``);
    }
    case '!': {
      const a = compile((body as { arg: unknown }).arg);
      const f = a.ev;
      return maybeConst((env) => !asBool(f(env)), [a]);
    }
    case 'neg': {
      const a = compile((body as { arg: unknown }).arg);
      const f = a.ev;
      return maybeConst((env) => {
        const v = f(env);
        if (!isLong(v)) throw typeError('long', v);
        return longNeg(v);
      }, [a]);
    }
    case '==': {
      const [l, r] = bin();
      const fl = l.ev;
      if (r.constant !== undefined && typeof r.constant.value !== 'object') {
        const k = r.constant.value;
        return maybeConst((env) => fl(env) === k, [l, r]);
      }
      const fr = r.ev;
      return maybeConst((env) => valueEquals(fl(env), fr(env)), [l, r]);
    }
    case '!=': {
      const [l, r] = bin();
      const fl = l.ev;
      const fr = r.ev;
      return maybeConst((env) => !valueEquals(fl(env), fr(env)), [l, r]);
    }
    case 'in': {
      const [l, r] = bin();
      const fl = l.ev;
      const fr = r.ev;
      return maybeConst((env) => inEntity(env, fl(env), fr(env)), [l, r], true);
    }
    case '<':
    case '<=':
    case '>':
    case '>=': {
      const [l, r] = bin();
      const fl = l.ev;
      const fr = r.ev;
      const cmp: (a: number | bigint, b: number | bigint) => boolean =
        op === '<' ? (a, b) => a < b : op === '<=' ? (a, b) => a <= b : op === '>' ? (a, b) => a > b : (a, b) => a >= b;
      return maybeConst((env) => {
        const a = fl(env);
        const b = fr(env);
        if (typeof a === 'number' && typeof b === 'number') return cmp(a, b);
        const [x, y] = compareOperands(a, b);
        return cmp(x, y);
      }, [l, r]);
    }
    case '&&': {
      const [l, r] = bin();
      const fl = l.ev;
      const fr = r.ev;
      return maybeConst((env) => asBool(fl(env)) && asBool(fr(env)), [l, r]);
    }
    case '||': {
      const [l, r] = bin();
      const fl = l.ev;
      const fr = r.ev;
      return maybeConst((env) => asBool(fl(env)) || asBool(fr(env)), [l, r]);
    }
    case '+':
    case '-':
    case '*': {
      const [l, r] = bin();
      const fl = l.ev;
      const fr = r.ev;
      const f = op === '+' ? longAdd : op === '-' ? longSub : longMul;
      return maybeConst((env) => {
        const a = fl(env);
        const b = fr(env);
        if (!isLong(a)) throw typeError('long', a);
        if (!isLong(b)) throw typeError('long', b);
        return f(a, b);
      }, [l, r]);
    }
    case 'contains': {
      const [l, r] = bin();
      const fl = l.ev;
      const fr = r.ev;
      return maybeConst((env) => {
        const s = fl(env);
        const v = fr(env);
        return asSet(s).has(v);
      }, [l, r]);
    }
    case 'containsAll': {
      const [l, r] = bin();
      const fl = l.ev;
      const fr = r.ev;
      return maybeConst((env) => {
        const a = asSet(fl(env));
        const b = fr(env);
        for (const x of asSet(b).items) if (!a.has(x)) return false;
        return true;
      }, [l, r]);
    }
    case 'containsAny': {
      const [l, r] = bin();
      const fl = l.ev;
      const fr = r.ev;
      return maybeConst((env) => {
        const a = asSet(fl(env));
        const b = fr(env);
        for (const x of asSet(b).items) if (a.has(x)) return true;
        return false;
      }, [l, r]);
    }
    case 'isEmpty': {
      const a = compile((body as { arg: unknown }).arg);
      const f = a.ev;
      return maybeConst((env) => asSet(f(env)).size === 0, [a]);
    }
    case 'getTag':
    case 'hasTag': {
      const [l, r] = bin();
      const fl = l.ev;
      const fr = r.ev;
      const get = op === 'getTag';
      return maybeConst((env) => {
        const e = fl(env);
        const t = fr(env);
        if (!(e instanceof EntityUid)) throw typeError('(entity of type `any_entity_type`)', e);
        if (typeof t !== 'string') throw typeError('string', t);
        const data = env.entities.get(e);
        if (!get) return data?.tags?.has(t) ?? false;
        if (data === undefined) throw new CedarEvalError(`entity \`${e.key}\` does not exist`, 'entity');
        const v = data.tags?.get(t);
        if (v === undefined) throw new CedarEvalError(`\`${e.key}\` does not have the tag \`${t}\``, 'tag');
        return v;
      }, [l, r], true);
    }
    case '.': {
      const b = body as { left: unknown; attr: string };
      const l = compile(b.left);
      const fl = l.ev;
      const name = b.attr;
      return maybeConst((env) => getAttr(env, fl(env), name), [l], l.constant === undefined || l.constant.value instanceof EntityUid);
    }
    case 'has': {
      const b = body as { left: unknown; attr: string | string[] };
      const l = compile(b.left);
      const fl = l.ev;
      const path = typeof b.attr === 'string' ? [b.attr] : b.attr;
      if (path.length === 0) throw new CompileError('`has` with an empty attribute path');
      const first = path[0]!;
      const rest = path.slice(1);
      return maybeConst((env) => {
        let v = fl(env);
        if (!hasAttr(env, v, first)) return false;
        if (rest.length === 0) return true;
        v = getAttr(env, v, first);
        for (const a of rest) {
          if (!hasAttr(env, v, a)) return false;
          v = getAttr(env, v, a);
        }
        return true;
      }, [l], true);
    }
    case 'like': {
      const b = body as { left: unknown; pattern: ('Wildcard' | { Literal: string })[] };
      const l = compile(b.left);
      const fl = l.ev;
      const match = compileLike(b.pattern);
      return maybeConst((env) => {
        const s = fl(env);
        if (typeof s !== 'string') throw typeError('string', s);
        return match(s);
      }, [l]);
    }
    case 'is': {
      const b = body as { left: unknown; entity_type: string; in?: unknown };
      const l = compile(b.left);
      const fl = l.ev;
      const t = b.entity_type;
      if (b.in === undefined) {
        return maybeConst((env) => {
          const v = fl(env);
          if (!(v instanceof EntityUid)) throw typeError('(entity of type `any_entity_type`)', v);
          return v.type === t;
        }, [l]);
      }
      const r = compile(b.in);
      const fr = r.ev;
      return maybeConst((env) => {
        const v = fl(env);
        if (!(v instanceof EntityUid)) throw typeError('(entity of type `any_entity_type`)', v);
        return v.type === t && inEntity(env, v, fr(env));
      }, [l, r], true);
    }
    case 'if-then-else': {
      const b = body as { if: unknown; then: unknown; else: unknown };
      const c = compile(b.if);
      const t = compile(b.then);
      const e = compile(b.else);
      const fc = c.ev;
      const ft = t.ev;
      const fe = e.ev;
      return maybeConst((env) => (asBool(fc(env)) ? ft(env) : fe(env)), [c, t, e]);
    }
    case 'Set': {
      const items = (body as unknown[]).map(compile);
      const fs = items.map((i) => i.ev);
      return maybeConst((env) => CedarSet.of(fs.map((f) => f(env))), items);
    }
    case 'Record': {
      const entries = Object.entries(body as Record<string, unknown>).map(([k, x]) => [k, compile(x)] as const);
      const fs = entries.map(([k, c]) => [k, c.ev] as const);
      return maybeConst((env) => {
        const rec: CedarRecord = new Map();
        for (const [k, f] of fs) rec.set(k, f(env));
        return rec;
      }, entries.map(([, c]) => c));
    }
    default: {
      const fn = EXTENSION_FUNCTIONS.get(op);
      if (fn === undefined) throw new CompileError(`unknown function or operator \`${op}\``);
      if (!Array.isArray(body)) throw new CompileError(`malformed call of \`${op}\``);
      const args = body.map(compile);
      const fs = args.map((a) => a.ev);
      if (args.length !== fn.arity) {
        return { ev: () => { throw new CedarEvalError(`wrong number of arguments in call of \`${op}\``); } };
      }
      const apply = fn.apply;
      if (fs.length === 1) {
        const f0 = fs[0]!;
        return maybeConst((env) => apply([f0(env)]), args);
      }
      return maybeConst((env) => apply(fs.map((f) => f(env))), args);
    }
  }
}
