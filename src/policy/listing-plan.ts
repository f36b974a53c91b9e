import type { Action, ListingPlan, Subject } from './policy-engine.js';
import type { CompiledPolicySet } from './compiled/compiled-policy-set.js';
import type { CompiledPolicy, ScopeConstraint } from './compiled/compile-policy.js';
import type { EntityUid } from './compiled/values.js';
import { ENTITY_TYPE, grantTemplateId } from './cedar-names.js';
import { isGrantActive } from './grant-links.js';
import { principalUid } from './to-cedar-entities.js';

const CATALOG_TYPES: ReadonlySet<string> = new Set([ENTITY_TYPE.project, ENTITY_TYPE.artifact, ENTITY_TYPE.version]);

/** Everything: the plan of an engine that cannot narrow the candidates. */
export const UNBOUNDED_PLAN: ListingPlan = Object.freeze({ unbounded: true, projectIds: new Set<string>(), artifactIds: new Set<string>(), versionIds: new Set<string>() });

/**
 * The listing plan of `subject` for `action` (see ListingPlan): a static analysis of
 * the permits of the set (conditions are ignored: any may hold) and of the subject's
 * active grants. A permit that may apply to the subject and the action contributes the
 * entity its resource scope names (`==`, `in`, `is T in`), or makes the plan unbounded
 * if it names none (`resource`, `resource is Coffer::Artifact`). Forbids only remove
 * items, which the confirming decisions do.
 * INVARIANT: every catalog item an authorize(subject, action, item) may allow lies in a
 * scope of the plan, or the plan is unbounded (checked by listing-plan.test.ts).
 */
export function listingPlan(set: CompiledPolicySet, actionIn: (action: string, group: string) => boolean, subject: Subject, action: Action, nowMs: number): ListingPlan {
  let principal: EntityUid | { key: string; type: string };
  try {
    const uid = principalUid(subject.principal);
    principal = { key: `${uid.type}::${JSON.stringify(uid.id)}`, type: uid.type };
  } catch {
    // a group cannot act: nothing can be allowed
    return { unbounded: false, projectIds: new Set(), artifactIds: new Set(), versionIds: new Set() };
  }
  const holders = new Set([principal.key, ...subject.groupIds.map((g) => `${ENTITY_TYPE.group}::${JSON.stringify(g)}`)]);
  const plan = { unbounded: false, projectIds: new Set<string>(), artifactIds: new Set<string>(), versionIds: new Set<string>() };
  const add = (e: EntityUid): void => {
    if (e.type === ENTITY_TYPE.project) plan.projectIds.add(e.id);
    else if (e.type === ENTITY_TYPE.artifact) plan.artifactIds.add(e.id);
    else if (e.type === ENTITY_TYPE.version) plan.versionIds.add(e.id);
  };
  const actionMatches = (p: CompiledPolicy): boolean => {
    const a = p.action;
    if (a.op === 'All') return true;
    const ids = a.op === '==' ? [a.entity] : a.entities;
    return ids.some((e) => e.type === ENTITY_TYPE.action && actionIn(action, e.id));
  };
  const principalMatches = (c: ScopeConstraint, slot: EntityUid | undefined): boolean => {
    switch (c.op) {
      case 'All':
        return true;
      case '==':
        return (c.entity === 'slot' ? slot : c.entity)?.key === principal.key;
      case 'in':
        return holders.has((c.entity === 'slot' ? slot : c.entity)?.key ?? '');
      case 'is':
        return c.type === principal.type && (c.in === undefined || holders.has((c.in === 'slot' ? slot : c.in)?.key ?? ''));
    }
  };
  /** Adds what the resource scope allows; false if it allows catalog items anywhere. */
  const resourceScope = (c: ScopeConstraint, slot: EntityUid | undefined): boolean => {
    switch (c.op) {
      case 'All':
        return false;
      case '==':
      case 'in': {
        const e = c.entity === 'slot' ? slot : c.entity;
        if (e !== undefined) add(e);
        return true;
      }
      case 'is': {
        if (c.in === undefined) return !CATALOG_TYPES.has(c.type);
        const e = c.in === 'slot' ? slot : c.in;
        if (e !== undefined && CATALOG_TYPES.has(c.type)) add(e);
        return true;
      }
    }
  };

  for (const instance of set.instanceList()) {
    const p = instance.policy;
    if (p.effect !== 'permit' || !actionMatches(p) || !principalMatches(p.principal, instance.slotPrincipal)) continue;
    if (!resourceScope(p.resource, instance.slotResource)) return { ...UNBOUNDED_PLAN };
  }
  for (const g of subject.grants) {
    if (!isGrantActive(g, nowMs)) continue;
    const holder = g.principalId === subject.principal.id ? principal.key : `${ENTITY_TYPE.group}::${JSON.stringify(g.principalId)}`;
    if (!holders.has(holder)) continue;
    const t = set.template(grantTemplateId(g.scopeKind, g.role));
    if (t === undefined || t.effect !== 'permit' || !actionMatches(t)) continue;
    // grants are links of templates whose resource is `?resource` (or in it): anything else is not narrowed
    if (t.resource.op !== '==' && t.resource.op !== 'in') return { ...UNBOUNDED_PLAN };
    if (t.resource.entity !== 'slot') {
      if (!resourceScope(t.resource, undefined)) return { ...UNBOUNDED_PLAN };
      continue;
    }
    if (g.scopeKind === 'project') plan.projectIds.add(g.scopeId);
    else if (g.scopeKind === 'artifact') plan.artifactIds.add(g.scopeId);
    else plan.versionIds.add(g.scopeId);
  }
  return plan;
}
