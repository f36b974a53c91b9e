import { it } from 'node:test';
import assert from 'node:assert/strict';
import { explainDecision } from './explain-decision.js';
import { PolicySetFactory } from './policy-set-factory.js';
import { ADMINS_GROUP, NOW, R, alice, carol, context, grant, internalDev, p1, prodModel, request, resV1, restricted, subject } from '../../test/fixtures/policy/scenario.js';

const factory = new PolicySetFactory({ trustedNetworks: ['10.0.0.0/8'] });
const overflow = { name: 'risky.cedar', text: '@id("risky")\nforbid (principal, action == Coffer::Action::"promote", resource)\nwhen { context.mfa.ageSeconds * 9223372036854775807 > 0 };\n' };
const engine = factory.engine([overflow], ADMINS_GROUP);

void it('explains an allow by the grants and policies that permit it', () => {
  const g = grant(alice, 'reader', 'project', p1.id);
  const e = explainDecision(engine, request(subject(alice, [g]), 'download', R.artifact(internalDev)));
  assert.equal(e.cause, 'permitted');
  assert.deepEqual(e.determining.map((p) => [p.id, p.kind, p.policyId, p.effect]), [[g.id, 'grant', 'grant/project-reader', 'permit']]);
  assert.match(e.determining[0]!.at, /^baseline\/grants\.cedar:\d+:1$/);
  assert.deepEqual(e.grants.map((f) => f.status), ['applied']);
});

void it('explains a deny by the forbid that holds, and marks the grant it overrode', () => {
  const g = grant(alice, 'owner', 'artifact', restricted.id);
  const e = explainDecision(engine, request(subject(alice, [g]), 'download', R.version(resV1), context({ sourceIp: '192.0.2.1' })));
  assert.equal(e.cause, 'forbidden');
  assert.deepEqual(e.determining.map((p) => [p.id, p.effect]), [['network/restricted-trusted-only', 'forbid']]);
  assert.deepEqual(e.grants.map((f) => f.status), ['overridden']);
  assert.match(e.summary, /denied by forbid `network\/restricted-trusted-only`/);
});

void it('explains a default deny: what each grant lacks and the least grant that would allow', () => {
  const expired = grant(alice, 'owner', 'project', p1.id, NOW - 1);
  const reader = grant(alice, 'reader', 'project', p1.id);
  const onRestricted = grant(alice, 'reader', 'project', p1.id);
  let e = explainDecision(engine, request(subject(alice, [expired, reader]), 'upload', R.artifact(internalDev)));
  assert.equal(e.cause, 'no-permit');
  assert.deepEqual(e.grants.map((f) => [f.grantId, f.status]), [[expired.id, 'expired'], [reader.id, 'role-lacks-action']]);
  assert.deepEqual(e.suggestion, { kind: 'grant', role: 'writer', scopeKind: 'artifact', scopeId: internalDev.id });
  e = explainDecision(engine, request(subject(alice, [onRestricted]), 'download', R.version(resV1)));
  assert.deepEqual(e.grants.map((f) => f.status), ['condition-excluded']);
  assert.deepEqual(e.suggestion, { kind: 'grant', role: 'reader', scopeKind: 'version', scopeId: resV1.id });
  // prod uploads are for owners only
  const writer = grant(alice, 'writer', 'project', p1.id);
  e = explainDecision(engine, request(subject(alice, [writer]), 'upload', R.artifact(prodModel)));
  assert.deepEqual(e.grants.map((f) => f.status), ['condition-excluded']);
  assert.deepEqual(e.suggestion, { kind: 'grant', role: 'owner', scopeKind: 'artifact', scopeId: prodModel.id });
  e = explainDecision(engine, request(subject(carol), 'rotate-keys', R.system()));
  assert.deepEqual(e.suggestion, { kind: 'admins-group', groupId: ADMINS_GROUP });
});

void it('explains a policy error (fail closed) and a request that does not fit the schema', () => {
  const g = grant(alice, 'owner', 'project', p1.id);
  let e = explainDecision(engine, request(subject(alice, [g]), 'promote', R.artifact(internalDev)));
  assert.equal(e.cause, 'policy-error');
  assert.deepEqual(e.errored.map((p) => [p.id, p.at]), [['risky', 'risky.cedar:1:1']]);
  assert.match(e.errored[0]!.error!, /overflow/);
  e = explainDecision(engine, request(subject(alice, [g]), 'download', R.project(p1)));
  assert.equal(e.cause, 'bad-request');
});
