/**
 * Policies indexed by action, principal and resource scope, so a decision only looks at
 * policies whose scope can match: the request's action, principal and resource, each
 * with its ancestors, select the buckets. Policies without a constraint sit in `*`.
 */
import type { Env } from './compile-expr.js';
import type { CompiledPolicy, ScopeConstraint } from './compile-policy.js';
import type { EntityUid } from './values.js';

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

/** Ancestors of an entity, as the index needs them. */
export type AncestorsOf = (uid: EntityUid) => Iterable<string>;

/** The policy index. */
export class PolicyIndex {
  private readonly byAction = new Map<string, Bucket>();
  private round = 0;
  private count = 0;

  get size(): number {
    return this.count;
  }

  /** Adds an instance. */
  add(instance: PolicyInstance): void {
    for (const [a, p, r] of this.keysOf(instance)) {
      let byP = this.byAction.get(a);
      if (byP === undefined) this.byAction.set(a, (byP = new Map()));
      let byR = byP.get(p);
      if (byR === undefined) byP.set(p, (byR = new Map()));
      const list = byR.get(r);
      if (list === undefined) byR.set(r, [instance]);
      else list.push(instance);
    }
    this.count++;
  }

  /** Removes an instance (by identity). */
  remove(instance: PolicyInstance): void {
    let removed = false;
    for (const [a, p, r] of this.keysOf(instance)) {
      const byP = this.byAction.get(a);
      const byR = byP?.get(p);
      const list = byR?.get(r);
      if (list === undefined) continue;
      const i = list.indexOf(instance);
      if (i >= 0) {
        list.splice(i, 1);
        removed = true;
      }
      if (list.length === 0) {
        byR!.delete(r);
        if (byR!.size === 0) {
          byP!.delete(p);
          if (byP!.size === 0) this.byAction.delete(a);
        }
      }
    }
    if (removed) this.count--;
  }

  /**
   * Calls `visit` once for every instance whose scope could match the request of `env`.
   * INVARIANT: every instance whose scope matches is visited (the index only prunes).
   */
  collect(env: Env, ancestors: AncestorsOf, visit: (instance: PolicyInstance) => void): void {
    const round = ++this.round;
    const aKeys = [env.action.key, ...ancestors(env.action), ANY];
    let pKeys: string[] | undefined;
    let rKeys: string[] | undefined;
    for (const a of aKeys) {
      const byP = this.byAction.get(a);
      if (byP === undefined) continue;
      pKeys ??= [env.principal.key, ...ancestors(env.principal), `is:${env.principal.type}`, ANY];
      for (const p of pKeys) {
        const byR = byP.get(p);
        if (byR === undefined) continue;
        rKeys ??= [env.resource.key, ...ancestors(env.resource), `is:${env.resource.type}`, ANY];
        for (const r of rKeys) {
          const list = byR.get(r);
          if (list === undefined) continue;
          for (const instance of list) {
            if (instance.mark === round) continue;
            instance.mark = round;
            visit(instance);
          }
        }
      }
    }
  }

  private keysOf(instance: PolicyInstance): [string, string, string][] {
    const { policy } = instance;
    const p = scopeKey(policy.principal, instance.slotPrincipal);
    const r = scopeKey(policy.resource, instance.slotResource);
    const actions = policy.action.op === 'All' ? [ANY] : policy.action.op === '==' ? [policy.action.entity.key] : [...new Set(policy.action.entities.map((e) => e.key))];
    return actions.map((a) => [a, p, r]);
  }
}
