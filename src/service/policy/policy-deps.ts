import type { PolicySetFactory, SwappableEngine } from '../../policy/index.js';
import type { PolicyStore } from '../../store/policy-store.js';

/** What the policy use cases need besides the core ServiceDeps and Gate. */
export interface PolicyDeps {
  policyStore: PolicyStore;
  /** The engine every decision goes through (the runtime's `policy`). */
  engine: SwappableEngine;
  /** Builds engines for the built-in set plus custom policies. */
  factory: PolicySetFactory;
  /** Principal id of the `admins` group the admin templates are linked to. */
  adminGroupId: string | null;
}

/** Audit name of policy management operations. */
export const POLICY_RESOURCE = 'policy';
