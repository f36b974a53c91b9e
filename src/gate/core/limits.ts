/**
 * Bounds that keep every scanner's memory and work finite whatever the input. Reaching
 * one is a `scan-limit` finding: the verdict is `unscannable` (fail closed), never a
 * silent pass.
 */
export interface GateLimits {
  /** Finding locations kept per verdict (counts stay exact). */
  maxLocations: number;
  /** Longest text line scanned as one piece; longer lines are cut at a separator and scanned in pieces. */
  maxLineBytes: number;
  /** Deepest pickle stack (values). */
  pickleMaxStack: number;
  /** Most pickle memo entries tracked. */
  pickleMaxMemo: number;
  /** Items tracked inside pickle containers, over the whole scan (beyond: containers become opaque). */
  pickleTrackedItems: number;
  /** Characters of pickle strings kept for resolving globals, over the whole scan (beyond: strings are opaque). */
  pickleStringChars: number;
  /** Archives inside archives, pickles inside pickles. */
  maxNesting: number;
  /** Uncompressed bytes scanned inside one archive entry or compressed stream. */
  maxEntryBytes: number;
  /** Uncompressed bytes scanned inside all entries of one artifact. */
  maxTotalInflatedBytes: number;
  /** Entries of one archive. */
  maxArchiveEntries: number;
  /** Largest JSON document parsed (safetensors header, Keras config, HDF5 model_config). */
  maxJsonBytes: number;
  /** Deepest nesting of ONNX messages (graphs in attributes in nodes...). */
  maxProtobufDepth: number;
}

/** The defaults: generous for real checkpoints, bounded for hostile ones. */
export const DEFAULT_LIMITS: Readonly<GateLimits> = Object.freeze({
  maxLocations: 200,
  maxLineBytes: 256 * 1024,
  pickleMaxStack: 1_000_000,
  pickleMaxMemo: 1_000_000,
  pickleTrackedItems: 2_000_000,
  pickleStringChars: 8 * 1024 * 1024,
  maxNesting: 6,
  maxEntryBytes: 1024 * 1024 * 1024,
  maxTotalInflatedBytes: 4 * 1024 * 1024 * 1024,
  maxArchiveEntries: 1_000_000,
  maxJsonBytes: 16 * 1024 * 1024,
  maxProtobufDepth: 64,
});

/** Defaults with `overrides` applied. */
export function resolveLimits(overrides?: Partial<GateLimits>): GateLimits {
  return { ...DEFAULT_LIMITS, ...overrides };
}
