/**
 * CompiledEngine against CedarWasmEngine on random AccessRequests (fast-check), with
 * the baseline pack and with a pack that reads the whole context: same decision, same
 * determining ids, same erroring policies, and both deny requests that do not fit.
 */
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { CedarWasmEngine } from './cedar-wasm-engine.js';
import { CompiledEngine } from './compiled-engine.js';
import { packageRoot, readBaselinePack } from './policy-files.js';
import { trustedNetworkPolicy } from './network-policy.js';
import { ACTIONS, type AccessRequest, type Decision, type ResourceRef } from './policy-engine.js';
import { ROLES, SCOPE_KINDS, type Grant, type Principal } from '../domain/types.js';
import * as S from '../../test/fixtures/policy/scenario.js';

const principals: Principal[] = [S.alice, S.bob, S.carol, S.ci, S.dataScience];
const groupPool = [S.ADMINS_GROUP, S.dataScience.id, S.mlTeam.id];
const resources: ResourceRef[] = [
  S.R.system(), S.R.project(S.p1), S.R.project(S.p2),
  S.R.artifact(S.internalDev), S.R.artifact(S.restricted), S.R.artifact(S.prodModel), S.R.artifact(S.otherProject),
  S.R.version(S.intV1), S.R.version(S.intV2), S.R.version(S.resV1), S.R.version(S.prodV1), S.R.version(S.otherV1),
  { kind: 'version', project: S.p1, artifact: S.internalDev, version: S.resV1 },
];
const scopeIds = { project: [S.p1.id, S.p2.id], artifact: [S.internalDev.id, S.restricted.id, S.prodModel.id, S.otherProject.id], version: [S.intV1.id, S.resV1.id, S.prodV1.id] };

const grantArb: fc.Arbitrary<Grant> = fc
  .record({
    holder: fc.constantFrom(S.alice.id, S.bob.id, S.ci.id, S.dataScience.id, S.mlTeam.id),
    role: fc.constantFrom(...ROLES),
    scopeKind: fc.constantFrom(...SCOPE_KINDS),
    pick: fc.nat(),
    expires: fc.constantFrom(null, S.NOW - 1, S.NOW, S.NOW + 1, S.NOW + 86400000),
    id: fc.integer({ min: 1, max: 6 }),
  })
  .map((g) => ({
    id: `grt_${g.id}`,
    principalId: g.holder,
    role: g.role,
    scopeKind: g.scopeKind,
    scopeId: scopeIds[g.scopeKind][g.pick % scopeIds[g.scopeKind].length]!,
    createdBy: S.carol.id,
    createdAt: 0,
    expiresAt: g.expires,
  }));

/** Usually one of `good`, sometimes one of `bad`. */
function mostly<T>(good: T[], bad: T[]): fc.Arbitrary<T> {
  return fc.oneof({ weight: 6, arbitrary: fc.constantFrom(...good) }, { weight: 1, arbitrary: fc.constantFrom(...bad) });
}

const requestArb: fc.Arbitrary<AccessRequest> = fc.record({
  subject: fc.record({
    principal: fc.constantFrom(...principals),
    groupIds: fc.subarray(groupPool),
    grants: fc.array(grantArb, { maxLength: 4 }),
  }),
  action: fc.constantFrom(...ACTIONS),
  resource: fc.constantFrom(...resources),
  context: fc.record({
    sourceIp: mostly(['10.1.2.3', '10.9.9.9', '127.0.0.1', '192.168.0.1', '::1'], ['10.0.0.1/8', '10.0.0.300', 'fe80::1%eth0']),
    now: mostly([S.NOW, Date.UTC(2025, 2, 4, 19), Date.UTC(2019, 0, 1, 9), S.NOW + 0.7], [1.5, -1, Number.NaN, 253402300800000, -62167219200001]),
    mfa: fc.record({
      methods: fc.subarray(['password', 'totp', 'webauthn']),
      ageSeconds: mostly([0, 60, 7200], [9223372, 2 ** 53, 1.5]),
    }),
    device: fc.record({ managed: fc.boolean(), id: fc.constantFrom('', 'dev-1') }),
    sourceIpMapped: fc.boolean(),
    pin: fc.oneof(
      { weight: 4, arbitrary: fc.constant({}) },
      { weight: 2, arbitrary: fc.record({ localHour: fc.integer({ min: 0, max: 23 }), localWeekday: fc.constantFrom('mon', 'sat', 'sun') }) },
      { weight: 1, arbitrary: fc.record({ localHour: fc.constantFrom(-1, 24, 7.5) }) },
      { weight: 1, arbitrary: fc.record({ localWeekday: fc.constantFrom('fri', 'Mon', 'funday') }) },
    ),
  }).map(({ sourceIpMapped, pin, ...c }) => ({
    ...c,
    // an IPv4 client of an IPv6 listener
    sourceIp: sourceIpMapped && /^\d+\.\d+\.\d+\.\d+$/.test(c.sourceIp) ? `::ffff:${c.sourceIp}` : c.sourceIp,
    ...(pin as Pick<AccessRequest['context'], 'localHour' | 'localWeekday'>),
  })),
});

function normalize(d: Decision): Decision {
  return { ...d, errors: d.errors.map((e) => (e.startsWith('request:') ? 'request' : e)) };
}

function compare(options: ConstructorParameters<typeof CompiledEngine>[0], runs: number, seed: number): void {
  const reference = new CedarWasmEngine(options);
  const compiled = new CompiledEngine(options);
  let allowed = 0;
  fc.assert(
    fc.property(requestArb, (r) => {
      const want = normalize(reference.authorize(r));
      const got = normalize(compiled.authorize(r));
      if (want.allowed) allowed++;
      assert.deepEqual(got, want);
    }),
    { numRuns: runs, seed },
  );
  assert.ok(allowed >= Math.ceil(runs / 100), `only ${allowed} allows in ${runs} runs`);
}

void it('CompiledEngine agrees with CedarWasmEngine on the baseline pack', () => {
  compare({ adminGroupId: S.ADMINS_GROUP }, 1500, 11);
});

void it('CompiledEngine agrees with CedarWasmEngine on a pack reading the whole context', () => {
  const text = readFileSync(join(packageRoot(), 'test', 'fixtures', 'policy', 'context-pack.cedar'), 'utf8');
  compare({ policies: [{ name: 'context-pack.cedar', text }] }, 1500, 12);
  // local hour and weekday in a zone with half-hour offsets and daylight saving time
  compare({ policies: [{ name: 'context-pack.cedar', text }], timeZone: 'America/St_Johns' }, 500, 13);
});

void it('CompiledEngine agrees with CedarWasmEngine on the built-in set with trusted networks', () => {
  compare({ adminGroupId: S.ADMINS_GROUP, policies: [...readBaselinePack(), trustedNetworkPolicy(['10.0.0.0/8', 'fd00::/8'])] }, 800, 14);
});
