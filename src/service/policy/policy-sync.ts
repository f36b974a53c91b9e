import type { SwappableEngine, PolicySetFactory } from '../../policy/index.js';
import type { PolicyStore } from '../../store/policy-store.js';
import type { ChangeFeed } from '../../store/change-feed.js';
import { loadActivePolicy } from './load-active-policy.js';

/** How often a node checks which policy set is active (ms). */
export const POLICY_SYNC_INTERVAL_MS = 1000;

/**
 * Keeps a node on the active policy set: on each `policy` change of the feed (or, with
 * no feed, every `intervalMs`) it reads the last activation (one indexed row) and, when
 * another node applied or rolled back a set (a higher activation number than the one
 * served), loads that set and swaps it in. With PostgreSQL's NOTIFY a change is in
 * force on every node within milliseconds; within the feed's poll period otherwise.
 * Returns a function that stops it (and waits for a check in progress).
 */
export function startPolicySync(
  deps: { policyStore: PolicyStore; engine: SwappableEngine; factory: PolicySetFactory; adminGroupId: string | null },
  options: { intervalMs?: number; changes?: ChangeFeed; warn: (message: string, detail: Record<string, unknown>) => void },
): () => Promise<void> {
  let running: Promise<void> | null = null;
  let stopped = false;
  const check = async () => {
    const current = await deps.policyStore.currentActivation();
    // INVARIANT: activations only move forward; an older read never replaces a newer set
    if (current === null || current.seq <= deps.engine.active.activation) return;
    const next = await loadActivePolicy(deps.policyStore, deps.factory, deps.adminGroupId, current);
    if (stopped || next.activation <= deps.engine.active.activation) return;
    deps.engine.swap(next);
    if (next.failure !== undefined) options.warn('policy set cannot be loaded: serving policy management only', { version: next.version, failure: next.failure });
  };
  // a change that arrives during a check runs another one after it: the check in progress may have read before it
  let again = false;
  const run = (): void => {
    if (stopped) return;
    if (running !== null) {
      again = true;
      return;
    }
    running = check()
      .catch((err: unknown) => options.warn('policy sync failed', { message: err instanceof Error ? err.message : String(err) }))
      .finally(() => {
        running = null;
        if (again) {
          again = false;
          run();
        }
      });
  };
  let stopFeed: () => void = () => undefined;
  let timer: NodeJS.Timeout | null = null;
  if (options.changes !== undefined) {
    stopFeed = options.changes.subscribe('policy', run);
  } else {
    timer = setInterval(run, options.intervalMs ?? POLICY_SYNC_INTERVAL_MS);
    timer.unref();
  }
  return async () => {
    stopped = true;
    stopFeed();
    if (timer !== null) clearInterval(timer);
    await running;
  };
}
