import type { MetadataStore } from '../store/metadata-store.js';
import type { Tier } from '../domain/types.js';

/**
 * The tier of an artifact named in an audit record (`project/artifact`), looked up in
 * the catalog and cached (artifacts never change tier). Unknown names are not cached:
 * an artifact created later must be seen. A failed lookup counts as unknown (null).
 */
export class TierResolver {
  readonly #cache = new Map<string, Tier>();

  constructor(
    private readonly store: Pick<MetadataStore, 'getProjectByName' | 'getArtifactByName'>,
    private readonly maxEntries = 20_000,
  ) {}

  async tierOf(project: string, artifact: string): Promise<Tier | null> {
    const key = `${project}/${artifact}`;
    const hit = this.#cache.get(key);
    if (hit !== undefined) return hit;
    try {
      const p = await this.store.getProjectByName(project);
      const a = p === null ? null : await this.store.getArtifactByName(p.id, artifact);
      if (a === null) return null;
      if (this.#cache.size >= this.maxEntries) this.#cache.delete(this.#cache.keys().next().value!);
      this.#cache.set(key, a.tier);
      return a.tier;
    } catch {
      return null;
    }
  }
}
