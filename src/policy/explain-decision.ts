import type { Grant, Role, ScopeKind } from '../domain/types.js';
import { ROLES } from '../domain/types.js';
import { ADMIN_TEMPLATES, grantTemplateId } from './cedar-names.js';
import type { CompiledEngine } from './compiled-engine.js';
import { isGrantActive } from './grant-links.js';
import type { PolicyEntry } from './load-policy-set.js';
import type { AccessRequest, Decision, ResourceRef } from './policy-engine.js';

/** A policy named by an explanation, with where its text comes from. */
export interface ExplainedPolicy {
  id: string;
  effect: 'permit' | 'forbid';
  /** `policy`: a static policy; `grant`: a grant (link of a grant template); `admin`: an admin link. */
  kind: 'policy' | 'grant' | 'admin';
  /** The policy, or for a link its template: id and `source:line:column`. */
  policyId: string;
  at: string;
  text: string;
  /** Cedar's evaluation error, for an erroring policy. */
  error?: string;
}

/** Why one of the subject's grants on the resource's chain did or did not count. */
export type GrantStatus = 'applied' | 'expired' | 'role-lacks-action' | 'condition-excluded' | 'overridden';

/** A grant of the subject (or one of its groups) on the resource or one of its parents. */
export interface GrantFinding {
  grantId: string;
  holderId: string;
  role: Role;
  scopeKind: ScopeKind;
  scopeId: string;
  expiresAt: number | null;
  status: GrantStatus;
}

/** The least change that would allow a denied request (no forbid or error involved). */
export type Suggestion = { kind: 'grant'; role: Role; scopeKind: ScopeKind; scopeId: string } | { kind: 'admins-group'; groupId: string };

/** A decision and why. */
export interface Explanation {
  decision: Decision;
  /**
   * - `permitted`: a permit holds and no forbid does;
   * - `forbidden`: a forbid holds (named in `determining`);
   * - `no-permit`: default deny, nothing permits (see `grants` and `suggestion`);
   * - `policy-error`: a policy errored: fail closed (named in `errored`);
   * - `bad-request`: the request does not fit the schema.
   */
  cause: 'permitted' | 'forbidden' | 'no-permit' | 'policy-error' | 'bad-request';
  /** One line for people. */
  summary: string;
  determining: ExplainedPolicy[];
  errored: ExplainedPolicy[];
  grants: GrantFinding[];
  suggestion: Suggestion | null;
}

/**
 * Explains the decision of `engine` on `request`: the determining policies with their
 * text and location, for a deny the forbid that holds, the policy that errored, or —
 * when nothing permits — what the subject's grants on the resource lack and the least
 * grant (role-major: reader before writer before owner, narrowest scope first) that
 * would allow it, found by deciding again with that grant added.
 */
