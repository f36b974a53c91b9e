import { randomBytes } from 'node:crypto';
import { ConflictError, CofferError, DecryptionFailedError, KeyringError, ValidationError } from '../domain/errors.js';
import { readWrappedKeyInfo, unwrapDataKey, wrapDataKey } from './data-key.js';
import { deriveKeyringKey, sealKeyring, unsealKeyring, type KeyringState } from './keyring-codec.js';

/**
 * Where the sealed keyring is kept (the lead wires it to MetadataStore settings).
 *
 * TRUST: the store only ever holds the keyring sealed by the root key; it may lose or
 * alter it, which makes the keyring fail to open (KeyringError), never leak.
 */
export interface KeyringStore {
  /** The sealed keyring, or null if none was ever saved. */
  load(): Promise<Uint8Array | null>;
  /**
   * Compare-and-set: stores `sealed` only if the stored value is still exactly
   * `previous` (null = only if absent). Returns false when that precondition fails,
   * so two processes never clobber each other's changes.
   */
  save(sealed: Uint8Array, previous: Uint8Array | null): Promise<boolean>;
}

/** Public facts about a KEK term (never the key). */
export interface KeyTermInfo {
  term: number;
  /** Milliseconds since the epoch. */
  createdAt: number;
  /** A retired term's KEK is destroyed: data keys still wrapped under it are unrecoverable. */
  retired: boolean;
}

/** Options of {@link Keyring.open}. */
export interface KeyringOpenOptions {
  /** The 32-byte root key from a KeyProvider. Only a derived key is kept. */
  rootKey: Uint8Array;
  store: KeyringStore;
  /** Clock for term creation times (tests). */
  now?: () => number;
}

const MAX_CAS_ATTEMPTS = 5;

/**
 * The keyring: numbered KEK terms (1, 2, ...), the newest being current. New data keys
 * are wrapped under the current term; older active terms still unwrap until retired.
 * KEKs never leave this class: callers wrap and unwrap through it.
 *
 * Several processes may share one stored keyring: changes are compare-and-set, and
 * {@link Keyring.refresh} picks up terms added elsewhere (the vault refreshes when it
 * meets an unknown term). Until then an instance keeps wrapping under the term it
 * knows as current; the next rewrap pass catches those keys.
 */
