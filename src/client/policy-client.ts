import { callApi } from './coffer-client.js';

/** A policy file as sent to the server. */
export interface PolicySourceInput { name: string; text: string }
export interface PolicySummaryInfo { id: string; kind: string; source: string; line: number; column: number }
export interface ActivePolicyInfo { version: number; activation: number; digest: string; failure?: string }
export interface PolicyVersionInfo { version: number; digest: string; policies: number; message: string; createdBy: string; createdAt: string; active: boolean }
export interface PolicyActivationInfo { seq: number; version: number; kind: 'apply' | 'rollback'; activatedBy: string; activatedAt: string }
export interface PolicyVersionDetailInfo { version: number; sources: PolicySourceInput[]; policies: { id: string; at: string }[]; digest: string; message: string; createdBy: string | null; createdAt: string | null; active: boolean }
export interface ActivationInfo { version: number; activation: number; policies: number; unchanged: boolean }
export interface DecisionInfo { allowed: boolean; determining: string[]; errors: string[] }
export interface PolicyTestReportInfo { tested: 'draft' | { version: number }; passed: number; failed: number; results: { name: string; passed: boolean; expected: string; decision: DecisionInfo; message: string }[] }
export interface DiffedPolicyInfo { id: string; at: string; text: string }
export interface PolicyDiffInfo { from: number; to: number | 'draft'; added: DiffedPolicyInfo[]; removed: DiffedPolicyInfo[]; changed: { id: string; before: DiffedPolicyInfo; after: DiffedPolicyInfo; lines: string[] }[]; unchanged: string[] }
export interface ExplainedPolicyInfo { id: string; effect: 'permit' | 'forbid'; kind: 'policy' | 'grant' | 'admin'; policyId: string; at: string; text: string; error?: string }
export interface ExplainInfo {
  request: { principal: string; action: string; resource: string; context: { sourceIp: string; time: string; mfa: string[]; mfaAgeSeconds: number; deviceManaged: boolean } };
  policyVersion: number;
  allowed: boolean;
  cause: string;
  summary: string;
  determining: ExplainedPolicyInfo[];
  errored: ExplainedPolicyInfo[];
  grants: { grant: string; holder: string; role: string; scope: string; expiresAt: string | null; status: string }[];
  suggestion: string | null;
  notes: string[];
}
export interface ImpactChangeInfo { actor: string; action: string; resource: string; from: 'allow' | 'deny'; to: 'allow' | 'deny'; recorded: 'allow' | 'deny'; count: number; firstSeq: number; lastSeq: number; lastTime: string; draftDetermining: string[]; draftErrors: string[] }
export interface ImpactInfo { days: number; since: string; examined: number; replayed: number; skipped: Record<string, number>; toDeny: number; toAllow: number; drifted: number; changes: ImpactChangeInfo[]; truncated: boolean }
export interface ExplainContextInfo { sourceIp?: string; time?: number; mfa?: string[]; mfaAgeSeconds?: number; deviceManaged?: boolean; localHour?: number; localWeekday?: string }

/** Typed client of the policy management API (`/v1/policy`, `/v1/authz/explain`). */
export class PolicyClient {
  constructor(private readonly options: { baseUrl: string; token?: string | undefined; userAgent?: string }) {}

  list() { return this.call<{ active: ActivePolicyInfo; versions: PolicyVersionInfo[]; activations: PolicyActivationInfo[] }>('GET', '/v1/policy'); }
  show(version: number) { return this.call<PolicyVersionDetailInfo>('GET', `/v1/policy/versions/${version}`); }
  validate(sources: PolicySourceInput[]) { return this.call<{ policies: PolicySummaryInfo[] }>('POST', '/v1/policy/validate', { sources }); }
  format(sources: PolicySourceInput[]) { return this.call<{ sources: PolicySourceInput[] }>('POST', '/v1/policy/format', { sources }); }
  test(input: { sources?: PolicySourceInput[]; tests: unknown[] }) { return this.call<PolicyTestReportInfo>('POST', '/v1/policy/test', input); }
  diff(input: { sources?: PolicySourceInput[]; from?: number; to?: number }) { return this.call<PolicyDiffInfo>('POST', '/v1/policy/diff', input); }
  apply(input: { sources: PolicySourceInput[]; message?: string }) { return this.call<ActivationInfo>('POST', '/v1/policy/apply', input); }
  rollback(version?: number) { return this.call<ActivationInfo>('POST', '/v1/policy/rollback', version === undefined ? {} : { version }); }
  impact(input: { sources: PolicySourceInput[]; days: number }) { return this.call<ImpactInfo>('POST', '/v1/policy/impact', input); }
  explain(input: { principal: string; action: string; resource: 'system' | { project: string; artifact?: string; version?: number }; context?: ExplainContextInfo }) {
    return this.call<ExplainInfo>('POST', '/v1/authz/explain', input);
  }

  private call<T>(method: string, path: string, body?: unknown): Promise<T> {
    return callApi<T>(this.options, method, path, { body });
  }

}
