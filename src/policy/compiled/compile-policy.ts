/**
 * Compiles one policy or template of Cedar's JSON policy form: its scope (principal,
 * action, resource constraints, kept as data for indexing) and its conditions (one
 * closure). A policy is satisfied when its scope matches and every `when` holds and no
 * `unless` holds, evaluated in order with short-circuit, as Cedar does.
 */
import { CompileError, compileExpr, type Env } from './compile-expr.js';
import { parseEntityUid } from './json-values.js';
import type { EntityUid} from './values.js';
import { CedarEvalError, typeName } from './values.js';

/** A principal or resource constraint. `slot` means the linked value of `?principal`/`?resource`. */
export type ScopeConstraint =
  | { op: 'All' }
  | { op: '=='; entity: EntityUid | 'slot' }
  | { op: 'in'; entity: EntityUid | 'slot' }
  | { op: 'is'; type: string; in?: EntityUid | 'slot' };

/** An action constraint. */
export type ActionConstraint = { op: 'All' } | { op: '=='; entity: EntityUid } | { op: 'in'; entities: EntityUid[] };

/** A compiled policy or template. */
export interface CompiledPolicy {
  readonly id: string;
  readonly effect: 'permit' | 'forbid';
  readonly principal: ScopeConstraint;
  readonly action: ActionConstraint;
  readonly resource: ScopeConstraint;
  /** True if the scope uses `?principal` / `?resource` (a template). */
  readonly slots: { principal: boolean; resource: boolean };
  /** The scope test (never errors). */
  readonly scope: (env: Env) => boolean;
  /**
   * True when being collected by the policy index already proves the scope matches
   * (constraints `All`, `in`, `is T`; not `==`, `is T in`), so the test can be skipped.
   */
  readonly indexImpliesScope: boolean;
  /** The conditions (throws CedarEvalError); null when there are none. */
  readonly condition: ((env: Env) => boolean) | null;
}

type Json = Record<string, unknown>;

function entityOrSlot(c: Json, where: string): EntityUid | 'slot' {
  if ('slot' in c) return 'slot';
  return parseEntityUid(c.entity, where);
}

function scopeConstraint(c: Json, where: string): ScopeConstraint {
  switch (c.op) {
    case 'All':
      return { op: 'All' };
    case '==':
      return { op: '==', entity: entityOrSlot(c, where) };
    case 'in':
      return { op: 'in', entity: entityOrSlot(c, where) };
    case 'is': {
      const inner = c.in as Json | undefined;
      return inner === undefined ? { op: 'is', type: c.entity_type as string } : { op: 'is', type: c.entity_type as string, in: entityOrSlot(inner, where) };
    }
  }
  throw new CompileError(`${where}: unknown scope operator \`${String(c.op)}\``);
}

function actionConstraint(c: Json): ActionConstraint {
  switch (c.op) {
    case 'All':
      return { op: 'All' };
    case '==':
      return { op: '==', entity: parseEntityUid(c.entity, 'action') };
    case 'in':
      if (Array.isArray(c.entities)) return { op: 'in', entities: c.entities.map((e) => parseEntityUid(e, 'action')) };
      return { op: 'in', entities: [parseEntityUid(c.entity, 'action')] };
  }
  throw new CompileError(`unknown action scope operator \`${String(c.op)}\``);
}

function scopeTest(c: ScopeConstraint, variable: 'principal' | 'resource'): ((env: Env) => boolean) | null {
  const get = variable === 'principal' ? (env: Env) => env.principal : (env: Env) => env.resource;
  const slot = variable === 'principal' ? (env: Env) => env.slotPrincipal! : (env: Env) => env.slotResource!;
  switch (c.op) {
    case 'All':
      return null;
    case '==': {
      if (c.entity === 'slot') return (env) => get(env).key === slot(env).key;
      const k = c.entity.key;
      return (env) => get(env).key === k;
    }
    case 'in': {
      if (c.entity === 'slot') return (env) => env.entities.isIn(get(env), slot(env));
      const target = c.entity;
      return (env) => env.entities.isIn(get(env), target);
    }
    case 'is': {
      const t = c.type;
      if (c.in === undefined) return (env) => get(env).type === t;
      if (c.in === 'slot') return (env) => get(env).type === t && env.entities.isIn(get(env), slot(env));
      const target = c.in;
      return (env) => get(env).type === t && env.entities.isIn(get(env), target);
    }
  }
}

