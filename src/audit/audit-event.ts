/** What happened, as the service layer reports it to the audit log. */
export interface AuditEvent {
  /** Epoch ms. */
  time: number;
  /** Request id, to correlate with logs and with the completion record. */
  requestId: string;
  actor: { id: string; name: string; kind: string } | null;
  /** Coffer action (`download`, `create-project`, `login`...). */
  action: string;
  /** Resource path (`coffer`, `project/ml`, `project/ml/artifact/resnet@2`). */
  resource: string;
  decision: 'allow' | 'deny';
  /** Determining policy ids of the decision. */
  policies: string[];
  /**
   * `attempt`: written before acting. `success`/`failure`: written after.
   * `denied`: refused (one record only).
   */
  outcome: 'attempt' | 'success' | 'failure' | 'denied';
  /** Plaintext bytes moved (downloads and uploads), on completion records. */
  bytes?: number;
  /** Error code on failure or the reason of a deny. */
  reason?: string;
  /** Request context: source ip, user agent, mfa, device (never secrets). */
  context: Record<string, unknown>;
  /**
   * Sensitive values (e-mail addresses, token hints, labels): stored only as
   * HMAC-SHA256 under the audit HMAC key so they can be matched, not read.
   */
  sensitive?: Record<string, string>;
}

/**
 * What is wrong with the first bad record of a chain:
 * - `changed`: a record's body or hash was altered in place;
 * - `deleted`: records are missing (a gap in the sequence);
 * - `inserted`: a record that the chain never held was added;
 * - `reordered`: a record (or its body) sits at another position than the one it was written at;
 * - `malformed`: a body is not a valid record of a known format version;
 * - `checkpoint`: a signed checkpoint has a bad signature or does not match the chain;
 * - `truncated`: the chain ends before a signed checkpoint (its tail was deleted);
 * - `witness`: the witness file itself was damaged or edited (see audit/checkpoint-witness.ts).
 */
export type AuditFaultKind = 'changed' | 'deleted' | 'inserted' | 'reordered' | 'malformed' | 'checkpoint' | 'truncated' | 'witness';

/** How much of the chain a witness outside the database vouches for. */
export interface WitnessCoverage {
  /** Where the witness was read (the witness file's path). */
  source: string;
  /** Valid signed entries read. */
  entries: number;
  /** The newest entry: the chain was checked against it. Null when the witness holds none. */
  newest: { seq: number; time: string; node: string } | null;
  /** What is wrong with the witness itself, if anything (also a verification failure). */
  fault: string | null;
}

export interface VerifyResult {
  ok: boolean;
  /** Records checked. */
  checked: number;
  /** The first record that failed, with why (`reason` starts with `kind`). */
  firstBad?: { seq: number; reason: string; kind?: AuditFaultKind };
  /** Seq of the last record that verified (0 if none). */
  lastSeq: number;
  /** Hash of the last record that verified (the genesis hash if none). */
  lastHash: string;
  /** With a witness configured: what it vouches for. */
  witness?: WitnessCoverage;
  /** With a witness configured: the highest seq a witness entry pins (0 = none); records after it are unwitnessed. */
  witnessedSeq?: number;
  /** With a witness configured: records after the newest witnessed checkpoint (`lastSeq - witnessedSeq`). */
  unwitnessed?: number;
  /** With a witness configured: the highest seq a checkpoint stored in the database pins (0 = none). */
  checkpointedSeq?: number;
}

/** A signed checkpoint as exported for a verifier: it pins record `seq` to `hash`. */
export interface ExportedCheckpoint {
  seq: number;
  /** Hex SHA-256 chain hash of record `seq`. */
  hash: string;
  /** Hex Ed25519 signature (see audit/checkpoint.ts for the signed bytes). */
  signature: string;
}

export interface VerifyOptions {
  /**
   * A checkpoint exported earlier and kept outside the database: verification fails
   * unless the chain still holds record `seq` with that hash (detects tail deletion).
   */
  checkpoint?: ExportedCheckpoint;
}

/**
 * The audit log. `record` resolves only once the event is durably stored; if it
 * rejects (AuditUnavailableError) the caller must not act: fail closed.
 */
export interface AuditLog {
  record(event: AuditEvent): Promise<{ seq: number }>;
  verify(options?: VerifyOptions): Promise<VerifyResult>;
  /** The log as JSON Lines (one stored record per line), streamed. */
  export(fromSeq?: number): AsyncIterable<string>;
  /** Signs and stores a checkpoint of the current tail, to be kept outside the database. */
  checkpoint(): Promise<ExportedCheckpoint>;
  /** The public key (base64url Ed25519) that verifies checkpoints. */
  readonly publicKey: string;
}
