/**
 * The policy index is updated in place when links come and go after decisions were
 * made (its per-action lists are built on first use): a set changed step by step must
 * decide exactly as a set built fresh from the final links, and as a scan of every
 * instance with its full scope test.
 */
import { it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { compilePolicyTexts } from './policy-text.js';
import { EntityStore } from './entity-store.js';
import { EntityUid } from './values.js';
import type { Env } from './compile-expr.js';
import type { CompiledPolicySet } from './compiled-policy-set.js';

const TEMPLATES = {
  reader: 'permit (principal in ?principal, action in Action::"read", resource in ?resource);',
  writer: 'permit (principal == ?principal, action in [Action::"write", Action::"read"], resource in ?resource);',
  deny: 'forbid (principal in ?principal, action == Action::"write", resource == ?resource);',
};
const STATIC = {
  any: 'permit (principal, action == Action::"view", resource is R);',
  typed: 'permit (principal is U in G::"g0", action, resource in P::"p1") when { resource has n };',
};

const u = (id: string) => new EntityUid('U', id);
const g = (id: string) => new EntityUid('G', id);
const p = (id: string) => new EntityUid('P', id);
const r = (id: string) => new EntityUid('R', id);
const act = (id: string) => new EntityUid('Action', id);

function store(): EntityStore {
  const s = EntityStore.fromJson([
    { uid: { type: 'U', id: 'u0' }, attrs: {}, parents: [{ type: 'G', id: 'g0' }] },
    { uid: { type: 'U', id: 'u1' }, attrs: {}, parents: [{ type: 'G', id: 'g1' }, { type: 'G', id: 'g0' }] },
    { uid: { type: 'U', id: 'u2' }, attrs: {}, parents: [] },
    { uid: { type: 'G', id: 'g0' }, attrs: {}, parents: [] },
    { uid: { type: 'G', id: 'g1' }, attrs: {}, parents: [{ type: 'G', id: 'g0' }] },
    { uid: { type: 'R', id: 'r0' }, attrs: { n: 1 }, parents: [{ type: 'P', id: 'p0' }] },
    { uid: { type: 'R', id: 'r1' }, attrs: {}, parents: [{ type: 'P', id: 'p1' }] },
    { uid: { type: 'R', id: 'r2' }, attrs: { n: 2 }, parents: [{ type: 'P', id: 'p1' }] },
    { uid: { type: 'P', id: 'p0' }, attrs: {}, parents: [] },
    { uid: { type: 'P', id: 'p1' }, attrs: {}, parents: [] },
    { uid: { type: 'Action', id: 'write' }, attrs: {}, parents: [{ type: 'Action', id: 'read' }] },
  ]);
  return s;
}

const PRINCIPALS = [u('u0'), u('u1'), u('u2'), g('g0'), g('g1')];
const RESOURCES = [r('r0'), r('r1'), r('r2'), p('p0'), p('p1')];
const ACTIONS = [act('read'), act('write'), act('view')];

const linkArb = fc.record({
  template: fc.constantFrom('reader', 'writer', 'deny'),
  principal: fc.integer({ min: 0, max: PRINCIPALS.length - 1 }),
  resource: fc.integer({ min: 0, max: RESOURCES.length - 1 }),
});
const stepArb = fc.oneof(
  fc.record({ op: fc.constant('link' as const), link: linkArb }),
  fc.record({ op: fc.constant('unlink' as const), nth: fc.nat() }),
  fc.record({ op: fc.constant('decide' as const), principal: fc.nat(), action: fc.nat(), resource: fc.nat() }),
);

/** `answer` for every request over the test entities, one line each. */
function overAllRequests(entities: EntityStore, answer: (env: Env) => string): string[] {
  const out: string[] = [];
  for (const principal of PRINCIPALS) {
    for (const action of ACTIONS) {
      for (const resource of RESOURCES) {
        const env: Env = { principal, action, resource, context: new Map(), entities, slotPrincipal: undefined, slotResource: undefined };
        out.push(`${principal.key} ${action.key} ${resource.key}: ${answer(env)}`);
      }
    }
  }
  return out;
}

function decideAll(set: CompiledPolicySet, entities: EntityStore): string[] {
  return overAllRequests(entities, (env) => {
    const a = set.authorize(env);
    return `${a.decision} ${a.reasons.join(',')} ${a.errors.map((e) => e.policyId).join(',')}`;
  });
}

/** Every instance with its full scope test, no index: what the index must agree with. */
function scanAll(set: CompiledPolicySet, entities: EntityStore): string[] {
  return overAllRequests(entities, (env) => {
    const permits: string[] = [];
    const forbids: string[] = [];
    const errors: string[] = [];
    for (const inst of set.instanceList()) {
      env.slotPrincipal = inst.slotPrincipal;
      env.slotResource = inst.slotResource;
      if (!inst.policy.scope(env)) continue;
      try {
        if (inst.policy.condition !== null && !inst.policy.condition(env)) continue;
      } catch {
        errors.push(inst.id);
        continue;
      }
      (inst.policy.effect === 'permit' ? permits : forbids).push(inst.id);
    }
    const decision = forbids.length > 0 ? 'deny' : permits.length > 0 ? 'allow' : 'deny';
    const reasons = (forbids.length > 0 ? forbids : permits).sort();
    return `${decision} ${reasons.join(',')} ${errors.sort().join(',')}`;
  });
}

void it('decides as a fresh set and as a full scan after links come and go between decisions', () => {
  const entities = store();
  fc.assert(
    fc.property(fc.array(stepArb, { maxLength: 40 }), (steps) => {
      const set = compilePolicyTexts(STATIC, TEMPLATES);
      const live = new Map<string, { template: string; principal: number; resource: number }>();
      let next = 0;
      for (const s of steps) {
        if (s.op === 'link') {
          const id = `l${next++}`;
          set.link(s.link.template, id, { principal: PRINCIPALS[s.link.principal], resource: RESOURCES[s.link.resource] });
          live.set(id, s.link);
        } else if (s.op === 'unlink') {
          const ids = [...live.keys()];
          if (ids.length === 0) continue;
          const id = ids[s.nth % ids.length]!;
          assert.equal(set.unlink(id), true);
          live.delete(id);
        } else {
          const env: Env = {
            principal: PRINCIPALS[s.principal % PRINCIPALS.length]!,
            action: ACTIONS[s.action % ACTIONS.length]!,
            resource: RESOURCES[s.resource % RESOURCES.length]!,
            context: new Map(),
            entities,
            slotPrincipal: undefined,
            slotResource: undefined,
          };
          set.authorize(env);
        }
      }
      const fresh = compilePolicyTexts(STATIC, TEMPLATES);
      for (const [id, l] of live) fresh.link(l.template, id, { principal: PRINCIPALS[l.principal], resource: RESOURCES[l.resource] });
      const got = decideAll(set, entities);
      assert.deepEqual(got, decideAll(fresh, entities));
      assert.deepEqual(got, scanAll(set, entities));
      assert.equal(set.size, Object.keys(STATIC).length + live.size);
    }),
    { numRuns: 300 },
  );
});

void it('follows a change of an action group (a new entity store) without stale lists', () => {
  const set = compilePolicyTexts({ p: 'permit (principal, action in Action::"read", resource);' });
  const before = store();
  const env = (entities: EntityStore): Env => ({ principal: u('u0'), action: act('write'), resource: r('r0'), context: new Map(), entities, slotPrincipal: undefined, slotResource: undefined });
  assert.equal(set.authorize(env(before)).decision, 'allow');
  // the same action, no longer in the `read` group
  const after = EntityStore.fromJson([{ uid: { type: 'U', id: 'u0' }, attrs: {}, parents: [] }]);
  assert.equal(set.authorize(env(after)).decision, 'deny');
  assert.equal(set.authorize(env(before)).decision, 'allow');
});
