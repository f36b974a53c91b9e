/**
 * The artifact gate (issue 17), as a library: streaming scanners that judge an artifact
 * while it streams past, and OpenSSF model signatures. Nothing here touches storage,
 * policy or HTTP; the request path plugs in through these seams:
 *
 * - Upload tee: `new ArtifactScan({ name, mediaType })`, `write(chunk)` for each plaintext
 *   chunk as the vault seals it, `end()` once the upload is complete -> `GateReport`
 *   (three verdicts: unsafe code, secrets, personal data; counts and locations, never values).
 * - Policy: `gateAttributes(report)` is the flat record Cedar sees (`resource.scan.*`).
 * - Signatures: `verifyModelSignature(bundle, publicKey)` then `checkModelFiles(...)`;
 *   `signModel(buildManifest(...), projectKey)` to sign on a user's behalf; offline,
 *   `hashModelFiles(dir)` gives the digests to check.
 *
 * A verdict of `unscannable` means a limit or an unsupported encoding stopped a scanner:
 * treat it as failing that check (fail closed).
 */
import type { GateReport } from './artifact-scan.js';
import { INCOMPLETE_TYPES } from './core/verdict.js';

export { ArtifactScan, scanArtifact, scanBytes, type ArtifactScanOptions, type GateReport } from './artifact-scan.js';
export { DEFAULT_LIMITS, resolveLimits, type GateLimits } from './core/limits.js';
export type { Finding, FindingLocation, Outcome, ScannerKind, Verdict } from './core/verdict.js';
export { detectFormat, detectTextKind, type ArtifactFormat, type FormatHints, type TextKind } from './detect-format.js';
export { DEFAULT_PII_OPTIONS, type PiiOptions, type PiiType } from './pii/detectors.js';
export { buildManifest, type ModelManifest, type ModelResource } from './signing/model-manifest.js';
export { DEFAULT_IGNORED, hashModelFiles } from './signing/model-files.js';
export { checkModelFiles, generateSigningKey, publicKeyHint, signModel, verifyModelSignature, type SigningAlgorithm, type SigningKeyPair, type VerifiedModelSignature } from './signing/model-signature.js';

/** What policy sees of a scan: one flag per check (unscannable counts as failing), and counts. */
export interface GateAttributes {
  /** Unsafe serialized code found, or the artifact could not be judged. */
  unsafeCode: boolean;
  /** Secrets found, or the text could not be fully scanned. */
  secrets: boolean;
  /** Personal data found, or the text could not be fully scanned. */
  pii: boolean;
  /** Some scanner could not finish (a limit, an encoding it cannot read). */
  unscannable: boolean;
  secretCount: number;
  piiCount: number;
}

/** The flat record a policy engine sees for a report. */
export function gateAttributes(report: GateReport): GateAttributes {
  const total = (counts: Record<string, number>) => Object.entries(counts).reduce((a, [type, n]) => (INCOMPLETE_TYPES.has(type) ? a : a + n), 0);
  return {
    unsafeCode: report.unsafeCode.outcome !== 'clean',
    secrets: report.secrets.outcome !== 'clean',
    pii: report.pii.outcome !== 'clean',
    unscannable: [report.unsafeCode, report.secrets, report.pii].some((v) => v.outcome === 'unscannable'),
    secretCount: total(report.secrets.counts),
    piiCount: total(report.pii.counts),
  };
}
