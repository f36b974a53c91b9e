/**
 * Runs one differential case on cedar-wasm (`isAuthorized`, no schema) and on the
 * compiled evaluator, and compares what Cedar defines: whether the request is accepted,
 * then the decision, the determining policies and the erroring policies.
 */
import * as cedar from '@cedar-policy/cedar-wasm/nodejs';
import { CompiledPolicySet } from '../../src/policy/compiled/compiled-policy-set.js';
import { authorizeJsonRequest } from '../../src/policy/compiled/json-request.js';
import { EntityUid } from '../../src/policy/compiled/values.js';
import type { DifferentialCase } from './cedar-arbitraries.js';

/** What both engines are compared on. */
export type Outcome = { type: 'failure' } | { type: 'success'; decision: string; reasons: string[]; errors: string[] };

/** cedar-wasm's outcome, or null if cedar-wasm refuses the policy text itself. */
export function officialOutcome(c: DifferentialCase): Outcome | null {
  const policies = { staticPolicies: c.policies, templates: c.templates, templateLinks: c.links };
  const answer = cedar.isAuthorized({
    principal: c.principal,
    action: c.action,
    resource: c.resource,
    context: c.context as cedar.Context,
    policies,
    entities: c.entities as cedar.Entities,
  });
  if (answer.type === 'failure') return cedar.checkParsePolicySet(policies).type === 'failure' ? null : { type: 'failure' };
  const d = answer.response;
  return {
    type: 'success',
    decision: d.decision,
    reasons: [...d.diagnostics.reason].sort(),
    errors: [...new Set(d.diagnostics.errors.map((e) => e.policyId))].sort(),
  };
}

/** The compiled evaluator's outcome. */
export function compiledOutcome(c: DifferentialCase): Outcome {
  const set = new CompiledPolicySet([
    ...Object.entries(c.policiesJson).map(([id, json]) => ({ id, kind: 'policy' as const, json })),
    ...Object.entries(c.templatesJson).map(([id, json]) => ({ id, kind: 'template' as const, json })),
  ]);
  for (const l of c.links) {
    const p = l.values['?principal'];
    const r = l.values['?resource'];
    set.link(l.templateId, l.newId, {
      principal: p === undefined ? undefined : new EntityUid(p.type, p.id),
      resource: r === undefined ? undefined : new EntityUid(r.type, r.id),
    });
  }
  const answer = authorizeJsonRequest(set, { principal: c.principal, action: c.action, resource: c.resource, context: c.context, entities: c.entities });
  if (answer.type === 'failure') return { type: 'failure' };
  return { type: 'success', decision: answer.result.decision, reasons: answer.result.reasons, errors: answer.result.errors.map((e) => e.policyId) };
}
