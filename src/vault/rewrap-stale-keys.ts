import { DecryptionFailedError, RequestAbortedError, StorageError, ValidationError } from '../domain/errors.js';
import type { ArtifactVersion } from '../domain/types.js';
import { readWrappedKeyInfo } from '../crypto/index.js';
import type { MetadataStore } from '../store/metadata-store.js';
import type { S3Store, S3UploadPart } from '../store/s3-store.js';
import type { Vault } from './vault.js';

/** The MetadataStore methods a rewrap pass over versions needs. */
export type StaleKeyStore = Pick<MetadataStore, 'listVersionsNotUnderTerm' | 'getVersion' | 'rewrapVersionKey'>;

/** The S3Store methods a rewrap pass over multipart upload parts needs. */
export type StalePartKeyStore = Pick<S3Store, 'listPartsNotUnderTerm' | 'listParts' | 'rewrapPartKey'>;

/** Something that holds a wrapped data key: a version, a part of a multipart upload. */
export interface KeyHolder {
  /** Identifies the holder in a pass (`failed`); unique among what its source lists. */
  id: string;
  /** The vault object id the data key is bound to (the wrapped key names it). */
  objectId: string;
  /** Null once the data key was destroyed (crypto-shredded). */
  wrappedKey: Uint8Array | null;
  keyTerm: number;
}

/** Where a rewrap pass finds data keys and writes them back. */
export interface KeyHolderSource<H extends KeyHolder = KeyHolder> {
  /**
   * Holders whose key is wrapped under a term other than `term`, ordered by a stable unique
   * key, strictly after `after` (a holder this source listed; null: from the first), at
   * most `limit`. A source may return fewer (a cap): only an empty listing is the end.
   */
  list(term: number, limit: number, after: H | null): Promise<H[]>;
  /** The holder stored now under the same id (possibly changed since listed), or null if there is none. */
  reread(holder: H): Promise<H | null>;
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
  /** Key holders changed by someone else between listing and update, and again between re-reading and update: left as they are. */
  contended: number;
  /** Ids of key holders whose data key did not unwrap (retired term, corrupt or foreign key): left as they are. */
  failed: string[];
}

/** The versions of the catalog as key holders (id and object id: the version id). */
export function versionKeyHolders(store: StaleKeyStore): KeyHolderSource {
  const holder = (v: ArtifactVersion): KeyHolder => ({ id: v.id, objectId: v.id, wrappedKey: v.wrappedKey, keyTerm: v.keyTerm });
  return {
    list: async (term, limit, after) => (await store.listVersionsNotUnderTerm(term, limit, after?.id ?? null)).map(holder),
    reread: async (h) => {
      const v = await store.getVersion(h.id);
      return v === null ? null : holder(v);
    },
    rewrap: (h, wrappedKey, term) => store.rewrapVersionKey(h.id, h.keyTerm, wrappedKey, term),
  };
}

/** A part of an open multipart upload as a key holder: id `<uploadId>/<partNumber>`. */
export type PartKeyHolder = KeyHolder & { part: Pick<S3UploadPart, 'uploadId' | 'partNumber' | 'objectId'> };

/**
 * The sealed parts of open multipart uploads as key holders. The update is bound to the
 * part's object id too: a part replaced (same number) since the listing is not overwritten.
 * Re-reading a holder gives the part now stored under its upload and number, replaced or not.
 */
