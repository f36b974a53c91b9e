import { randomBytes } from 'node:crypto';
import { ConflictError, CofferError, DecryptionFailedError, KeyringError, ValidationError } from '../domain/errors.js';
import { readWrappedKeyInfo, unwrapDataKey, wrapDataKey } from './data-key.js';
import { EnvKeyProvider } from './env-key-provider.js';
import { KEYRING_KEY_CONTEXT, ROOT_KEY_LENGTH, WRAP_SCHEME, type KeyProvider, type KeyProviderKind } from './key-provider.js';
import { readSealedHead, sealKeyringV2, unsealKeyring, unsealKeyringV2, type KeyringState } from './keyring-codec.js';

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

/** Options of {@link Keyring.open}: a `provider`, or a local `rootKey` (tests, tools). */
export interface KeyringOpenOptions {
  /** Holds the root key that wraps the keyring key. */
  provider?: KeyProvider;
  /** A local 32-byte root key instead of a provider (as the env provider with these bytes). */
  rootKey?: Uint8Array;
  /**
   * A provider that holds the root key the stored keyring is still under, when moving to
   * another one (a key file to an HSM...): it only opens, and `coffer keys rotate-root`
   * then rewraps under `provider`.
   */
  previous?: KeyProvider | null;
  store: KeyringStore;
  /** Clock for term creation times (tests). */
  now?: () => number;
}

/** What a root key rotation did (public facts only). */
export interface RootKeyRotationResult {
  provider: KeyProviderKind;
  /** The root key the keyring is now under. */
  keyId: string;
  /** The root key it was under before (null if unknown). */
  previousKeyId: string | null;
  /** Whether the provider destroyed the previous root key (file, PKCS#11). */
  destroyedPrevious: boolean;
}

/** The keyring key in use and how it travels wrapped. */
interface Seal {
  scheme: number;
  wrappedKey: Buffer;
  keyringKey: Buffer;
}

