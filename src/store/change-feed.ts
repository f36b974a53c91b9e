/**
 * What a node caches and another node can change. Each topic names one kind of shared
 * state some node keeps in memory:
 * - `policy`: the active policy set (compiled engine);
 * - `locks`: principals locked or disabled (downloads in flight on every node are cut);
 * - `keyring`: KEK terms added or retired, the keyring key rewrapped;
 * - `identity-keys`: the token signing key rotated.
 * Grants, subjects (principals, groups, memberships), sessions and token revocations are
 * read from the database on every request, so no node holds them and their changes need
 * no topic: a revocation committed on one node denies the next request on every node.
 */
export type ChangeTopic = 'policy' | 'locks' | 'keyring' | 'identity-keys';

/** Every topic, in a fixed order. */
export const CHANGE_TOPICS: readonly ChangeTopic[] = ['policy', 'locks', 'keyring', 'identity-keys'];

/** Called when a topic changed (on this node or another); `version` only grows. */
export type ChangeListener = (topic: ChangeTopic, version: number) => void;

/**
 * The invalidation port: a node publishes after it committed a change to shared state,
 * and every node (itself included) tells the subscribers of that topic, so each cache
 * reloads what it holds. Delivery is at least once and may coalesce several changes
 * into one call: a subscriber reloads the current state, it never applies a delta.
 *
 * INVARIANT: publish is called only after the change is committed, so a subscriber that
 * reloads on the call sees the change.
 */
export interface ChangeFeed {
  /** Records a change of `topic` and tells every node. Rejects if the store cannot record it. */
  publish(topic: ChangeTopic): Promise<void>;
  /** Calls `listener` on every later change of `topic`; returns the function that stops it. */
  subscribe(topic: ChangeTopic, listener: ChangeListener): () => void;
  /** Starts receiving changes of other nodes (reads the current versions first). */
  start(): Promise<void>;
  /** Stops receiving; publish still records. */
  close(): Promise<void>;
}
