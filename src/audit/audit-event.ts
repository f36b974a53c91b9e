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

export interface VerifyResult {
  ok: boolean;
  /** Records checked. */
  checked: number;
  /** The first record that failed, with why. */
  firstBad?: { seq: number; reason: string };
  lastSeq: number;
  lastHash: string;
}

/**
 * The audit log. `record` resolves only once the event is durably stored; if it
 * rejects (AuditUnavailableError) the caller must not act: fail closed.
 */
export interface AuditLog {
  record(event: AuditEvent): Promise<{ seq: number }>;
  verify(): Promise<VerifyResult>;
  /** The log as JSON Lines (one stored record per line), streamed. */
  export(fromSeq?: number): AsyncIterable<string>;
}
