/**
 * What a scanner reports: counts by finding type and locations, NEVER the values found.
 * A location says where (byte offset, line and column, CSV row and column name, JSON key
 * path, file inside an archive); a detail names the kind of thing found when that is not a
 * secret itself (the Python global `os.system`, the Keras layer class `Lambda`), never a
 * matched secret or personal value.
 */

/** The three verdicts every artifact gets. */
export type ScannerKind = 'unsafe-code' | 'secrets' | 'pii';

/** Where a finding is. Every field is optional; scanners fill what their format knows. */
export interface FindingLocation {
  /** Byte offset from the start of the scanned stream (of the archive entry when `entry` is set). */
  offset?: number;
  /** 1-based line number in a text file. */
  line?: number;
  /** 1-based column (in characters of the line) in a text file. */
  column?: number;
  /** 1-based data row of a CSV file (the header is row 0) or line of a JSON Lines file. */
  row?: number;
  /** CSV column name, or JSON key path (`$.user.email`). */
  field?: string;
  /** File inside an archive; nested archives are joined with `!` (`outer.zip!inner/data.pkl`). */
  entry?: string;
}

/** One finding: a type, where it is, and an optional non-secret detail. */
export interface Finding {
  type: string;
  location: FindingLocation;
  /** Non-secret description (`os.system`, `class Lambda`); never a matched value. */
  detail?: string;
}

/**
 * `clean`: nothing found; `flagged`: findings; `unscannable`: the scanner could not finish
 * (a limit, an unsupported compression, a malformed structure it cannot get past), so the
 * artifact must be treated as failing that check (fail closed).
 */
export type Outcome = 'clean' | 'flagged' | 'unscannable';

/** The result of one scanner over one artifact. */
export interface Verdict {
  scanner: ScannerKind;
  outcome: Outcome;
  /** Finding type -> count (all findings, including those beyond the kept locations). */
  counts: Record<string, number>;
  /** Up to `maxLocations` findings, in stream order. */
  findings: Finding[];
  /** True when more findings were counted than kept. */
  truncated: boolean;
  /** Formats this scanner recognized and judged (`pickle`, `torch-zip`, `csv`...). */
  formats: string[];
  /** Bytes of the artifact that went through the scan. */
  bytes: number;
}

/**
 * Finding types that mean "could not be judged": they make the outcome `unscannable`.
 * Scanners use these names for limits, unsupported encodings and structures past which
 * they cannot continue.
 */
export const INCOMPLETE_TYPES: ReadonlySet<string> = new Set([
  'scan-limit',
  'unsupported-encoding',
  'archive-unreadable',
  'scanner-error',
]);
