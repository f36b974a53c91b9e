/**
 * policy/: Coffer's policy decision point. Cedar schema (schema.cedarschema) and
 * baseline pack (baseline/*.cedar), the mapping of requests to Cedar entities, grants
 * as template links, and two engines implementing the PolicyEngine port:
 * CompiledEngine (Coffer's compiled evaluator, the one to serve with) and
 * CedarWasmEngine (the official engine, the reference). Policy management builds on
 * PolicySetFactory (built-in set + custom policies), SwappableEngine (the active set,
 * replaced atomically), diffs, explanations and policy test cases. Cedar and WASM
 * types stay inside this module.
 */
export { ACTIONS, type AccessRequest, type Action, type Decision, type ListingPlan, type PolicyEngine, type RequestContext, type ResourceRef, type Subject } from './policy-engine.js';
export { UNBOUNDED_PLAN } from './listing-plan.js';
export { CompiledEngine } from './compiled-engine.js';
export { CedarWasmEngine, type CedarWasmEngineOptions, type PolicyEngineOptions } from './cedar-wasm-engine.js';
export type { PolicySource, PolicyEntry, ParsedPolicy } from './load-policy-set.js';
export { parsePolicySources } from './load-policy-set.js';
export { validatePolicySources, type PolicySummary } from './validate-policy-sources.js';
export { formatPolicySource } from './format-policy.js';
export { readBaselinePack, readSchemaText, packageRoot } from './policy-files.js';
export { STEP_UP, STEP_UP_POLICY_IDS, stepUpActions, type StepUpRule, type StepUpTable } from './step-up-actions.js';
export { isGrantActive } from './grant-links.js';
export { LocalClock, WEEKDAYS, assertTimeZone, type LocalTime, type Weekday } from './local-time.js';
export { ALL_NETWORKS, NETWORK_SOURCE_NAME, parseTrustedNetworks, trustedNetworkPolicy } from './network-policy.js';
export { PolicySetFactory, policySetDigest, MAX_CUSTOM_TEXT, type PolicySettings } from './policy-set-factory.js';
export { SwappableEngine, type ActivePolicy } from './swappable-engine.js';
export { diffPolicySets, lineDiff, type DiffedPolicy, type PolicyDiff } from './policy-diff.js';
export { explainDecision, type Explanation, type ExplainedPolicy, type GrantFinding, type GrantStatus, type Suggestion } from './explain-decision.js';
export {
  TEST_ADMINS_GROUP, parsePolicyTestFile, requestOfCase, runPolicyTests,
  type PolicyTestCase, type PolicyTestFile, type PolicyTestResult,
} from './policy-test-cases.js';
