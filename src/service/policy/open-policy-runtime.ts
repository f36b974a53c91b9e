import { PolicySetFactory, SwappableEngine, type PolicySettings } from '../../policy/index.js';
import type { PolicyStore } from '../../store/policy-store.js';
import type { ChangeFeed } from '../../store/change-feed.js';
import { loadActivePolicy } from './load-active-policy.js';
import type { PolicyDeps } from './policy-deps.js';
import { startPolicySync } from './policy-sync.js';

/** The policy decision point of a node and what policy management needs. */
export interface PolicyRuntime {
  /** The engine to serve with (ServiceDeps.policy). */
  engine: SwappableEngine;
  deps: PolicyDeps;
  /** Starts following activations made on other nodes (on the feed's `policy` changes, else polled); returns the function that stops it. */
  startSync: (changes?: ChangeFeed) => () => Promise<void>;
}

/**
 * Opens the policy decision point: builds the factory from the settings (time zone,
 * trusted networks; a bad value fails the start with ConfigInvalidError), loads the
 * active policy set from the store (the built-in set if none was ever applied).
 * `startSync()` then follows activations made on other nodes (every `syncIntervalMs`, 1 s).
 */
export async function openPolicyRuntime(input: {
  policyStore: PolicyStore;
  settings: PolicySettings;
  adminGroupId: string | null;
  warn: (message: string, detail: Record<string, unknown>) => void;
  syncIntervalMs?: number;
}): Promise<PolicyRuntime> {
  const factory = new PolicySetFactory(input.settings);
  const active = await loadActivePolicy(input.policyStore, factory, input.adminGroupId, await input.policyStore.currentActivation());
  if (active.failure !== undefined) input.warn('policy set cannot be loaded: serving policy management only', { version: active.version, failure: active.failure });
  const engine = new SwappableEngine(active);
  const deps: PolicyDeps = { policyStore: input.policyStore, engine, factory, adminGroupId: input.adminGroupId };
  const startSync = (changes?: ChangeFeed) => startPolicySync(deps, { warn: input.warn, ...(changes !== undefined ? { changes } : {}), ...(input.syncIntervalMs !== undefined ? { intervalMs: input.syncIntervalMs } : {}) });
  return { engine, deps, startSync };
}
