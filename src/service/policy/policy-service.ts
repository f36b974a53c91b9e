import type { Action, PolicySource } from '../../policy/index.js';
import type { Caller } from '../caller.js';
import type { ServiceDeps } from '../deps.js';
import type { Gate } from '../gate.js';
import { applyPolicies } from './apply-policies.js';
import { diffPolicies } from './diff-policies.js';
import { explainAccess, type ExplainContextInput } from './explain-access.js';
import type { PolicyDeps } from './policy-deps.js';
import { policyImpact } from './policy-impact.js';
import { listPolicyVersions, showPolicyVersion } from './policy-versions.js';
import type { TargetInput } from './resolve-target.js';
import { rollbackPolicies } from './rollback-policies.js';
import { testPolicies } from './test-policies.js';
import { validatePolicies } from './validate-policies.js';
import { formatPolicies } from './format-policies.js';

/**
 * Policy management use cases (docs/policy.md), each authorized and audited through
 * the shared Gate: `read-policy` to read, validate, test, diff and explain,
 * `manage-policy` to apply and roll back, `read-audit` for impact analysis.
 */
export class PolicyService {
  constructor(
    private readonly deps: ServiceDeps,
    private readonly gate: Gate,
    private readonly pdeps: PolicyDeps,
  ) {}

  validate(caller: Caller, sources: PolicySource[]) {
    return validatePolicies(this.gate, this.pdeps, caller, sources);
  }

  format(caller: Caller, sources: PolicySource[]) {
    return formatPolicies(this.gate, caller, sources);
  }
  test(caller: Caller, input: { sources?: PolicySource[]; tests: unknown }) {
    return testPolicies(this.gate, this.pdeps, caller, input);
  }
  diff(caller: Caller, input: { sources?: PolicySource[]; from?: number; to?: number }) {
    return diffPolicies(this.gate, this.pdeps, caller, input);
  }
  apply(caller: Caller, input: { sources: PolicySource[]; message?: string }) {
    return applyPolicies(this.deps, this.gate, this.pdeps, caller, input);
  }
  rollback(caller: Caller, input: { version?: number }) {
    return rollbackPolicies(this.deps, this.gate, this.pdeps, caller, input);
  }
  list(caller: Caller) {
    return listPolicyVersions(this.deps, this.gate, this.pdeps, caller);
  }
  show(caller: Caller, version?: number) {
    return showPolicyVersion(this.deps, this.gate, this.pdeps, caller, version);
  }
  explain(caller: Caller, input: { principal: string; action: Action; resource: TargetInput; context?: ExplainContextInput }) {
    return explainAccess(this.deps, this.gate, this.pdeps, caller, input);
  }
  impact(caller: Caller, input: { sources: PolicySource[]; days: number }) {
    return policyImpact(this.deps, this.gate, this.pdeps, caller, input);
  }
}
