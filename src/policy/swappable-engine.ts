import type { AccessRequest, Action, Decision, ListingPlan, PolicyEngine, Subject } from './policy-engine.js';
import type { CompiledEngine } from './compiled-engine.js';
import type { PolicySource } from './load-policy-set.js';

/** The policy set a node serves: its version and its engine. */
export interface ActivePolicy {
  /** Version of the custom set (0 = the built-in set alone). */
  readonly version: number;
  /** Sequence number of the activation that made it active (0 before any). */
  readonly activation: number;
  /** The custom sources (empty for version 0). */
  readonly custom: readonly PolicySource[];
  readonly digest: string;
  /** Serves every decision, or only policy management while `failure` is set. */
  readonly engine: CompiledEngine;
  /**
   * Set when the active version could not be loaded on this node: the node then
   * denies everything but policy management (fail closed, yet recoverable by an
   * administrator applying or rolling back a set). `engine` is the built-in set.
   */
  readonly failure?: string;
}

/** Actions still decided while the active set cannot be loaded, so an admin can repair it. */
const REPAIR_ACTIONS: ReadonlySet<Action> = new Set<Action>(['read-policy', 'manage-policy']);

/**
 * The PolicyEngine the runtime hands out: it delegates to the active policy set's
 * engine, which {@link swap} replaces atomically (the next decision uses the new set;
 * a decision in progress finishes on the old one). JavaScript runs one decision at a
 * time, so no decision ever sees half of a swap.
 */
export class SwappableEngine implements PolicyEngine {
  #active: ActivePolicy;

  constructor(initial: ActivePolicy) {
    this.#active = initial;
  }

  /** The policy set in force. */
  get active(): ActivePolicy {
    return this.#active;
  }

  /** Makes `next` the policy set in force for every following decision. */
  swap(next: ActivePolicy): void {
    this.#active = next;
  }

  authorize(request: AccessRequest): Decision {
    const active = this.#active;
    if (active.failure !== undefined && !REPAIR_ACTIONS.has(request.action)) {
      // INVARIANT: a node that cannot load the active set never serves an older one
      return { allowed: false, determining: [], errors: [`policy: ${active.failure}`] };
    }
    return active.engine.authorize(request);
  }

  listingPlan(subject: Subject, action: Action, nowMs: number): ListingPlan {
    const active = this.#active;
    // nothing is allowed while the set cannot be loaded
    if (active.failure !== undefined && !REPAIR_ACTIONS.has(action)) return { unbounded: false, projectIds: new Set(), artifactIds: new Set(), versionIds: new Set() };
    return active.engine.listingPlan(subject, action, nowMs);
  }
}
