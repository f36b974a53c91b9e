import { DecryptionFailedError, RequestAbortedError, ValidationError } from '../domain/errors.js';
import { readWrappedKeyInfo } from '../crypto/index.js';
import type { MetadataStore } from '../store/metadata-store.js';
import type { Vault } from './vault.js';

/** The two MetadataStore methods a rewrap pass needs. */
export type StaleKeyStore = Pick<MetadataStore, 'listVersionsNotUnderTerm' | 'rewrapVersionKey'>;

/** Options of {@link rewrapStaleKeys}. */
export interface RewrapOptions {
  /** Versions fetched and rewrapped per batch (default 100). */
  batchSize?: number;
  /** Stops between versions; the pass then rejects with RequestAbortedError (work done so far stays done). */
  signal?: AbortSignal;
  /** Called after each batch with the running totals. */
  onProgress?: (report: RewrapReport) => void;
}

/** Outcome of a rewrap pass. */
export interface RewrapReport {
  /** Data keys now wrapped under the current term. */
  rewrapped: number;
  /** Versions whose data key was destroyed (crypto-shredded): nothing to rewrap. */
  shredded: number;
  /** Versions changed by someone else between listing and update, twice in a row: left as they are. */
  contended: number;
  /** Ids of versions whose data key did not unwrap (retired term, corrupt or foreign key): left as they are. */
  failed: string[];
}

/**
 * Rewraps every data key not under the vault's current KEK term, batch by batch,
 * without touching any ciphertext (`coffer keys rotate` runs it after adding a term).
 * Each update is a compare-and-set on the version's term, so concurrent writers and a
 * second pass are safe. Versions that cannot be rewrapped are counted and skipped, and
 * the pass still ends: a term can be retired only once a pass reports no failures.
 */
export async function rewrapStaleKeys(vault: Pick<Vault, 'currentKeyTerm' | 'rewrapKey'>, store: StaleKeyStore, options: RewrapOptions = {}): Promise<RewrapReport> {
  const batchSize = options.batchSize ?? 100;
  if (!Number.isSafeInteger(batchSize) || batchSize < 1) throw new ValidationError('batch size must be a positive integer');
  const report: RewrapReport = { rewrapped: 0, shredded: 0, contended: 0, failed: [] };
  // versions the store keeps listing but that this pass cannot change (bounded by their number)
  const skip = new Set<string>();
  const contendedOnce = new Set<string>();
  for (;;) {
    const term = vault.currentKeyTerm();
    // INVARIANT: the listing asks for enough rows to see batchSize versions past the skipped ones, so the pass always progresses
    const listed = await store.listVersionsNotUnderTerm(term, batchSize + skip.size);
    const batch = listed.filter((v) => !skip.has(v.id) && v.keyTerm !== term);
    if (batch.length === 0) return report;
    for (const version of batch) {
      if (options.signal?.aborted) throw new RequestAbortedError(undefined, { detail: 'key rewrap pass aborted' });
      if (version.wrappedKey === null) {
        skip.add(version.id);
        report.shredded++;
        continue;
      }
      let rewrapped: { wrappedKey: Uint8Array; keyTerm: number };
      try {
        // a key that belongs to another object is corrupt metadata: report it rather than carry it forward
        if (readWrappedKeyInfo(version.wrappedKey).objectId !== version.id) throw new DecryptionFailedError(undefined, { detail: 'wrapped key of another object' });
        rewrapped = await vault.rewrapKey(version.wrappedKey, version.keyTerm);
      } catch (err) {
        if (!(err instanceof DecryptionFailedError)) throw err;
        skip.add(version.id);
        report.failed.push(version.id);
        continue;
      }
      if (await store.rewrapVersionKey(version.id, version.keyTerm, rewrapped.wrappedKey, rewrapped.keyTerm)) {
        report.rewrapped++;
      } else if (contendedOnce.has(version.id)) {
        skip.add(version.id);
        report.contended++;
      } else {
        contendedOnce.add(version.id);
      }
    }
    options.onProgress?.({ ...report, failed: [...report.failed] });
  }
}
