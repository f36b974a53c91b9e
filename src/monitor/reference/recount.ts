/** A download record as the references keep it: what they recount from. */
export interface KeptDownload {
  seq: number;
  bytes: number;
  dataset: string;
}

/** Bytes per dataset of `downloads`, recounted. */
export function bytesPerDataset(downloads: readonly KeptDownload[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const d of downloads) m.set(d.dataset, (m.get(d.dataset) ?? 0) + d.bytes);
  return m;
}

/** Bytes of `downloads`, recounted. */
export function bytesOf(downloads: readonly KeptDownload[]): number {
  return downloads.reduce((n, d) => n + d.bytes, 0);
}

/**
 * What a reference keeps beside its records: the cooldown, and the records reviewed by
 * an administrator (clearWindows), which leave the windows but not what was learned.
 */
export class ReviewedCooldown {
  lastFinding: number | null = null;
  /** Records at or below this seq were reviewed. */
  clearedSeq = 0;

  /** Whether a finding at `now` is still within the cooldown of the last one. */
  cooling(now: number, cooldownMs: number): boolean {
    return this.lastFinding !== null && now - this.lastFinding < cooldownMs;
  }

  clearWindows(lastSeq: number): void {
    this.clearedSeq = lastSeq;
    this.lastFinding = null;
  }
}
