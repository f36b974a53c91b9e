/**
 * policy/: Coffer's policy decision point. Cedar schema (schema.cedarschema) and
 * baseline pack (baseline/*.cedar), the mapping of requests to Cedar entities, grants
 * as template links, and two engines implementing the PolicyEngine port:
 * CompiledEngine (Coffer's compiled evaluator, the one to serve with) and
 * CedarWasmEngine (the official engine, the reference). Cedar and WASM types stay
 * inside this module.
 */
export { ACTIONS, type AccessRequest, type Action, type Decision, type PolicyEngine, type RequestContext, type ResourceRef, type Subject } from './policy-engine.js';
export { CompiledEngine } from './compiled-engine.js';
export { CedarWasmEngine, type CedarWasmEngineOptions, type PolicyEngineOptions } from './cedar-wasm-engine.js';
export type { PolicySource } from './load-policy-set.js';
export { validatePolicySources, type PolicySummary } from './validate-policy-sources.js';
export { readBaselinePack, readSchemaText } from './policy-files.js';
export { isGrantActive } from './grant-links.js';