export function partKeyHolders(store: StalePartKeyStore): KeyHolderSource<PartKeyHolder> {
  const holder = (p: S3UploadPart): PartKeyHolder => ({
    id: `${p.uploadId}/${p.partNumber}`,
    objectId: p.objectId,
    wrappedKey: p.wrappedKey,
    keyTerm: p.keyTerm,
    part: { uploadId: p.uploadId, partNumber: p.partNumber, objectId: p.objectId },
  });
  return {
    list: async (term, limit, after) => (await store.listPartsNotUnderTerm(term, limit, after === null ? null : { uploadId: after.part.uploadId, partNumber: after.part.partNumber })).map(holder),
    reread: async (h) => {
      const [p] = await store.listParts(h.part.uploadId, { afterPart: h.part.partNumber - 1, limit: 1 });
      return p?.partNumber === h.part.partNumber ? holder(p) : null;
    },
    rewrap: (h, wrappedKey, term) => store.rewrapPartKey(h.part, h.keyTerm, wrappedKey, term),
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
 * be rewrapped are counted and passed, and the pass still ends: a term can be retired
 * only once a pass reports no failures.
 *
 * The pass walks the source's listing once, with a cursor (keyset paging): each listing
 * starts strictly after the last holder of the one before, so holders it cannot change
 * (shredded, failed, contended), however many, never hide the ones sorted after them, and
 * the listing's cap does not matter. A holder whose compare-and-set is refused (changed
 * since listed) is re-read and, if still under another term, retried once right away;
 * refused again, it counts as contended. The current term is read once per listing.
 *
 * LIMITATION: a holder the walk has passed that a concurrent writer puts back under an
 * older term (a node that has not seen the current term yet), or that is created under
 * one behind the cursor, is not seen by this pass: it is left for the next pass. Such a
 * writer also outlives any report, so retire a term only once every node uses the new one
 * and a later pass reports nothing left.
 */
export async function rewrapKeyHolders<H extends KeyHolder>(vault: Pick<Vault, 'currentKeyTerm' | 'rewrapKey'>, source: KeyHolderSource<H>, options: RewrapOptions = {}): Promise<RewrapReport> {
  const batchSize = options.batchSize ?? 100;
  if (!Number.isSafeInteger(batchSize) || batchSize < 1) throw new ValidationError('batch size must be a positive integer');
  const report: RewrapReport = { rewrapped: 0, shredded: 0, contended: 0, failed: [] };
  let after: H | null = null;
  for (;;) {
    const term = vault.currentKeyTerm();
    const batch = await source.list(term, batchSize, after);
    if (batch.length === 0) return report;
    // INVARIANT: every listing is strictly after the one before, so the pass ends; a source that ignores the cursor would list its last holder again
    const cursorId: string | undefined = after?.id;
    if (cursorId !== undefined && batch.some((h) => h.id === cursorId)) throw new StorageError(undefined, { detail: 'key holder listing did not honour its cursor' });
    for (const listed of batch) {
      if (options.signal?.aborted) throw new RequestAbortedError(undefined, { detail: 'key rewrap pass aborted' });
      if (listed.keyTerm === term) continue;
      let outcome = await rewrapHolder(vault, source, listed);
      if (outcome === 'refused') {
        const current = await source.reread(listed);
        // gone (upload completed or aborted) or already under the current term (another pass): nothing left to do
        if (current === null || current.keyTerm === vault.currentKeyTerm()) continue;
        outcome = await rewrapHolder(vault, source, current);
      }
      if (outcome === 'rewrapped') report.rewrapped++;
      else if (outcome === 'shredded') report.shredded++;
      else if (outcome === 'failed') report.failed.push(listed.id);
      else report.contended++;
    }
    after = batch[batch.length - 1]!;
    options.onProgress?.({ ...report, failed: [...report.failed] });
  }
}

/** Rewraps one holder's data key under the current term: what became of it. */
async function rewrapHolder<H extends KeyHolder>(vault: Pick<Vault, 'rewrapKey'>, source: KeyHolderSource<H>, holder: H): Promise<'rewrapped' | 'shredded' | 'failed' | 'refused'> {
  if (holder.wrappedKey === null) return 'shredded';
  let rewrapped: { wrappedKey: Uint8Array; keyTerm: number };
  try {
    // a key that belongs to another object is corrupt metadata: report it rather than carry it forward
    if (readWrappedKeyInfo(holder.wrappedKey).objectId !== holder.objectId) throw new DecryptionFailedError(undefined, { detail: 'wrapped key of another object' });
    rewrapped = await vault.rewrapKey(holder.wrappedKey, holder.keyTerm);
  } catch (err) {
    if (!(err instanceof DecryptionFailedError)) throw err;
    return 'failed';
  }
  return (await source.rewrap(holder, rewrapped.wrappedKey, rewrapped.keyTerm)) ? 'rewrapped' : 'refused';
}
