/**
 * Attack (issue 11, finding 3): `identity/step-up-admin` omitted `manage-policy` and
 * `read-policy`. A password-only admin session was refused "create user", yet
 * `POST /v1/policy/apply` succeeded, and the applied permit let a non-admin create
 * users. The class: an action added without deciding its step-up. One list
 * (src/policy/step-up-actions.ts) states the decision for every action of the schema;
 * the Cedar is checked against it, and both engines are asked about every action.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { PolicyJson } from '@cedar-policy/cedar-wasm/nodejs';
import { CedarWasmEngine, CompiledEngine, readBaselinePack, readSchemaText } from '../../src/policy/index.js';
import { ACTIONS } from '../../src/policy/policy-engine.js';
import type { Action, PolicyEngine, RequestContext, ResourceRef } from '../../src/policy/policy-engine.js';
import { loadPolicySet } from '../../src/policy/load-policy-set.js';
import { STEP_UP, STEP_UP_POLICY_IDS, stepUpActions } from '../../src/policy/step-up-actions.js';
import { ADMIN_PASSWORD } from '../integration/access-harness.js';
import { ADMINS_GROUP, R, carol, ci, context, grant, internalDev, intV1, p1, restricted, resV1, subject } from '../fixtures/policy/scenario.js';
import { openSecurityHarness } from './security-harness.js';
import type { SecurityHarness } from './security-harness.js';

type Err = { error: { code: string } };

/** Every action the schema declares (`action "a", "b" ... ;`). */
function schemaActions(schema: string): string[] {
  const out: string[] = [];
  for (const m of schema.matchAll(/^\s*action\s+((?:"[^"]+"\s*,?\s*)+)/gm)) {
    for (const name of m[1]!.matchAll(/"([^"]+)"/g)) out.push(name[1]!);
  }
  return out.sort();
}

/** The action ids a policy's `action in [...]` (or `==`) names. */
function policyActions(json: PolicyJson): string[] {
  const a = json.action as { op: string; entity?: { id: string }; entities?: Array<{ id: string }> };
  return (a.op === '==' ? [a.entity!.id] : (a.entities ?? []).map((e) => e.id)).sort();
}

void describe('step-up: one list, checked against the schema and the Cedar', () => {
  test('every action of the schema has a step-up decision, and the list names no other', () => {
    const declared = schemaActions(readSchemaText());
    assert.ok(declared.includes('manage-policy') && declared.includes('role/owner'), `parsed: ${declared.join(' ')}`);
    assert.deepEqual(Object.keys(STEP_UP).sort(), declared, 'a new action needs a decision in src/policy/step-up-actions.ts');
    for (const [action, d] of Object.entries(STEP_UP)) assert.ok(d.why.length > 10, `${action}: say why`);
    // the engine's actions are the schema's requestable ones
    assert.deepEqual([...ACTIONS].sort(), declared.filter((a) => STEP_UP[a as Action].rule !== 'action-group'));
  });

  test('identity.cedar enforces exactly the list (and no other policy reads the MFA context)', () => {
    const set = loadPolicySet(readSchemaText(), readBaselinePack());
    const byId = new Map(set.policies.map((p) => [p.id, p]));
    for (const rule of ['restricted', 'always'] as const) {
      const p = byId.get(STEP_UP_POLICY_IDS[rule]);
      assert.ok(p, `${STEP_UP_POLICY_IDS[rule]} is in the baseline`);
      assert.equal(p.json.effect, 'forbid');
      assert.deepEqual(policyActions(p.json), stepUpActions(rule), `${p.id} names the actions whose rule is \`${rule}\``);
    }
    const others = set.policies.filter((p) => !Object.values(STEP_UP_POLICY_IDS).includes(p.id as never) && p.text.includes('mfa'));
    assert.deepEqual(others.map((p) => p.id), [], 'step-up lives in one place');
  });

  // No baseline policy permits `bypass-promotion` (service/prod-guard.ts): a deployment's
  // own policy must, so the subject gets it here and only step-up can refuse it.
  const policies = [...readBaselinePack(), { name: 'release/bypass.cedar', text: `@id("release/bypass")\npermit (principal, action == Coffer::Action::"bypass-promotion", resource);\n` }];
  for (const [name, engine] of [
    ['CompiledEngine', new CompiledEngine({ adminGroupId: ADMINS_GROUP, policies })],
    ['CedarWasmEngine', new CedarWasmEngine({ adminGroupId: ADMINS_GROUP, policies })],
  ] as Array<[string, PolicyEngine]>) {
    test(`${name}: every action, asked by a user who may do it, with and without a fresh security key`, () => {
      // an admin who owns everything: every action is permitted to it, so only step-up can refuse
      const grants = [grant(carol, 'owner', 'project', p1.id), grant(carol, 'owner', 'artifact', restricted.id), grant(carol, 'owner', 'artifact', internalDev.id)];
      const user = subject(carol, grants, [ADMINS_GROUP]);
      const robot = subject({ ...ci }, [grant(ci, 'owner', 'project', p1.id), grant(ci, 'owner', 'artifact', restricted.id), grant(ci, 'owner', 'artifact', internalDev.id)], [ADMINS_GROUP]);
      const password: RequestContext = context({ mfa: { methods: ['password'], ageSeconds: 0 } });
      const fresh: RequestContext = context({ mfa: { methods: ['password', 'webauthn'], ageSeconds: 900 } });
      const stale: RequestContext = context({ mfa: { methods: ['password', 'webauthn'], ageSeconds: 901 } });
      const exempt: RequestContext = context({ mfa: { methods: ['token'], ageSeconds: 86_400 } });
      const enforced: RequestContext = context({ mfa: { methods: ['token', 'step-up-enforced'], ageSeconds: 0 } });
      const resources = (action: Action): Array<{ ref: ResourceRef; restricted: boolean }> => {
        const system = ['create-project', 'manage-principals', 'rotate-keys', 'read-audit', 'admin', 'read-policy', 'manage-policy'];
        if (system.includes(action)) return [{ ref: R.system(), restricted: false }];
        if (action === 'create-artifact') return [{ ref: R.project(p1), restricted: false }];
        if (action === 'share') return [{ ref: R.version(resV1), restricted: true }, { ref: R.version(intV1), restricted: false }];
        return [{ ref: R.artifact(restricted), restricted: true }, { ref: R.artifact(internalDev), restricted: false }];
      };
      const rows: string[] = [];
      for (const action of ACTIONS) {
        const rule = STEP_UP[action].rule;
        for (const { ref, restricted: isRestricted } of resources(action)) {
          const needs = rule === 'always' || (rule === 'restricted' && isRestricted);
          const ask = (ctx: RequestContext, who = user) => engine.authorize({ subject: who, action, resource: ref, context: ctx }).allowed;
          const where = `${action} on ${ref.kind}${isRestricted ? ' (restricted)' : ''}`;
          assert.equal(ask(fresh), true, `${where}: permitted with a fresh key (the test subject may do everything)`);
          assert.equal(ask(password), !needs, `${where}: password only`);
          assert.equal(ask(stale), !needs, `${where}: key assertion 901 s old`);
          assert.equal(ask(enforced), !needs, `${where}: token whose exemption was withdrawn`);
          assert.equal(ask(exempt), true, `${where}: setup-token lineage is exempt`);
          assert.equal(ask(password, robot), true, `${where}: service accounts are not concerned`);
          rows.push(`${where}: ${needs ? 'step-up' : 'no step-up'}`);
        }
      }
      assert.ok(rows.length >= ACTIONS.length);
    });
  }
});

void describe('attack: policy change and delegation without step-up', () => {
  let h: SecurityHarness;
  before(async () => {
    h = await openSecurityHarness();
  });
  after(async () => h.close());

  const widen = [{ name: 'widen.cedar', text: '@id("everyone-manages-principals")\npermit (principal, action == Coffer::Action::"manage-principals", resource is Coffer::System);\n' }];

  test('a password-only admin session can neither apply nor read policy', async () => {
    const s = await h.login('admin', ADMIN_PASSWORD);
    assert.equal((await h.json<Err>(s.accessToken, 'POST', '/v1/principals', { kind: 'user', name: 'x' })).body.error.code, 'COFFER_AUTH_STEP_UP_REQUIRED');
    const applied = await h.json<Err>(s.accessToken, 'POST', '/v1/policy/apply', { sources: widen });
    assert.equal(applied.status, 401, JSON.stringify(applied.body));
    assert.equal(applied.body.error.code, 'COFFER_AUTH_STEP_UP_REQUIRED');
    assert.equal((await h.json<Err>(s.accessToken, 'POST', '/v1/policy/rollback', {})).body.error.code, 'COFFER_AUTH_STEP_UP_REQUIRED');
    assert.equal((await h.json<Err>(s.accessToken, 'GET', '/v1/policy')).body.error.code, 'COFFER_AUTH_STEP_UP_REQUIRED');
    // nothing changed: erin still cannot create users
    assert.equal((await h.json(h.erinToken, 'POST', '/v1/principals', { kind: 'user', name: 'mallory' })).status, 403);
    // with a fresh security key it works (and is then undone)
    const up = await h.steppedUp('admin');
    assert.equal((await h.json(up, 'GET', '/v1/policy')).status, 200);
  });

  test('a password-only owner session cannot hand restricted data to a credential that needs no step-up', async () => {
    const up = await h.steppedUp('admin');
    assert.equal((await h.json(up, 'POST', '/v1/principals', { kind: 'service-account', name: 'erin-bot', owner: 'erin' })).status, 201);
    assert.equal((await h.json(up, 'POST', '/v1/grants', { principal: 'erin', role: 'owner', project: 'ml', artifact: 'secret' })).status, 201);
    const s = await h.login('erin', 'quartz-meadow-falcon-77');
    for (const [url, body] of [
      ['/v1/grants', { principal: 'erin-bot', role: 'reader', project: 'ml', artifact: 'secret' }],
      ['/v1/share-links', { project: 'ml', artifact: 'secret', version: 1, justification: 'send it to the vendor' }],
    ] as const) {
      const r = await h.json<Err>(s.accessToken, 'POST', url, body);
      assert.equal(r.body.error?.code, 'COFFER_AUTH_STEP_UP_REQUIRED', `${url}: ${r.status} ${JSON.stringify(r.body)}`);
    }
    // on internal data the same session needs no key
    assert.equal((await h.json(s.accessToken, 'POST', '/v1/grants', { principal: 'erin-bot', role: 'reader', project: 'ml', artifact: 'open' })).status, 403, 'a reader grant on `open` is not erin\'s to give');
  });
});
