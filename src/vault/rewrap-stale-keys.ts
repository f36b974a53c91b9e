import { DecryptionFailedError, RequestAbortedError, ValidationError } from '../domain/errors.js';
import { readWrappedKeyInfo } from '../crypto/index.js';
import type { MetadataStore } from '../store/metadata-store.js';
import type { S3Store, S3UploadPart } from '../store/s3-store.js';
import type { Vault } from './vault.js';

/** The two MetadataStore methods a rewrap pass over versions needs. */
export type StaleKeyStore = Pick<MetadataStore, 'listVersionsNotUnderTerm' | 'rewrapVersionKey'>;

/** The two S3Store methods a rewrap pass over multipart upload parts needs. */
export type StalePartKeyStore = Pick<S3Store, 'listPartsNotUnderTerm' | 'rewrapPartKey'>;

/** Something that holds a wrapped data key: a version, a part of a multipart upload. */
export interface KeyHolder {
  /** Identifies the holder in a pass (skip set, `failed`); unique among what its source lists. */
  id: string;
  /** The vault object id the data key is bound to (the wrapped key names it). */
  objectId: string;
  /** Null once the data key was destroyed (crypto-shredded). */
  wrappedKey: Uint8Array | null;
  keyTerm: number;
}

/** Where a rewrap pass finds data keys and writes them back. */
export interface KeyHolderSource<H extends KeyHolder = KeyHolder> {
  /** Holders whose key is wrapped under a term other than `term`, in a stable order, at most `limit`. */
  list(term: number, limit: number): Promise<H[]>;
  /**
   * Replaces the wrapped key of `holder` by `wrappedKey` under `term`, only if the stored
   * holder is still the one listed under `holder.keyTerm` (a compare-and-set); false otherwise.
   */
  rewrap(holder: H, wrappedKey: Uint8Array, term: number): Promise<boolean>;
}

/** Options of {@link rewrapStaleKeys}. */
export interface RewrapOptions {
  /** Key holders fetched and rewrapped per batch (default 100). */
  batchSize?: number;
  /** Stops between key holders; the pass then rejects with RequestAbortedError (work done so far stays done). */
  signal?: AbortSignal;
  /** Called after each batch with the running totals. */
  onProgress?: (report: RewrapReport) => void;
}

/** Outcome of a rewrap pass. */
export interface RewrapReport {
  /** Data keys now wrapped under the current term. */
  rewrapped: number;
  /** Key holders whose data key was destroyed (crypto-shredded): nothing to rewrap. */
  shredded: number;
  /** Key holders changed by someone else between listing and update, twice in a row: left as they are. */
  contended: number;
  /** Ids of key holders whose data key did not unwrap (retired term, corrupt or foreign key): left as they are. */
  failed: string[];
}

/** The versions of the catalog as key holders (id and object id: the version id). */
export function versionKeyHolders(store: StaleKeyStore): KeyHolderSource {
  return {
    list: async (term, limit) => (await store.listVersionsNotUnderTerm(term, limit)).map((v) => ({ id: v.id, objectId: v.id, wrappedKey: v.wrappedKey, keyTerm: v.keyTerm })),
    rewrap: (holder, wrappedKey, term) => store.rewrapVersionKey(holder.id, holder.keyTerm, wrappedKey, term),
  };
}

/** A part of an open multipart upload as a key holder: id `<uploadId>/<partNumber>`. */
export type PartKeyHolder = KeyHolder & { part: Pick<S3UploadPart, 'uploadId' | 'partNumber' | 'objectId'> };

/**
 * The sealed parts of open multipart uploads as key holders. The update is bound to the
 * part's object id too: a part replaced (same number) since the listing is not overwritten.
 */
export function partKeyHolders(store: StalePartKeyStore): KeyHolderSource<PartKeyHolder> {
  return {
    list: async (term, limit) =>
      (await store.listPartsNotUnderTerm(term, limit)).map((p) => ({
        id: `${p.uploadId}/${p.partNumber}`,
        objectId: p.objectId,
        wrappedKey: p.wrappedKey,
        keyTerm: p.keyTerm,
        part: { uploadId: p.uploadId, partNumber: p.partNumber, objectId: p.objectId },
      })),
    rewrap: (holder, wrappedKey, term) => store.rewrapPartKey(holder.part, holder.keyTerm, wrappedKey, term),
  };
}