function actionTest(c: ActionConstraint): ((env: Env) => boolean) | null {
  switch (c.op) {
    case 'All':
      return null;
    case '==': {
      const k = c.entity.key;
      return (env) => env.action.key === k;
    }
    case 'in': {
      const targets = c.entities;
      if (targets.length === 1) {
        const t = targets[0]!;
        return (env) => env.entities.isIn(env.action, t);
      }
      return (env) => targets.some((t) => env.entities.isIn(env.action, t));
    }
  }
}

/** Compiles a policy or template (`json` is cedar-wasm's `policyToJson`/`templateToJson` output). */
export function compilePolicy(id: string, json: unknown): CompiledPolicy {
  const p = json as Json;
  if (p.effect !== 'permit' && p.effect !== 'forbid') throw new CompileError(`policy \`${id}\`: unknown effect`);
  const principal = scopeConstraint(p.principal as Json, `policy \`${id}\` principal`);
  const action = actionConstraint(p.action as Json);
  const resource = scopeConstraint(p.resource as Json, `policy \`${id}\` resource`);
  const usesSlot = (c: ScopeConstraint) => (c.op === '==' || c.op === 'in' ? c.entity === 'slot' : c.op === 'is' && c.in === 'slot');
  const tests = [scopeTest(principal, 'principal'), actionTest(action), scopeTest(resource, 'resource')].filter(
    (t): t is (env: Env) => boolean => t !== null,
  );
  let scope: (env: Env) => boolean;
  if (tests.length === 0) scope = () => true;
  else if (tests.length === 1) scope = tests[0]!;
  else if (tests.length === 2) {
    const [a, b] = tests as [(env: Env) => boolean, (env: Env) => boolean];
    scope = (env) => a(env) && b(env);
  } else {
    const [a, b, c] = tests as [(env: Env) => boolean, (env: Env) => boolean, (env: Env) => boolean];
    scope = (env) => a(env) && b(env) && c(env);
  }
  const clauses = ((p.conditions ?? []) as { kind: 'when' | 'unless'; body: unknown }[]).map((c) => ({
    when: c.kind === 'when',
    ev: compileExpr(c.body),
  }));
  let condition: CompiledPolicy['condition'] = null;
  if (clauses.length === 1) {
    const { when, ev } = clauses[0]!;
    condition = (env) => {
      const v = ev(env);
      if (typeof v !== 'boolean') throw new CedarEvalError(`type error: expected bool, got ${typeName(v)}`);
      return when ? v : !v;
    };
  } else if (clauses.length > 1) {
    condition = (env) => {
      for (const { when, ev } of clauses) {
        const v = ev(env);
        if (typeof v !== 'boolean') throw new CedarEvalError(`type error: expected bool, got ${typeName(v)}`);
        if (v !== when) return false;
      }
      return true;
    };
  }
  // the index selects buckets by the request's keys and their ancestors (`in`), types (`is T`) and `*`
  const implied = (c: ScopeConstraint) => c.op === 'All' || c.op === 'in' || (c.op === 'is' && c.in === undefined);
  return {
    id,
    effect: p.effect,
    principal,
    action,
    resource,
    slots: { principal: usesSlot(principal), resource: usesSlot(resource) },
    scope,
    indexImpliesScope: implied(principal) && implied(resource) && (action.op === 'All' || action.op === 'in'),
    condition,
  };
}
