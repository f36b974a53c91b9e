import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PolicyInvalidError } from '../domain/errors.js';
import { PolicySetFactory, policySetDigest } from './policy-set-factory.js';
import { NETWORK_SOURCE_NAME, parseTrustedNetworks } from './network-policy.js';
import { ADMINS_GROUP, R, alice, context, grant, internalDev, p1, request, subject } from '../../test/fixtures/policy/scenario.js';

const factory = new PolicySetFactory({ trustedNetworks: ['10.0.0.0/8'] });
const refuses = (custom: { name: string; text: string }[], pattern: RegExp) =>
  assert.throws(() => factory.engine(custom, null), (err: unknown) => {
    assert.ok(err instanceof PolicyInvalidError, String(err));
    assert.match(err.message, pattern);
    return true;
  });

void describe('PolicySetFactory', () => {
  void it('builds the built-in set (baseline + generated network rules) plus custom policies', () => {
    assert.equal(factory.builtin.at(-1)!.name, NETWORK_SOURCE_NAME);
    const custom = [{ name: 'no-dev-downloads.cedar', text: '@id("no-dev-downloads")\nforbid (principal, action == Coffer::Action::"download", resource)\nwhen { resource has environment && resource.environment == "dev" };\n' }];
    const engine = factory.engine(custom, ADMINS_GROUP);
    const g = grant(alice, 'reader', 'project', p1.id);
    assert.deepEqual(engine.authorize(request(subject(alice, [g]), 'download', R.artifact(internalDev))), { allowed: false, determining: ['no-dev-downloads'], errors: [] });
    assert.deepEqual(engine.authorize(request(subject(alice, [g]), 'read-metadata', R.artifact(internalDev))), { allowed: true, determining: [g.id], errors: [] });
    assert.deepEqual(factory.validate(custom), [{ id: 'no-dev-downloads', kind: 'policy', source: 'no-dev-downloads.cedar', line: 1, column: 1 }]);
  });

  void it('reports syntax and type errors of custom sources with file:line:column, as cedar-wasm words them', () => {
    refuses([{ name: 'a.cedar', text: '\n\n@id("x")\npermit (principal, action, resource) when { 1 + };\n' }], /a\.cedar:4:/);
    refuses([{ name: 'b.cedar', text: '@id("y")\npermit (principal, action, resource is Coffer::Artifact)\nwhen { resource.teir == "x" };\n' }], /b\.cedar:3:8.*teir/);
  });

  void it('refuses templates, reserved ids, ids of the built-in set and bad source names', () => {
    refuses([{ name: 't.cedar', text: '@id("t")\npermit (principal in ?principal, action, resource);\n' }], /cannot be templates/);
    refuses([{ name: 'g.cedar', text: '@id("grt_01abc")\npermit (principal, action, resource);\n' }], /reserved/);
    refuses([{ name: 'h.cedar', text: '@id("admins-system")\npermit (principal, action, resource);\n' }], /reserved/);
    refuses([{ name: 'i.cedar', text: '@id("authenticated-read-system")\npermit (principal, action, resource);\n' }], /already used at baseline\/system\.cedar/);
    refuses([{ name: 'baseline/x.cedar', text: '' }], /source name/);
    refuses([{ name: 'x.cedar', text: '' }, { name: 'x.cedar', text: '' }], /used twice/);
  });

  void it('digests a custom set by names and texts in order', () => {
    const a = { name: 'a', text: 'x' };
    const b = { name: 'b', text: 'y' };
    assert.equal(policySetDigest([a, b]), policySetDigest([{ ...a }, { ...b }]));
    assert.notEqual(policySetDigest([a, b]), policySetDigest([b, a]));
    assert.notEqual(policySetDigest([{ name: 'a', text: 'xy' }]), policySetDigest([{ name: 'ax', text: 'y' }]));
  });

  void it('checks trusted networks as Cedar parses them', () => {
    assert.deepEqual(parseTrustedNetworks([' 10.0.0.0/8', '192.168.1.7', 'fd00::/8']), ['10.0.0.0/8', '192.168.1.7/32', 'fd00::/8']);
    for (const bad of ['10.0.0.0/33', '::ffff:10.0.0.0/104', '10.0.0.0/8") || true || ip("1', 'example.com']) {
      assert.throws(() => parseTrustedNetworks([bad]), { code: 'COFFER_CONFIG_INVALID' }, bad);
    }
    assert.throws(() => new PolicySetFactory({ timeZone: 'Nowhere/Else' }), { code: 'COFFER_CONFIG_INVALID' });
    void context;
  });
});
