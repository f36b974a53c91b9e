/**
 * Audit: the tamper-evident log of every access decision. Records are hash-chained
 * (SHA-256) in the MetadataStore, sensitive values are HMAC'd under a dedicated key,
 * checkpoints are signed with Ed25519 so a verifier holding an exported checkpoint
 * detects deletion of the tail. `HashChainAuditLog` writes with group commit and fails
 * closed; `verify`, `export` and `verifyExport` check and carry the chain.
 */
export type { AuditEvent, AuditFaultKind, AuditLog, ExportedCheckpoint, VerifyOptions, VerifyResult, WitnessCoverage } from './audit-event.js';
export { HashChainAuditLog, type AuditLogOptions, type AuditStore } from './hash-chain-audit-log.js';
export {
  generateAuditKeys,
  serializeAuditKeys,
  parseAuditKeys,
  exportAuditPublicKey,
  parseAuditPublicKey,
  hmacSensitive,
  SENSITIVE_PREFIX,
  type AuditKeys,
} from './audit-keys.js';
export { AUDIT_FORMAT_VERSION, GENESIS_HASH, hashAuditRecord, type AuditBodyV1 } from './audit-record.js';
export { canonicalJson } from './canonical-json.js';
export { signCheckpoint, checkpointSignatureValid } from './checkpoint.js';
export { verifyExport, type VerifyExportOptions } from './verify-export.js';
export { JsonLinesFileSink, type AuditSink } from './audit-sink.js';
export { WitnessFile, type CheckpointWitness, type WitnessedCheckpoint, type WitnessReading } from './checkpoint-witness.js';
export { AnonymousTraffic, sourceKey, type AnonymousLimits } from './anonymous-traffic.js';