export function explainDecision(engine: CompiledEngine, request: AccessRequest): Explanation {
  const facts = engine.diagnose(request);
  const { decision, messages } = facts;
  const entries = new Map<string, PolicyEntry>();
  for (const e of [...engine.policySet.policies, ...engine.policySet.templates]) entries.set(e.id, e);
  const grantsById = new Map(request.subject.grants.map((g) => [g.id, g]));
  const describe = (id: string): ExplainedPolicy => {
    const grant = grantsById.get(id);
    const admin = ADMIN_TEMPLATES.find((t) => t.linkId === id);
    const policyId = grant !== undefined ? grantTemplateId(grant.scopeKind, grant.role) : (admin?.templateId ?? id);
    const entry = entries.get(policyId);
    const effect = entry?.json.effect === 'forbid' ? 'forbid' : 'permit';
    return {
      id,
      effect,
      kind: grant !== undefined ? 'grant' : admin !== undefined ? 'admin' : 'policy',
      policyId,
      at: entry === undefined ? '-' : `${entry.source}:${entry.line}:${entry.column}`,
      text: entry?.text ?? '',
      ...(messages[id] !== undefined ? { error: messages[id] } : {}),
    };
  };

  if (decision.errors.some((e) => e.startsWith('request:'))) {
    return { decision, cause: 'bad-request', summary: `the request does not fit the schema: ${messages.request ?? decision.errors[0]!}`, determining: [], errored: [], grants: [], suggestion: null };
  }
  const determining = decision.determining.map(describe);
  const errored = decision.errors.map(describe);
  const grants = grantFindings(request, engine, facts);
  if (errored.length > 0) {
    const first = errored[0]!;
    return { decision, cause: 'policy-error', summary: `denied (fail closed): policy \`${first.id}\` (${first.at}) failed to evaluate: ${first.error ?? 'error'}`, determining, errored, grants, suggestion: null };
  }
  if (decision.allowed) {
    return { decision, cause: 'permitted', summary: `allowed by ${determining.map((p) => `\`${p.id}\``).join(', ')}`, determining, errored, grants, suggestion: null };
  }
  if (determining.length > 0) {
    return { decision, cause: 'forbidden', summary: `denied by forbid ${determining.map((p) => `\`${p.id}\` (${p.at})`).join(', ')}`, determining, errored, grants, suggestion: null };
  }
  const suggestion = suggest(engine, request);
  const lacking = grants.length === 0 ? 'no grant on the resource or its parents' : grants.map((g) => `grant \`${g.grantId}\` (${g.role} on ${g.scopeKind}): ${g.status}`).join('; ');
  const fix = suggestion === null ? '' : suggestion.kind === 'grant' ? `; a ${suggestion.role} grant on the ${suggestion.scopeKind} would allow it` : '; membership of the admins group would allow it';
  return { decision, cause: 'no-permit', summary: `denied: no policy permits \`${request.action}\` (${lacking})${fix}`, determining, errored, grants, suggestion };
}

function scopeChain(resource: ResourceRef): { kind: ScopeKind; id: string }[] {
  const out: { kind: ScopeKind; id: string }[] = [];
  if (resource.kind === 'version') out.push({ kind: 'version', id: resource.version.id });
  if (resource.kind === 'version' || resource.kind === 'artifact') out.push({ kind: 'artifact', id: resource.artifact.id });
  if (resource.kind !== 'system') out.push({ kind: 'project', id: resource.project.id });
  return out;
}

function grantFindings(request: AccessRequest, engine: CompiledEngine, facts: { decision: Decision; permits: string[] }): GrantFinding[] {
  const { subject, resource, context, action } = request;
  const holders = new Set([subject.principal.id, ...subject.groupIds]);
  const chain = scopeChain(resource);
  const permits = new Set(facts.permits);
  const out: GrantFinding[] = [];
  for (const g of subject.grants) {
    if (!holders.has(g.principalId) || !chain.some((c) => c.kind === g.scopeKind && c.id === g.scopeId)) continue;
    let status: GrantStatus;
    if (!isGrantActive(g, context.now)) status = 'expired';
    else if (!engine.actionIn(action, `role/${g.role}`)) status = 'role-lacks-action';
    else if (!permits.has(g.id)) status = 'condition-excluded';
    else status = facts.decision.allowed ? 'applied' : 'overridden';
    out.push({ grantId: g.id, holderId: g.principalId, role: g.role, scopeKind: g.scopeKind, scopeId: g.scopeId, expiresAt: g.expiresAt, status });
  }
  return out;
}

function suggest(engine: CompiledEngine, request: AccessRequest): Suggestion | null {
  const { subject } = request;
  for (const role of ROLES) {
    for (const scope of scopeChain(request.resource)) {
      const hypothetical: Grant = { id: 'grt_hypothetical', principalId: subject.principal.id, role, scopeKind: scope.kind, scopeId: scope.id, createdBy: subject.principal.id, createdAt: 0, expiresAt: null };
      if (engine.authorize({ ...request, subject: { ...subject, grants: [...subject.grants, hypothetical] } }).allowed) {
        return { kind: 'grant', role, scopeKind: scope.kind, scopeId: scope.id };
      }
    }
  }
  const admins = engine.adminGroup;
  if (admins !== null && !subject.groupIds.includes(admins) && engine.authorize({ ...request, subject: { ...subject, groupIds: [...subject.groupIds, admins] } }).allowed) {
    return { kind: 'admins-group', groupId: admins };
  }
  return null;
}
