/**
 * A policy set compiled to closures, with Cedar's authorization semantics: a request
 * is allowed iff some permit is satisfied and no forbid is; a policy whose evaluation
 * errors is skipped and reported (exactly as the official engine does; the decision
 * points on top deny whenever anything errored). Static policies and persistent
 * template links are indexed; per-request links are evaluated beside them.
 */
import { CompileError, type Env } from './compile-expr.js';
import { compilePolicy, type CompiledPolicy } from './compile-policy.js';
import { PolicyIndex, type PolicyInstance } from './policy-index.js';
import { CedarEvalError, type EntityUid } from './values.js';

/** A policy or template in Cedar's JSON policy form. */
export interface PolicyJsonEntry {
  id: string;
  kind: 'policy' | 'template';
  json: unknown;
}

/** Slot values of a template link. */
export interface LinkSlots {
  principal?: EntityUid;
  resource?: EntityUid;
}

/** Cedar's answer: decision, determining policies (reasons) and erroring policies. */
export interface AuthorizationResult {
  decision: 'allow' | 'deny';
  /** Sorted ids of the satisfied forbids (deny) or permits (allow). */
  reasons: string[];
  /** Policies that errored, sorted by id. */
  errors: { policyId: string; message: string }[];
}

const NO_EXTRA: readonly PolicyInstance[] = Object.freeze([]);
// shared by every decision without errors: frozen, so nobody can fill it
const NO_ERRORS = Object.freeze([]) as unknown as { policyId: string; message: string }[];

/** A compiled, indexed policy set. */
export class CompiledPolicySet {
  private readonly templates = new Map<string, CompiledPolicy>();
  private readonly instances = new Map<string, PolicyInstance>();
  private readonly index = new PolicyIndex();
  /** Reused candidate list (empty between calls). */
  private readonly scratch: PolicyInstance[] = [];

  /** Compiles the entries. Throws CompileError for a form it does not know. */
  constructor(entries: readonly PolicyJsonEntry[]) {
    for (const e of entries) {
      if (this.templates.has(e.id) || this.instances.has(e.id)) throw new CompileError(`policy id \`${e.id}\` is used twice`);
      const compiled = compilePolicy(e.id, e.json);
      if (e.kind === 'template') this.templates.set(e.id, compiled);
      else this.add({ id: e.id, policy: compiled, slotPrincipal: undefined, slotResource: undefined });
    }
  }

  /** Number of indexed policies and links. */
  get size(): number {
    return this.index.size;
  }

  /** The static policies and persistent links of the set (for analyses such as listing plans). */
  instanceList(): PolicyInstance[] {
    return [...this.instances.values()];
  }

  /** A compiled template by id. */
  template(id: string): CompiledPolicy | undefined {
    return this.templates.get(id);
  }

  /** True if a template of that id exists. */
  hasTemplate(id: string): boolean {
    return this.templates.has(id);
  }

  /** A link of a template, not added to the set (for per-request links). Throws CompileError. */
  instantiate(templateId: string, linkId: string, slots: LinkSlots): PolicyInstance {
    const t = this.templates.get(templateId);
    if (t === undefined) throw new CompileError(`no template \`${templateId}\``);
    if (t.slots.principal !== (slots.principal !== undefined) || t.slots.resource !== (slots.resource !== undefined)) {
      throw new CompileError(`link \`${linkId}\` does not fill exactly the slots of template \`${templateId}\``);
    }
    return { id: linkId, policy: t, slotPrincipal: slots.principal, slotResource: slots.resource };
  }

  /** Links a template persistently (indexed). Throws CompileError if the id is taken. */
  link(templateId: string, linkId: string, slots: LinkSlots): void {
    if (this.instances.has(linkId) || this.templates.has(linkId)) throw new CompileError(`policy id \`${linkId}\` is used twice`);
    this.add(this.instantiate(templateId, linkId, slots));
  }

  /** Removes a persistent link or a static policy. */
  unlink(id: string): boolean {
    const instance = this.instances.get(id);
    if (instance === undefined) return false;
    this.instances.delete(id);
    this.index.remove(instance);
    return true;
  }

  /**
   * Authorizes the request of `env` against the set and `extra` (per-request links).
   * `env.slotPrincipal`/`slotResource` are overwritten.
   */
  authorize(env: Env, extra: readonly PolicyInstance[] = NO_EXTRA): AuthorizationResult {
    const candidates = this.scratch.length === 0 ? this.scratch : [];
    this.index.collect(env, env.entities, candidates);
    // INVARIANT: only instances the index collected may skip their scope test
    const indexed = candidates.length;
    for (let i = 0; i < extra.length; i++) candidates.push(extra[i]!);
    let permits: string[] | undefined;
    let forbids: string[] | undefined;
    let errors: { policyId: string; message: string }[] | undefined;
    for (let i = 0; i < candidates.length; i++) {
      const instance = candidates[i]!;
      const policy = instance.policy;
      env.slotPrincipal = instance.slotPrincipal;
      env.slotResource = instance.slotResource;
      if ((i >= indexed || !policy.indexImpliesScope) && !policy.scope(env)) continue;
      if (policy.condition !== null) {
        try {
          if (!policy.condition(env)) continue;
        } catch (err) {
          if (!(err instanceof CedarEvalError)) {
            candidates.length = 0;
            throw err;
          }
          (errors ??= []).push({ policyId: instance.id, message: err.message });
          continue;
        }
      }
      if (policy.effect === 'permit') (permits ??= []).push(instance.id);
      else (forbids ??= []).push(instance.id);
    }
    candidates.length = 0;
    env.slotPrincipal = undefined;
    env.slotResource = undefined;
    const errs = errors === undefined ? NO_ERRORS : errors.sort((a, b) => (a.policyId < b.policyId ? -1 : a.policyId > b.policyId ? 1 : 0));
    if (forbids !== undefined) return { decision: 'deny', reasons: forbids.length > 1 ? forbids.sort() : forbids, errors: errs };
    if (permits !== undefined) return { decision: 'allow', reasons: permits.length > 1 ? permits.sort() : permits, errors: errs };
    return { decision: 'deny', reasons: [], errors: errs };
  }

  /**
   * Every satisfied permit and forbid and every error, whatever the decision (for
   * explanations; {@link authorize} is the decision).
   */
  evaluateAll(env: Env, extra: readonly PolicyInstance[] = []): { permits: string[]; forbids: string[]; errors: { policyId: string; message: string }[] } {
    const candidates: PolicyInstance[] = [];
    this.index.collect(env, env.entities, candidates);
    candidates.push(...extra);
    const out = { permits: [] as string[], forbids: [] as string[], errors: [] as { policyId: string; message: string }[] };
    try {
      for (const instance of candidates) {
        env.slotPrincipal = instance.slotPrincipal;
        env.slotResource = instance.slotResource;
        if (!instance.policy.scope(env)) continue;
        try {
          if (instance.policy.condition !== null && !instance.policy.condition(env)) continue;
        } catch (err) {
          if (!(err instanceof CedarEvalError)) throw err;
          out.errors.push({ policyId: instance.id, message: err.message });
          continue;
        }
        (instance.policy.effect === 'permit' ? out.permits : out.forbids).push(instance.id);
      }
    } finally {
      env.slotPrincipal = undefined;
      env.slotResource = undefined;
    }
    out.permits.sort();
    out.forbids.sort();
    return out;
  }

  private add(instance: PolicyInstance): void {
    this.instances.set(instance.id, instance);
    this.index.add(instance);
  }
}
