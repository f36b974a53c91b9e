/**
 * Policies indexed by action, principal and resource scope, so a decision only looks at
 * policies whose scope can match: the request's action, principal and resource, each
 * with its ancestors, select the buckets. Policies without a constraint sit in `*`.
 */
import type { Env } from './compile-expr.js';
import type { CompiledPolicy, ScopeConstraint } from './compile-policy.js';
import type { EntityUid } from './values.js';
import type { EntityLookup } from './entity-store.js';

/** A policy, or a template linked to slot values: what is evaluated. */
export interface PolicyInstance {
  /** Policy id (for a link, the link id). */
  readonly id: string;
  readonly policy: CompiledPolicy;
  readonly slotPrincipal: EntityUid | undefined;
  readonly slotResource: EntityUid | undefined;
  /** Round in which the instance was last collected (dedup within one lookup). */
  mark: number;
}

type Bucket = Map<string, Map<string, PolicyInstance[]>>;

const ANY = '*';

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

function collectR(byR: Bucket, resource: EntityUid, rAnc: readonly string[], action: EntityUid, aAnc: readonly string[], round: number, out: PolicyInstance[]): void {
  let byA = byR.get(resource.key);
  if (byA !== undefined) collectA(byA, action, aAnc, round, out);
  for (let i = 0; i < rAnc.length; i++) {
    byA = byR.get(rAnc[i]!);
    if (byA !== undefined) collectA(byA, action, aAnc, round, out);
  }
  byA = byR.get(resource.isKey);
  if (byA !== undefined) collectA(byA, action, aAnc, round, out);
  byA = byR.get(ANY);
  if (byA !== undefined) collectA(byA, action, aAnc, round, out);
}

function collectA(byA: Map<string, PolicyInstance[]>, action: EntityUid, aAnc: readonly string[], round: number, out: PolicyInstance[]): void {
  push(byA.get(action.key), round, out);
  for (let i = 0; i < aAnc.length; i++) push(byA.get(aAnc[i]!), round, out);
  push(byA.get(ANY), round, out);
}

function push(list: PolicyInstance[] | undefined, round: number, out: PolicyInstance[]): void {
  if (list === undefined) return;
  for (const instance of list) {
    if (instance.mark === round) continue;
    instance.mark = round;
    out.push(instance);
  }
}

/** The policy index: principal key -> resource key -> action key -> instances. */
export class PolicyIndex {
  private readonly byPrincipal = new Map<string, Bucket>();
  private round = 0;
  private count = 0;

  get size(): number {
    return this.count;
  }

  /** Adds an instance. */
  add(instance: PolicyInstance): void {
    for (const [p, r, a] of this.keysOf(instance)) {
      let byR = this.byPrincipal.get(p);
      if (byR === undefined) this.byPrincipal.set(p, (byR = new Map<string, Map<string, PolicyInstance[]>>()));
      let byA = byR.get(r);
      if (byA === undefined) byR.set(r, (byA = new Map<string, PolicyInstance[]>()));
      const list = byA.get(a);
      if (list === undefined) byA.set(a, [instance]);
      else list.push(instance);
    }
    this.count++;
  }

  /** Removes an instance (by identity). */
  remove(instance: PolicyInstance): void {
    let removed = false;
    for (const [p, r, a] of this.keysOf(instance)) {
      const byR = this.byPrincipal.get(p);
      const byA = byR?.get(r);
      const list = byA?.get(a);
      if (list === undefined) continue;
      const i = list.indexOf(instance);
      if (i >= 0) {
        list.splice(i, 1);
        removed = true;
      }
      if (list.length === 0) {
        byA!.delete(a);
        if (byA!.size === 0) {
          byR!.delete(r);
          if (byR!.size === 0) this.byPrincipal.delete(p);
        }
      }
    }
    if (removed) this.count--;
  }

  /**
   * Appends to `out` every instance whose scope could match the request of `env`, once:
   * the buckets of the principal, each of its ancestors, its type and `*`, then the
   * same for the resource and the action.
   * INVARIANT: every instance whose scope matches is collected (the index only prunes).
   */
  collect(env: Env, entities: EntityLookup, out: PolicyInstance[]): void {
    const round = ++this.round;
    const { principal, resource, action } = env;
    const byPrincipal = this.byPrincipal;
    // Ancestor lists are looked up once per request (the store is large: lookups miss the cache).
    const rAnc = entities.ancestorList(resource.key);
    const aAnc = entities.ancestorList(action.key);
    let byR = byPrincipal.get(principal.key);
    if (byR !== undefined) collectR(byR, resource, rAnc, action, aAnc, round, out);
    const pAnc = entities.ancestorList(principal.key);
    for (let i = 0; i < pAnc.length; i++) {
      byR = byPrincipal.get(pAnc[i]!);
      if (byR !== undefined) collectR(byR, resource, rAnc, action, aAnc, round, out);
    }
    byR = byPrincipal.get(principal.isKey);
    if (byR !== undefined) collectR(byR, resource, rAnc, action, aAnc, round, out);
    byR = byPrincipal.get(ANY);
    if (byR !== undefined) collectR(byR, resource, rAnc, action, aAnc, round, out);
  }

  private keysOf(instance: PolicyInstance): [string, string, string][] {
    const { policy } = instance;
    const p = scopeKey(policy.principal, instance.slotPrincipal);
    const r = scopeKey(policy.resource, instance.slotResource);
    const actions = policy.action.op === 'All' ? [ANY] : policy.action.op === '==' ? [policy.action.entity.key] : [...new Set(policy.action.entities.map((e) => e.key))];
    return actions.map((a) => [p, r, a]);
  }
}
