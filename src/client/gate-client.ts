import type { AccessRequestInfo } from './access-client.js';
import { callApi } from './coffer-client.js';
import type { ClientOptions } from './coffer-client.js';

/** A version's artifact-gate verdict as the API shows it (GET /v1/gate/scans). */
export interface ScanInfo {
  version: string;
  state: 'pending' | 'clean' | 'flagged' | 'unscannable';
  unsafeCode: boolean;
  secrets: boolean;
  pii: boolean;
  effectiveTier: string;
  scannedAt: string | null;
  exceptionRequestId: string | null;
  /** The scanners' report: per scanner an outcome, counts by finding type and locations (never values). */
  report: {
    format: string;
    bytes: number;
    unsafeCode: ScanVerdictInfo;
    secrets: ScanVerdictInfo;
    pii: ScanVerdictInfo;
  } | null;
}

export interface ScanVerdictInfo {
  outcome: 'clean' | 'flagged' | 'unscannable';
  counts: Record<string, number>;
  findings: Array<{ type: string; detail?: string; location?: Record<string, unknown> }>;
  truncated: boolean;
  formats: string[];
}

/** Client of the artifact gate's API (docs/gate.md). */
export class GateClient {
  constructor(private readonly options: ClientOptions) {}

  scan(input: { project: string; artifact: string; version: number }) {
    return callApi<ScanInfo>(this.options, 'GET', '/v1/gate/scans', { query: input });
  }
  requestException(input: { project: string; artifact: string; version: number; justification: string }) {
    return callApi<AccessRequestInfo>(this.options, 'POST', '/v1/gate/exceptions', { body: input });
  }
}
