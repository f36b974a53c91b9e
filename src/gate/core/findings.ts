import { INCOMPLETE_TYPES, type Finding, type FindingLocation, type ScannerKind, type Verdict } from './verdict.js';

/** Default number of finding locations kept per verdict (counts are always complete). */
export const DEFAULT_MAX_LOCATIONS = 200;

/**
 * Collects the findings of one scanner: exact counts per type, the first `maxLocations`
 * locations. Memory is bounded by `maxLocations` and the number of distinct types.
 */
export class FindingCollector {
  private readonly kept: Finding[] = [];
  private readonly byType = new Map<string, number>();
  private readonly formatSet = new Set<string>();
  private total = 0;
  /** Bytes looked at; scanners add to it. */
  bytes = 0;

  constructor(
    readonly scanner: ScannerKind,
    private readonly maxLocations = DEFAULT_MAX_LOCATIONS,
  ) {}

  /** Records one finding. `detail` must never carry a matched secret or personal value. */
  add(type: string, location: FindingLocation, detail?: string): void {
    this.total++;
    this.byType.set(type, (this.byType.get(type) ?? 0) + 1);
    if (this.kept.length < this.maxLocations) this.kept.push(detail === undefined ? { type, location } : { type, location, detail });
  }

  /** Notes a format this scanner recognized. */
  format(name: string): void {
    if (this.formatSet.size < 32) this.formatSet.add(name);
  }

  /** Number of findings so far. */
  get count(): number {
    return this.total;
  }

  /** Count of one finding type so far. */
  countOf(type: string): number {
    return this.byType.get(type) ?? 0;
  }

  /** The verdict as it stands. */
  verdict(): Verdict {
    const counts: Record<string, number> = {};
    for (const [k, v] of [...this.byType.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) counts[k] = v;
    let outcome: Verdict['outcome'] = this.total === 0 ? 'clean' : 'flagged';
    for (const t of this.byType.keys()) if (INCOMPLETE_TYPES.has(t)) outcome = 'unscannable';
    return {
      scanner: this.scanner,
      outcome,
      counts,
      findings: [...this.kept],
      truncated: this.total > this.kept.length,
      formats: [...this.formatSet].sort(),
      bytes: this.bytes,
    };
  }
}

/** A collector seen through a location prefix: findings of a nested scanner carry its archive entry. */
export class ScopedFindings {
  constructor(
    readonly collector: FindingCollector,
    readonly entry: string | undefined,
  ) {}

  /** Records a finding, setting `entry` to this scope's entry. */
  add(type: string, location: FindingLocation, detail?: string): void {
    this.collector.add(type, this.entry === undefined ? location : { ...location, entry: this.entry }, detail);
  }

  /** A scope for an entry nested inside this one. */
  nested(entry: string): ScopedFindings {
    return new ScopedFindings(this.collector, this.entry === undefined ? entry : `${this.entry}!${entry}`);
  }
}
