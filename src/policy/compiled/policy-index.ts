/**
 * Policies indexed by action, principal and resource scope, so a decision only looks at
 * policies whose scope can match: the request's principal and resource, each with its
 * ancestors, select the buckets; policies without a constraint sit in `*`. Within a
 * bucket, the policies of the request's action (with its action groups and `*`) are
 * merged once per action and cached, so a request costs one lookup per bucket.
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
}

/** The policies merged for one action: valid while `ancestors` is the action's ancestor list. */
interface Merged {
  ancestors: readonly string[];
  list: readonly PolicyInstance[];
}

/** The policies of one (principal key, resource key), by action key, with merged lists per request action. */
class Bucket {
  readonly byAction = new Map<string, PolicyInstance[]>();
  private merged = new Map<string, Merged>();

  add(action: string, instance: PolicyInstance): void {
    const list = this.byAction.get(action);
    if (list === undefined) this.byAction.set(action, [instance]);
    else if (!list.includes(instance)) list.push(instance);
    this.merged = new Map();
  }

  remove(instance: PolicyInstance): void {
    for (const [a, list] of this.byAction) {
      const i = list.indexOf(instance);
      if (i < 0) continue;
      list.splice(i, 1);
      if (list.length === 0) this.byAction.delete(a);
    }
    this.merged = new Map();
  }

  /**
   * The policies of `action` (key), its ancestors and `*`, each once.
   * INVARIANT: a cached merge is used only for the very ancestor list it was built from
   * (the entity store keeps one list per action), else it is rebuilt.
   */
  forAction(action: string, ancestors: readonly string[]): readonly PolicyInstance[] {
    const hit = this.merged.get(action);
    if (hit !== undefined && (hit.ancestors === ancestors || sameList(hit.ancestors, ancestors))) return hit.list;
    const out: PolicyInstance[] = [];
    const take = (list: PolicyInstance[] | undefined) => {
      if (list !== undefined) for (const x of list) if (!out.includes(x)) out.push(x);
    };
    take(this.byAction.get(action));
    for (const a of ancestors) take(this.byAction.get(a));
    take(this.byAction.get(ANY));
    this.merged.set(action, { ancestors, list: out });
    return out;
  }
}

/** The buckets of one resource key in a principal's view, with their policies merged per action. */
class ViewEntry {
  readonly buckets: Bucket[] = [];
  private readonly merged = new Map<string, Merged>();

  /** The policies of every bucket for `action` (see Bucket.forAction); valid for the view's lifetime. */
  forAction(action: string, ancestors: readonly string[]): readonly PolicyInstance[] {
    const hit = this.merged.get(action);
    if (hit !== undefined && (hit.ancestors === ancestors || sameList(hit.ancestors, ancestors))) return hit.list;
    const list = this.buckets.length === 1 ? this.buckets[0]!.forAction(action, ancestors) : this.buckets.flatMap((b) => b.forAction(action, ancestors));
    this.merged.set(action, { ancestors, list });
    return list;
  }
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

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

function push(list: readonly PolicyInstance[], out: PolicyInstance[]): void {
  for (let i = 0; i < list.length; i++) out.push(list[i]!);
}

/** The buckets a principal reaches (its own, its ancestors', its type's, `*`), by resource key. */
interface PrincipalView {
  gen: number;
  ancestors: readonly string[];
  /** The entities the ancestors were read from and their version (see EntityLookup.version). */
  source: EntityLookup;
  sourceVersion: number | undefined;
  byResource: Map<string, ViewEntry>;
}

/** Principal views kept at most (then the cache starts over). */
const MAX_VIEWS = 65536;

/**
 * The policy index: principal key -> resource key -> bucket (by action). A request's
 * principal, ancestors and type always select the same buckets, so they are merged
 * once per principal into a view (by resource key) and cached until the index or the
 * principal's ancestors change: a request then costs one view lookup and one lookup per
 * resource key, whatever the number of groups.
 */
export class PolicyIndex {
  private readonly byPrincipal = new Map<string, Map<string, Bucket>>();
  private readonly views = new Map<string, PrincipalView>();
  private gen = 0;
  private count = 0;

  get size(): number {
    return this.count;
  }