/**
 * Rewraps every version data key not under the vault's current KEK term, batch by batch,
 * without touching any ciphertext (`coffer keys rotate` runs it after adding a term).
 * See {@link rewrapKeyHolders}.
 */
export function rewrapStaleKeys(vault: Pick<Vault, 'currentKeyTerm' | 'rewrapKey'>, store: StaleKeyStore, options: RewrapOptions = {}): Promise<RewrapReport> {
  return rewrapKeyHolders(vault, versionKeyHolders(store), options);
}

/**
 * Rewraps the data key of every sealed part of open multipart uploads not under the
 * vault's current KEK term, so an upload left open across a rotation can still be
 * completed once the old term is retired. See {@link rewrapKeyHolders}.
 */
export function rewrapStalePartKeys(vault: Pick<Vault, 'currentKeyTerm' | 'rewrapKey'>, store: StalePartKeyStore, options: RewrapOptions = {}): Promise<RewrapReport> {
  return rewrapKeyHolders(vault, partKeyHolders(store), options);
}

/**
 * Rewraps every data key of `source` not under the vault's current KEK term, batch by
 * batch, without touching any ciphertext. Each update is a compare-and-set on the
 * holder's term, so concurrent writers and a second pass are safe. Holders that cannot
 * be rewrapped are counted and skipped, and the pass still ends: a term can be retired
 * only once a pass reports no failures.
 */
export async function rewrapKeyHolders<H extends KeyHolder>(vault: Pick<Vault, 'currentKeyTerm' | 'rewrapKey'>, source: KeyHolderSource<H>, options: RewrapOptions = {}): Promise<RewrapReport> {
  const batchSize = options.batchSize ?? 100;
  if (!Number.isSafeInteger(batchSize) || batchSize < 1) throw new ValidationError('batch size must be a positive integer');
  const report: RewrapReport = { rewrapped: 0, shredded: 0, contended: 0, failed: [] };
  // holders the source keeps listing but that this pass cannot change (bounded by their number)
  const skip = new Set<string>();
  const contendedOnce = new Set<string>();
  for (;;) {
    const term = vault.currentKeyTerm();
    // INVARIANT: the listing asks for enough rows to see batchSize holders past the skipped ones, so the pass always progresses
    const listed = await source.list(term, batchSize + skip.size);
    const batch = listed.filter((h) => !skip.has(h.id) && h.keyTerm !== term);
    if (batch.length === 0) return report;
    for (const holder of batch) {
      if (options.signal?.aborted) throw new RequestAbortedError(undefined, { detail: 'key rewrap pass aborted' });
      if (holder.wrappedKey === null) {
        skip.add(holder.id);
        report.shredded++;
        continue;
      }
      let rewrapped: { wrappedKey: Uint8Array; keyTerm: number };
      try {
        // a key that belongs to another object is corrupt metadata: report it rather than carry it forward
        if (readWrappedKeyInfo(holder.wrappedKey).objectId !== holder.objectId) throw new DecryptionFailedError(undefined, { detail: 'wrapped key of another object' });
        rewrapped = await vault.rewrapKey(holder.wrappedKey, holder.keyTerm);
      } catch (err) {
        if (!(err instanceof DecryptionFailedError)) throw err;
        skip.add(holder.id);
        report.failed.push(holder.id);
        continue;
      }
      if (await source.rewrap(holder, rewrapped.wrappedKey, rewrapped.keyTerm)) {
        report.rewrapped++;
      } else if (contendedOnce.has(holder.id)) {
        skip.add(holder.id);
        report.contended++;
      } else {
        contendedOnce.add(holder.id);
      }
    }
    options.onProgress?.({ ...report, failed: [...report.failed] });
  }
}
