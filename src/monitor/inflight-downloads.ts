import type { Readable } from 'node:stream';

/** The seam the download use case calls: streams being sent, by principal. */
export interface InflightRegistry {
  /** Tracks `stream` as a download of `principalId` until it closes. */
  register(principalId: string, stream: Readable): void;
}

/**
 * Downloads in flight, keyed by principal, so a lock can cut them: a locked account
 * must not keep receiving the bytes of a download it started before the lock.
 * INVARIANT: a stream leaves the registry when it closes, however it ends.
 */
export class InflightDownloads implements InflightRegistry {
  readonly #byPrincipal = new Map<string, Set<Readable>>();

  register(principalId: string, stream: Readable): void {
    let set = this.#byPrincipal.get(principalId);
    if (set === undefined) {
      set = new Set();
      this.#byPrincipal.set(principalId, set);
    }
    set.add(stream);
    stream.once('close', () => {
      const s = this.#byPrincipal.get(principalId);
      s?.delete(stream);
      if (s?.size === 0) this.#byPrincipal.delete(principalId);
    });
  }

  /** Downloads of `principalId` still running. */
  count(principalId: string): number {
    return this.#byPrincipal.get(principalId)?.size ?? 0;
  }

  /** Destroys every download of `principalId` with `reason`; returns how many were cut. */
  abort(principalId: string, reason: Error): number {
    const set = this.#byPrincipal.get(principalId);
    if (set === undefined) return 0;
    const streams = [...set];
    for (const s of streams) s.destroy(reason);
    return streams.length;
  }
}