  /** Adds an instance. */
  add(instance: PolicyInstance): void {
    const [p, r, actions] = this.keysOf(instance);
    let byR = this.byPrincipal.get(p);
    if (byR === undefined) this.byPrincipal.set(p, (byR = new Map<string, Bucket>()));
    let bucket = byR.get(r);
    if (bucket === undefined) byR.set(r, (bucket = new Bucket()));
    for (const a of actions) bucket.add(a, instance);
    this.count++;
    this.gen++;
  }

  /** Removes an instance (by identity). */
  remove(instance: PolicyInstance): void {
    const [p, r] = this.keysOf(instance);
    const byR = this.byPrincipal.get(p);
    const bucket = byR?.get(r);
    if (bucket === undefined) return;
    const had = [...bucket.byAction.values()].some((l) => l.includes(instance));
    bucket.remove(instance);
    if (had) this.count--;
    if (bucket.byAction.size === 0) {
      byR!.delete(r);
      if (byR!.size === 0) this.byPrincipal.delete(p);
    }
    this.gen++;
  }

  /**
   * Appends to `out` every instance whose scope could match the request of `env`, once:
   * the buckets of the principal, each of its ancestors, its type and `*`, crossed
   * with those of the resource, each of its ancestors, its type and `*`; in each, the
   * policies of the action (merged, cached).
   * INVARIANT: every instance whose scope matches is collected (the index only prunes);
   * an instance sits in one bucket, and the principal and resource keys of a request are
   * distinct, so none is collected twice.
   */
  collect(env: Env, entities: EntityLookup, out: PolicyInstance[]): void {
    const { principal, resource, action } = env;
    let view = this.views.get(principal.key);
    // a view is valid for the same index and the same ancestors of the principal
    const version = entities.version;
    if (view === undefined || view.gen !== this.gen || version === undefined || view.source !== entities || view.sourceVersion !== version) {
      const pAnc = entities.ancestorList(principal.key);
      if (view === undefined || view.gen !== this.gen || (view.ancestors !== pAnc && !sameList(view.ancestors, pAnc))) view = this.viewOf(principal, pAnc, entities);
      else {
        view.source = entities;
        view.sourceVersion = version;
      }
    }
    const byResource = view.byResource;
    if (byResource.size === 0) return;
    const rAnc = entities.ancestorList(resource.key);
    const aAnc = entities.ancestorList(action.key);
    const aKey = action.key;
    let e = byResource.get(resource.key);
    if (e !== undefined) push(e.forAction(aKey, aAnc), out);
    for (let i = 0; i < rAnc.length; i++) {
      e = byResource.get(rAnc[i]!);
      if (e !== undefined) push(e.forAction(aKey, aAnc), out);
    }
    e = byResource.get(resource.isKey);
    if (e !== undefined) push(e.forAction(aKey, aAnc), out);
    e = byResource.get(ANY);
    if (e !== undefined) push(e.forAction(aKey, aAnc), out);
  }

  private viewOf(principal: EntityUid, ancestors: readonly string[], source: EntityLookup): PrincipalView {
    const byResource = new Map<string, ViewEntry>();
    for (const p of [principal.key, ...ancestors, principal.isKey, ANY]) {
      const byR = this.byPrincipal.get(p);
      if (byR === undefined) continue;
      for (const [r, bucket] of byR) {
        let entry = byResource.get(r);
        if (entry === undefined) byResource.set(r, (entry = new ViewEntry()));
        entry.buckets.push(bucket);
      }
    }
    if (this.views.size >= MAX_VIEWS) this.views.clear();
    const view: PrincipalView = { gen: this.gen, ancestors, source, sourceVersion: source.version, byResource };
    this.views.set(principal.key, view);
    return view;
  }

  private keysOf(instance: PolicyInstance): [string, string, string[]] {
    const { policy } = instance;
    const p = scopeKey(policy.principal, instance.slotPrincipal);
    const r = scopeKey(policy.resource, instance.slotResource);
    const actions = policy.action.op === 'All' ? [ANY] : policy.action.op === '==' ? [policy.action.entity.key] : [...new Set(policy.action.entities.map((e) => e.key))];
    return [p, r, actions];
  }
}
