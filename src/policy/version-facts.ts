import type { Artifact, ArtifactVersion, ScanState, Tier } from '../domain/types.js';

/** What policy sees of a version's gate scan (`resource.scan`, schema.cedarschema). */
export interface ScanFacts {
  /** `pending` until the scanner's verdict is written: treat as failing. */
  state: ScanState;
  unsafeCode: boolean;
  secrets: boolean;
  pii: boolean;
  /** An approved gate exception (four eyes) overrides the block. */
  excepted: boolean;
}

/**
 * The scan facts of a version, one definition for both engines (the compiled evaluator
 * and the cedar-wasm reference), so they cannot disagree.
 */
export function scanFacts(version: ArtifactVersion): ScanFacts {
  const scan = version.scan ?? null;
  if (scan === null) return { state: 'pending', unsafeCode: false, secrets: false, pii: false, excepted: false };
  return { state: scan.state, unsafeCode: scan.unsafeCode, secrets: scan.secrets, pii: scan.pii, excepted: scan.exceptionRequestId !== null };
}

/**
 * The tier policy sees on a version: its artifact's, raised to `restricted` while the gate
 * found personal data in it that no approved exception has cleared (issue 17: a
 * personal-data finding raises the version's tier for review). Restricted items are
 * reachable only through explicit artifact or version grants.
 */
export function versionTier(version: ArtifactVersion, artifact: Artifact): Tier {
  const scan = version.scan ?? null;
  if (scan !== null && scan.pii && scan.exceptionRequestId === null) return 'restricted';
  return artifact.tier;
}
