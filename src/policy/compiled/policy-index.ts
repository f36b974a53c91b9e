/**
 * Policies indexed by action, resource and principal scope, so a decision only looks at
 * policies whose scope can match.
 *
 * For each action a request names, the index keeps (built on first use, then updated
 * in place) the policies whose action scope can match it (the action itself, its action
 * groups, or any action), by resource key and then by principal key. A decision looks
 * up its resource, each of the resource's ancestors, its type and `*`; for each hit, its
 * principal, the principal's ancestors, its type and `*`; each hit is a ready list.
 *
 * Why this shape: a decision over a large entity store is bound by cache misses, not by
 * instructions. The structure holds each policy once per action it applies to, so it
 * stays small enough to sit in the CPU caches, and a decision touches a few small maps.
 * Resources come first because most resource keys of a request (a version, an artifact)
 * have no policy at all, so most probes end at the first level. (An earlier design
 * merged buckets per principal: memory grew with the number of principals and every
 * decision was a cache miss.)
 */
import type { Env } from './compile-expr.js';
import type { CompiledPolicy, ScopeConstraint } from './compile-policy.js';
import { internKey, type EntityUid } from './values.js';
import type { EntityLookup } from './entity-store.js';

/** A policy, or a template linked to slot values: what is evaluated. */
export interface PolicyInstance {
  /** Policy id (for a link, the link id). */
  readonly id: string;
  readonly policy: CompiledPolicy;
  readonly slotPrincipal: EntityUid | undefined;
  readonly slotResource: EntityUid | undefined;
}

/** Index keys of an instance: principal key, resource key, action keys. */
interface Keys {
  readonly principal: string;
  readonly resource: string;
  readonly actions: readonly string[];
}

/**
 * The policies that may apply to one action: resource key -> principal key -> list.
 * Valid while `ancestors` is the action's ancestor list (the entity store keeps one
 * list per action, so this is one comparison of references).
 */
interface ActionIndex {
  readonly ancestors: readonly string[];
  /** The action key, its ancestors and `*`: an instance belongs here if one of its action keys is in it. */
  readonly matching: ReadonlySet<string>;
  readonly byResource: Map<string, Map<string, PolicyInstance[]>>;
}

const ANY = '*';

/** Action indexes kept at most (actions are few; then the cache starts over). */
const MAX_ACTIONS = 1024;

function scopeKey(c: ScopeConstraint, slot: EntityUid | undefined): string {
  switch (c.op) {
    case 'All':
      return ANY;
    case '==':
    case 'in':
      return c.entity === 'slot' ? slot!.key : c.entity.key;
    case 'is':
      if (c.in === undefined) return `is:${c.type}`;
      return c.in === 'slot' ? slot!.key : c.in.key;
  }
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function insert(ai: ActionIndex, keys: Keys, instance: PolicyInstance): void {
  if (!keys.actions.some((a) => ai.matching.has(a))) return;
  let byP = ai.byResource.get(keys.resource);
  if (byP === undefined) ai.byResource.set(keys.resource, (byP = new Map<string, PolicyInstance[]>()));
  const list = byP.get(keys.principal);
  if (list === undefined) byP.set(keys.principal, [instance]);
  else list.push(instance);
}

function drop(ai: ActionIndex, keys: Keys, instance: PolicyInstance): void {
  const byP = ai.byResource.get(keys.resource);
  const list = byP?.get(keys.principal);
  if (list === undefined) return;
  const i = list.indexOf(instance);
  if (i < 0) return;
  list.splice(i, 1);
  if (list.length > 0) return;
  byP!.delete(keys.principal);
  if (byP!.size === 0) ai.byResource.delete(keys.resource);
}

/** See the module comment. */
export class PolicyIndex {
  private readonly entries = new Map<PolicyInstance, Keys>();
  private readonly byAction = new Map<string, ActionIndex>();

  get size(): number {
    return this.entries.size;
  }

  /** Adds an instance (once). */
  add(instance: PolicyInstance): void {
    if (this.entries.has(instance)) return;
    const keys = this.keysOf(instance);
    this.entries.set(instance, keys);
    for (const ai of this.byAction.values()) insert(ai, keys, instance);
  }

  /** Removes an instance (by identity). */
  remove(instance: PolicyInstance): void {
    const keys = this.entries.get(instance);
    if (keys === undefined) return;
    this.entries.delete(instance);
    for (const ai of this.byAction.values()) drop(ai, keys, instance);
  }

  /**
   * Appends to `out` every instance whose scope could match the request of `env`, once:
   * for the request's action, the lists of the resource, each of its ancestors, its type
   * and `*`, crossed with the principal, each of its ancestors, its type and `*`.
   * INVARIANT: every instance whose scope matches is collected (the index only prunes);
   * an instance sits in one list per action index, and the principal and resource keys
   * of a request are distinct, so none is collected twice.
   */
  collect(env: Env, entities: EntityLookup, out: PolicyInstance[]): void {
    const { principal, resource, action } = env;
    const aAnc = entities.ancestorList(action);
    let ai = this.byAction.get(action.key);
    if (ai === undefined || (ai.ancestors !== aAnc && !sameList(ai.ancestors, aAnc))) ai = this.build(action.key, aAnc);
    const byResource = ai.byResource;
    const rAnc = entities.ancestorList(resource);
    let pAnc: readonly string[] | undefined;
    for (let i = -1; i <= rAnc.length + 1; i++) {
      const byP = byResource.get(i < 0 ? resource.key : i < rAnc.length ? rAnc[i]! : i === rAnc.length ? resource.isKey : ANY);
      if (byP === undefined) continue;
      pAnc ??= entities.ancestorList(principal);
      for (let j = -1; j <= pAnc.length + 1; j++) {
        const list = byP.get(j < 0 ? principal.key : j < pAnc.length ? pAnc[j]! : j === pAnc.length ? principal.isKey : ANY);
        if (list !== undefined) for (let k = 0; k < list.length; k++) out.push(list[k]!);
      }
    }
  }

  private build(action: string, ancestors: readonly string[]): ActionIndex {
    const ai: ActionIndex = { ancestors, matching: new Set([action, ...ancestors, ANY]), byResource: new Map() };
    for (const [instance, keys] of this.entries) insert(ai, keys, instance);
    if (this.byAction.size >= MAX_ACTIONS) this.byAction.clear();
    this.byAction.set(internKey(action), ai);
    return ai;
  }

  private keysOf(instance: PolicyInstance): Keys {
    const { policy } = instance;
    return {
      principal: internKey(scopeKey(policy.principal, instance.slotPrincipal)),
      resource: internKey(scopeKey(policy.resource, instance.slotResource)),
      actions: policy.action.op === 'All' ? [ANY] : policy.action.op === '==' ? [policy.action.entity.key] : [...new Set(policy.action.entities.map((e) => e.key))],
    };
  }
}
