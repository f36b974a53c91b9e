/**
 * The access module's baseline rules (src/policy/baseline/access.cedar), for both
 * engines: who may request, approve, break glass and share; `bypass-promotion` (prod
 * other than by a promotion) is permitted to nobody unless a policy says so. Both engines must give the same decisions and determining policies.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CedarWasmEngine, CompiledEngine, readBaselinePack } from '../../src/policy/index.js';
import type { Decision, PolicyEngine } from '../../src/policy/policy-engine.js';
import { ADMINS_GROUP, R, alice, bob, carol, ci, grant, internalDev, intV1, p1, prodModel, prodV1, request, resV1, restricted, subject } from '../fixtures/policy/scenario.js';

const engines: Array<[string, PolicyEngine]> = [
  ['CedarWasmEngine', new CedarWasmEngine({ adminGroupId: ADMINS_GROUP })],
  ['CompiledEngine', new CompiledEngine({ adminGroupId: ADMINS_GROUP })],
];

const allow = (d: Decision, determining: string[]) => assert.deepEqual(d, { allowed: true, determining: [...determining].sort(), errors: [] });
const deny = (d: Decision) => {
  assert.equal(d.allowed, false);
  assert.deepEqual(d.errors, []);
};

for (const [name, engine] of engines) {
  void describe(`${name}: access baseline`, () => {
    const decide = engine.authorize.bind(engine);
    const admin = subject(carol, [], [ADMINS_GROUP]);

    void it('lets every authenticated principal request access, even to what it cannot see', () => {
      allow(decide(request(subject(bob), 'request-access', R.artifact(restricted))), ['access/request']);
      allow(decide(request(subject(ci), 'request-access', R.version(resV1))), ['access/request']);
      allow(decide(request(subject(bob), 'request-access', R.project(p1))), ['access/request']);
      deny(decide(request(subject(bob), 'read-metadata', R.artifact(restricted))));
    });

    void it('lets owners approve on their scope (restricted only through an artifact or version grant) and admins everywhere', () => {
      const projectOwner = grant(alice, 'owner', 'project', p1.id);
      allow(decide(request(subject(alice, [projectOwner]), 'approve-access', R.artifact(internalDev))), [projectOwner.id]);
      allow(decide(request(subject(alice, [projectOwner]), 'approve-access', R.project(p1))), [projectOwner.id]);
      deny(decide(request(subject(alice, [projectOwner]), 'approve-access', R.artifact(restricted))));
      const artifactOwner = grant(alice, 'owner', 'artifact', restricted.id);
      allow(decide(request(subject(alice, [artifactOwner]), 'approve-access', R.version(resV1))), [artifactOwner.id]);
      for (const role of ['reader', 'writer'] as const) {
        deny(decide(request(subject(bob, [grant(bob, role, 'project', p1.id)]), 'approve-access', R.artifact(internalDev))));
      }
      allow(decide(request(admin, 'approve-access', R.artifact(restricted))), ['admins-access']);
    });

    void it('lets only admins break glass', () => {
      allow(decide(request(admin, 'break-glass', R.artifact(restricted))), ['admins-access']);
      deny(decide(request(subject(alice, [grant(alice, 'owner', 'artifact', restricted.id)]), 'break-glass', R.artifact(restricted))));
      deny(decide(request(subject(bob), 'break-glass', R.project(p1))));
    });

    void it('lets writers and owners share a version, not readers', () => {
      const writer = grant(bob, 'writer', 'project', p1.id);
      allow(decide(request(subject(bob, [writer]), 'share', R.version(intV1))), [writer.id]);
      deny(decide(request(subject(bob, [grant(bob, 'reader', 'project', p1.id)]), 'share', R.version(intV1))));
      deny(decide(request(subject(bob, [writer]), 'share', R.version(resV1))));
      deny(decide(request(admin, 'share', R.version(intV1))));
    });

    void it('permits `bypass-promotion` (prod other than by a promotion) to nobody, whatever the role; the act itself stays with the grants', () => {
      const owner = grant(alice, 'owner', 'project', p1.id);
      const artifactOwner = grant(alice, 'owner', 'artifact', prodModel.id);
      const promoted = { ...R.version(intV1), artifact: { ...internalDev, environment: 'prod' as const } } as const;
      for (const target of [R.version(prodV1), R.artifact(prodModel), promoted, R.artifact(internalDev)]) {
        deny(decide(request(subject(alice, [owner, artifactOwner]), 'bypass-promotion', target)));
        deny(decide(request(admin, 'bypass-promotion', target)));
      }
      // the gate decides `delete` and `upload` on prod items with `bypass-promotion` too (service/prod-guard.ts)
      allow(decide(request(subject(alice, [owner]), 'delete', R.version(intV1))), [owner.id]);
      allow(decide(request(subject(alice, [owner]), 'delete', R.version(prodV1))), [owner.id]);
    });

    void it('lets a policy written for it permit `bypass-promotion`', () => {
      const text = `@id("release/alice")\npermit (principal == Coffer::User::"${alice.id}", action == Coffer::Action::"bypass-promotion", resource in Coffer::Project::"${p1.id}");\n`;
      const Engine = name === 'CedarWasmEngine' ? CedarWasmEngine : CompiledEngine;
      const withRelease = new Engine({ adminGroupId: ADMINS_GROUP, policies: [...readBaselinePack(), { name: 'release.cedar', text }] });
      allow(withRelease.authorize(request(subject(alice), 'bypass-promotion', R.artifact(prodModel))), ['release/alice']);
      deny(withRelease.authorize(request(subject(bob), 'bypass-promotion', R.artifact(prodModel))));
    });
  });
}