/** Public names of the wrap schemes, for messages. */
const SCHEME_NAMES: Record<number, string> = { [WRAP_SCHEME.local]: 'local (key file or rootKey)', [WRAP_SCHEME.pkcs11]: 'PKCS#11', [WRAP_SCHEME.kms]: 'KMS' };

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
    private readonly provider: KeyProvider,
    private readonly previous: KeyProvider | null,
    private readonly store: KeyringStore,
    private state: KeyringState,
    private sealed: Uint8Array,
    private seal: Seal,
    private readonly now: () => number,
  ) {}

  /**
   * Opens the stored keyring, or creates one with term 1 on first start. Rejects with
   * KeyringError if the stored keyring does not open with the provider's root key (or
   * the previous provider's). A keyring of format 1 is resealed in format 2 at once.
   */
  static async open(options: KeyringOpenOptions): Promise<Keyring> {
    const provider = options.provider ?? (options.rootKey !== undefined ? new EnvKeyProvider(options.rootKey, 'rootKey') : null);
    if (provider === null) throw new KeyringError(undefined, { detail: 'Keyring.open needs a provider or a root key' });
    const previous = options.previous ?? null;
    const now = options.now ?? Date.now;
    for (let attempt = 0; attempt < MAX_CAS_ATTEMPTS; attempt++) {
      const sealed = await storeCall(() => options.store.load());
      if (sealed === null) {
        const state: KeyringState = { current: 1, terms: [{ term: 1, createdAt: now(), kek: randomBytes(32) }] };
        const seal = await freshSeal(provider);
        const fresh = sealKeyringV2(state, seal);
        if (await storeCall(() => options.store.save(fresh, null))) return new Keyring(provider, previous, options.store, state, fresh, seal, now);
        // another process created the keyring first: use theirs
        wipeState(state);
        seal.keyringKey.fill(0);
        continue;
      }
      const opened = await openSealed(sealed, provider, previous, null);
      if (opened.resealed === null) return new Keyring(provider, previous, options.store, opened.state, sealed, opened.seal, now);
      // format 1: reseal in format 2 under the same root key (compare-and-set; a concurrent change wins and is reread)
      if (await storeCall(() => options.store.save(opened.resealed!, sealed))) {
        return new Keyring(provider, previous, options.store, opened.state, opened.resealed, opened.seal, now);
      }
      wipeState(opened.state);
      opened.seal.keyringKey.fill(0);
    }
    throw new ConflictError('keyring is being changed by another process: try again');
  }

  /** Kind of the provider that holds the root key, and the public id of the root key the keyring is under. */
  rootKeyInfo(): { provider: KeyProviderKind; keyId: string | null } {
    return { provider: this.provider.kind, keyId: this.keyIdOfSeal(this.seal) };
  }

  /**
   * Rotates the root key: a fresh keyring key, wrapped under a new root key (made by the
   * provider where it makes its own: file, PKCS#11; the one now configured otherwise),
   * saved by compare-and-set, then the provider's previous root key is destroyed where it
   * owns it. KEKs and data keys do not change: nodes still holding the old keyring key
   * keep serving, and pick up the new one when they next reload the keyring.
   */
  async rotateRoot(): Promise<RootKeyRotationResult> {
    return this.serialize(async () => {
      const owned = () => (this.seal.scheme === this.provider.scheme ? this.provider.keyIdOf(this.seal.wrappedKey) : null);
      const rotation = await this.provider.beginRotation(owned());
      const keyringKey = randomBytes(ROOT_KEY_LENGTH);
      let saved: { previousKeyId: string | null; previousOwned: string | null } | null = null;
      try {
        const seal: Seal = { scheme: this.provider.scheme, wrappedKey: await rotation.wrapKey(keyringKey, KEYRING_KEY_CONTEXT), keyringKey };
        for (let attempt = 0; attempt < MAX_CAS_ATTEMPTS && saved === null; attempt++) {
          const sealed = sealKeyringV2(this.state, seal);
          const before = { previousKeyId: this.keyIdOfSeal(this.seal), previousOwned: owned() };
          if (await storeCall(() => this.store.save(sealed, this.sealed))) {
            if (!this.seal.keyringKey.equals(keyringKey)) this.seal.keyringKey.fill(0);
            this.seal = seal;
            this.sealed = sealed;
            saved = before;
          } else {
            await this.reload();
          }
        }
        if (saved === null) throw new ConflictError('keyring is being changed by another process: try again');
      } catch (err) {
        if (saved === null) {
          keyringKey.fill(0);
          await rotation.abort().catch(() => undefined);
        }
        throw err;
      }
      // INVARIANT: the previous root key is destroyed only once no stored keyring needs it
      const { destroyedPrevious } = await rotation.commit(saved.previousOwned === rotation.keyId ? null : saved.previousOwned);
      // the id the wrapped key itself names (a KMS alias resolves to its key ARN)
      return { provider: this.provider.kind, keyId: this.keyIdOfSeal(this.seal) ?? rotation.keyId, previousKeyId: saved.previousKeyId, destroyedPrevious };
    });
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

  /** Wipes every key held in memory; the instance is unusable afterwards. (The provider is its owner's to close.) */
  close(): void {
    wipeState(this.state);
    this.seal.keyringKey.fill(0);
  }

  private async mutate(change: (state: KeyringState) => KeyringState): Promise<void> {
    await this.serialize(async () => {
      for (let attempt = 0; attempt < MAX_CAS_ATTEMPTS; attempt++) {
        const next = change(this.state);
        const sealed = sealKeyringV2(next, this.seal);
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
    // the same wrapped keyring key is not unwrapped again (no HSM or KMS call per reload)
    const opened = await openSealed(sealed, this.provider, this.previous, this.seal);
    if (opened.state.current < this.state.current) {
      wipeState(opened.state);
      throw new KeyringError(undefined, { detail: 'stored keyring is older than the one in memory' });
    }
    wipeState(this.state);
    if (opened.seal !== this.seal) this.seal.keyringKey.fill(0);
    this.state = opened.state;
    this.seal = opened.seal;
    // a format-1 keyring written meanwhile is resealed by the next change
    this.sealed = sealed;
  }

  private keyIdOfSeal(seal: Seal): string | null {
    for (const p of [this.provider, this.previous]) {
      if (p !== null && p.scheme === seal.scheme) {
        const id = p.keyIdOf(seal.wrappedKey);
        if (id !== null) return id;
      }
    }
    return null;
  }

  private serialize<T>(task: () => Promise<T>): Promise<T> {
    const run = this.queue.then(task, task);
    this.queue = run.catch(() => undefined);
    return run;
  }
}

/** A fresh random keyring key, wrapped by `provider`. */
async function freshSeal(provider: KeyProvider): Promise<Seal> {
  const keyringKey = randomBytes(ROOT_KEY_LENGTH);
  try {
    return { scheme: provider.scheme, wrappedKey: await provider.wrapKey(keyringKey, KEYRING_KEY_CONTEXT), keyringKey };
  } catch (err) {
    keyringKey.fill(0);
    throw err;
  }
}

/**
 * Opens a sealed keyring with the provider (or the previous one) that holds its root
 * key. `known` is the seal already in memory: the same wrapped key is not unwrapped
 * again. A format-1 keyring comes back with `resealed`, its format-2 form under a fresh
 * keyring key wrapped by the same local root key.
 */
async function openSealed(sealed: Uint8Array, provider: KeyProvider, previous: KeyProvider | null, known: Seal | null): Promise<{ state: KeyringState; seal: Seal; resealed: Buffer | null }> {
  const head = readSealedHead(sealed);
  const providers = previous === null ? [provider] : [provider, previous];
  if (head.version === 1) {
    for (const p of providers) {
      if (p.legacySealingKey === undefined) continue;
      const legacy = await p.legacySealingKey();
      let state: KeyringState;
      try {
        state = unsealKeyring(sealed, legacy);
      } catch (err) {
        if (err instanceof KeyringError) continue;
        throw err;
      } finally {
        legacy.fill(0);
      }
      const seal = await freshSeal(p);
      return { state, seal, resealed: sealKeyringV2(state, seal) };
    }
    throw new KeyringError('keyring could not be opened: wrong root key or corrupted keyring (format 1, sealed by a local root key: if that key was replaced, configure it as `rootKeyPrevious`)');
  }
  if (known !== null && known.scheme === head.scheme && known.wrappedKey.equals(head.wrappedKey)) {
    return { state: unsealKeyringV2(sealed, known.keyringKey), seal: known, resealed: null };
  }
  const candidates = providers.filter((p) => p.scheme === head.scheme && p.keyIdOf(head.wrappedKey) !== null);
  if (candidates.length === 0) {
    const kinds = providers.map((p) => p.kind).join(', ');
    const hint = head.scheme === WRAP_SCHEME.local ? ': to move off it, configure that key (base64) as `rootKeyPrevious` and run `coffer keys rotate-root`' : '';
    throw new KeyringError(`keyring could not be opened: it is sealed by a ${SCHEME_NAMES[head.scheme] ?? `scheme ${head.scheme}`} root key, which the key provider (${kinds}) does not hold${hint}`);
  }
  let failure: unknown;
  for (const p of candidates) {
    let keyringKey: Buffer;
    try {
      keyringKey = await p.unwrapKey(head.wrappedKey, KEYRING_KEY_CONTEXT);
    } catch (err) {
      failure = err;
      continue;
    }
    try {
      return { state: unsealKeyringV2(sealed, keyringKey), seal: { scheme: head.scheme, wrappedKey: head.wrappedKey, keyringKey }, resealed: null };
    } catch (err) {
      keyringKey.fill(0);
      throw err;
    }
  }
  throw failure instanceof CofferError ? failure : new KeyringError(undefined, { detail: 'keyring key did not unwrap', cause: failure });
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
