/**
 * service/policy/: policy management use cases (versioned policy sets: validate, test,
 * diff, apply, rollback, list, show; explain a decision; impact analysis over the audit
 * log), the runtime's swappable policy decision point and its sync across nodes.
 */
export { PolicyService } from './policy-service.js';
export { openPolicyRuntime, type PolicyRuntime } from './open-policy-runtime.js';
export type { PolicyDeps } from './policy-deps.js';
export type { ActivationResult } from './apply-policies.js';
export type { PolicyTestReport } from './test-policies.js';
export type { ExplainView, ExplainContextInput } from './explain-access.js';
export type { ImpactReport, ImpactChange } from './policy-impact.js';
export type { TargetInput } from './resolve-target.js';
export type * from './policy-views.js';
export { POLICY_SYNC_INTERVAL_MS } from './policy-sync.js';
