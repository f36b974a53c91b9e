import type { MetadataStore } from '../store/metadata-store.js';
import type { Tier } from '../domain/types.js';

/** What the detectors need of an artifact that the audit record does not carry. */
export interface ArtifactInfo {
  tier: Tier;
  /** Catalog kind (`dataset`, `model`, `feature-set`, `evaluation`, `other`): decides what one use is (see dataset.ts). */
  kind: string;
}

/**
 * The tier and kind of an artifact named in an audit record (`project/artifact`),
 * looked up in the catalog and cached (an artifact never changes tier or kind).
 * Unknown names are not cached: an artifact created later must be seen. A failed
 * lookup counts as unknown (null).
 */
export class ArtifactInfoResolver {
  readonly #cache = new Map<string, ArtifactInfo>();

  constructor(
    private readonly store: Pick<MetadataStore, 'getProjectByName' | 'getArtifactByName'>,
    private readonly maxEntries = 20_000,
  ) {}

  async infoOf(project: string, artifact: string): Promise<ArtifactInfo | null> {
    const key = `${project}/${artifact}`;
    const hit = this.#cache.get(key);
    if (hit !== undefined) return hit;
    try {
      const p = await this.store.getProjectByName(project);
      const a = p === null ? null : await this.store.getArtifactByName(p.id, artifact);
      if (a === null) return null;
      if (this.#cache.size >= this.maxEntries) this.#cache.delete(this.#cache.keys().next().value!);
      const info: ArtifactInfo = { tier: a.tier, kind: a.kind };
      this.#cache.set(key, info);
      return info;
    } catch {
      return null;
    }
  }
}