export class Keyring {
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly sealingKey: Buffer,
    private readonly store: KeyringStore,
    private state: KeyringState,
    private sealed: Uint8Array,
    private readonly now: () => number,
  ) {}

  /**
   * Opens the stored keyring, or creates one with term 1 on first start. Rejects with
   * KeyringError if the stored keyring does not open with this root key.
   */
  static async open(options: KeyringOpenOptions): Promise<Keyring> {
    const sealingKey = deriveKeyringKey(options.rootKey);
    const now = options.now ?? Date.now;
    let sealed = await storeCall(() => options.store.load());
    if (sealed === null) {
      const state: KeyringState = { current: 1, terms: [{ term: 1, createdAt: now(), kek: randomBytes(32) }] };
      const fresh = sealKeyring(state, sealingKey);
      if (await storeCall(() => options.store.save(fresh, null))) return new Keyring(sealingKey, options.store, state, fresh, now);
      wipeState(state);
      // another process created the keyring first: use theirs
      sealed = await storeCall(() => options.store.load());
      if (sealed === null) throw new KeyringError(undefined, { detail: 'keyring vanished after a concurrent creation' });
    }
    return new Keyring(sealingKey, options.store, unsealKeyring(sealed, sealingKey), sealed, now);
  }

  /** The current term: new data keys are wrapped under it. */
  get currentTerm(): number {
    return this.state.current;
  }

  /** Every term, oldest first. */
  terms(): KeyTermInfo[] {
    return this.state.terms.map((t) => ({ term: t.term, createdAt: t.createdAt, retired: t.kek === null }));
  }

  /** True if `term` is newer than every term this instance knows (another process may have added it: refresh). */
  isUnknownTerm(term: number): boolean {
    return term > this.state.current;
  }

  /** Adds a term with a fresh random KEK and makes it current; returns it. */
  async addTerm(): Promise<number> {
    await this.mutate((state) => {
      const term = state.current + 1;
      return { current: term, terms: [...state.terms, { term, createdAt: this.now(), kek: randomBytes(32) }] };
    });
    return this.state.current;
  }

  /**
   * Retires `term`: destroys its KEK, so any data key still wrapped under it becomes
   * unrecoverable. Rewrap first (see vault's rewrapStaleKeys). The current term cannot
   * be retired; retiring a retired term does nothing.
   */
  async retireTerm(term: number): Promise<void> {
    let retired: Buffer | null = null;
    await this.mutate((state) => {
      const found = state.terms.find((t) => t.term === term);
      if (found === undefined) throw new ValidationError(`key term \`${term}\` does not exist`);
      if (term === state.current) throw new ValidationError('the current key term cannot be retired');
      retired = found.kek;
      return { current: state.current, terms: state.terms.map((t) => (t.term === term ? { term: t.term, createdAt: t.createdAt, kek: null } : t)) };
    });
    (retired as Buffer | null)?.fill(0);
  }

  /** Reloads the keyring from the store (another process may have added or retired terms). */
  async refresh(): Promise<void> {
    await this.serialize(() => this.reload());
  }

  /** Wraps `dataKey` for `objectId` under the current term. */
  wrapDataKey(objectId: string, dataKey: Uint8Array): { wrappedKey: Buffer; keyTerm: number } {
    const current = this.state.terms[this.state.terms.length - 1]!;
    // INVARIANT: the current term is the newest and is active (checked by the codec)
    return { wrappedKey: wrapDataKey(current.kek!, current.term, objectId, dataKey), keyTerm: current.term };
  }

  /**
   * Unwraps the data key of `objectId`, wrapped under `keyTerm`. An unknown or retired
   * term, another object's key or altered bytes: DecryptionFailedError.
   */
  unwrapDataKey(objectId: string, wrappedKey: Uint8Array, keyTerm: number): Buffer {
    const kek = this.state.terms.find((t) => t.term === keyTerm)?.kek;
    if (kek === undefined || kek === null) throw new DecryptionFailedError(undefined, { detail: `key term ${keyTerm} unknown or retired` });
    return unwrapDataKey(kek, keyTerm, objectId, wrappedKey);
  }

  /**
   * Rewraps a data key under the current term, keeping the object it belongs to.
   * Already current: returned unchanged. Failure to unwrap: DecryptionFailedError.
   */
  rewrapDataKey(wrappedKey: Uint8Array, keyTerm: number): { wrappedKey: Uint8Array; keyTerm: number } {
    if (keyTerm === this.state.current) return { wrappedKey, keyTerm };
    const { objectId } = readWrappedKeyInfo(wrappedKey);
    const dataKey = this.unwrapDataKey(objectId, wrappedKey, keyTerm);
    try {
      return this.wrapDataKey(objectId, dataKey);
    } finally {
      dataKey.fill(0);
    }
  }

  /** Wipes every key held in memory; the instance is unusable afterwards. */
  close(): void {
    wipeState(this.state);
    this.sealingKey.fill(0);
  }

  private async mutate(change: (state: KeyringState) => KeyringState): Promise<void> {
    await this.serialize(async () => {
      for (let attempt = 0; attempt < MAX_CAS_ATTEMPTS; attempt++) {
        const next = change(this.state);
        const sealed = sealKeyring(next, this.sealingKey);
        if (await storeCall(() => this.store.save(sealed, this.sealed))) {
          this.state = next;
          this.sealed = sealed;
          return;
        }
        await this.reload();
      }
      throw new ConflictError('keyring is being changed by another process: try again');
    });
  }

  private async reload(): Promise<void> {
    const sealed = await storeCall(() => this.store.load());
    if (sealed === null) throw new KeyringError(undefined, { detail: 'stored keyring disappeared' });
    const state = unsealKeyring(sealed, this.sealingKey);
    if (state.current < this.state.current) throw new KeyringError(undefined, { detail: 'stored keyring is older than the one in memory' });
    wipeState(this.state);
    this.state = state;
    this.sealed = sealed;
  }

  private serialize<T>(task: () => Promise<T>): Promise<T> {
    const run = this.queue.then(task, task);
    this.queue = run.catch(() => undefined);
    return run;
  }
}

async function storeCall<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    if (err instanceof CofferError) throw err;
    throw new KeyringError(undefined, { detail: 'keyring store failed', cause: err });
  }
}

function wipeState(state: KeyringState): void {
  for (const t of state.terms) t.kek?.fill(0);
}
