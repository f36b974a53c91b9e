import { DownloadSlot, type InflightRegistry } from '../service/download-slot.js';

export type { InflightRegistry } from '../service/download-slot.js';

/**
 * Downloads in flight, keyed by principal, so a lock can cut them: a locked account
 * must not keep receiving the bytes of a download it started before the lock, nor of
 * the download whose own audit record triggered the lock. Slots are opened before the
 * attempt record is written (service/download-slot.ts), so a slot exists for every
 * download a lock can be triggered by.
 * INVARIANT: a slot leaves the registry when it ends (its stream closed, or closed unused).
 */
export class InflightDownloads implements InflightRegistry {
  readonly #byPrincipal = new Map<string, Set<DownloadSlot>>();

  open(principalId: string): DownloadSlot {
    let set = this.#byPrincipal.get(principalId);
    if (set === undefined) {
      set = new Set();
      this.#byPrincipal.set(principalId, set);
    }
    const slot: DownloadSlot = new DownloadSlot(() => {
      const s = this.#byPrincipal.get(principalId);
      s?.delete(slot);
      if (s?.size === 0) this.#byPrincipal.delete(principalId);
    });
    set.add(slot);
    return slot;
  }

  /** Downloads of `principalId` in flight (started or about to start). */
  count(principalId: string): number {
    return this.#byPrincipal.get(principalId)?.size ?? 0;
  }

  /** The principals with downloads in flight on this node. */
  principals(): string[] {
    return [...this.#byPrincipal.keys()];
  }

  /**
   * Cuts the downloads of every principal in flight here that `refused` says may no
   * longer receive bytes (locked or disabled on any node, told by the change feed);
   * returns how many were cut. A principal whose state cannot be read is cut too (fail closed).
   */
  async cutRefused(refused: (principalId: string) => Promise<boolean>, reason: () => Error): Promise<number> {
    let cut = 0;
    for (const id of this.principals()) {
      // INVARIANT: an unreadable principal state counts as refused
      const stop = await refused(id).catch(() => true);
      if (stop) cut += this.abort(id, reason());
    }
    return cut;
  }

  /** Cuts every download of `principalId` with `reason`; returns how many were cut. */
  abort(principalId: string, reason: Error): number {
    const set = this.#byPrincipal.get(principalId);
    if (set === undefined) return 0;
    const slots = [...set];
    for (const s of slots) s.cut(reason);
    return slots.length;
  }
}
