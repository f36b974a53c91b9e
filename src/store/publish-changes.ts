import type { ChangeFeed, ChangeTopic } from './change-feed.js';

/** For a store method: the topic its successful call changes (null: none), from its arguments and result. */
export type ChangeRule = (args: readonly unknown[], result: unknown) => ChangeTopic | null;

/**
 * Wraps a store so the writes that change state some node caches publish their topic
 * on the change feed once they have committed: the one place that says which writes
 * invalidate what, so no use case can forget to. Every other member is the store's own
 * (methods bound to it, so its private fields work).
 *
 * A publish that fails is reported, not thrown: the write has committed, and the other
 * nodes' caches catch up at their next reload (policy and keyring re-read on a miss; see
 * docs/architecture.md#stateless-nodes).
 */
export function publishChanges<T extends object>(store: T, feed: ChangeFeed, rules: { [K in keyof T]?: ChangeRule }, warn: (message: string, detail: Record<string, unknown>) => void): T {
  const table = rules as Record<PropertyKey, ChangeRule | undefined>;
  return new Proxy(store, {
    get(target, prop) {
      const value: unknown = Reflect.get(target, prop, target);
      if (typeof value !== 'function') return value;
      const fn = value as (...args: unknown[]) => unknown;
      const rule = table[prop];
      if (rule === undefined) return fn.bind(target);
      return async (...args: unknown[]) => {
        const result = await fn.apply(target, args);
        const topic = rule(args, result);
        if (topic !== null) {
          await feed.publish(topic).catch((err: unknown) => warn('change could not be published', { topic, message: err instanceof Error ? err.message : String(err) }));
        }
        return result;
      };
    },
  });
}
