import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { IacPlanInvalidError } from '../../domain/errors.js';
import { builtinRules } from './builtin-rules.js';
import { checkPlan } from './check-plan.js';
import { moduleCallPath, parsePlan } from './parse-plan.js';

const plan = (resourceChanges: unknown, extra: Record<string, unknown> = {}) => JSON.stringify({ format_version: '1.2', resource_changes: resourceChanges, ...extra });
const rc = (over: Record<string, unknown> = {}, change: Record<string, unknown> = {}) => ({
  address: 'aws_s3_bucket.b',
  mode: 'managed',
  type: 'aws_s3_bucket',
  name: 'b',
  change: { actions: ['create'], before: null, after: { bucket: 'b' }, after_unknown: {}, ...change },
  ...over,
});

function refused(text: string, message: RegExp, limits?: { maxLength: number; maxDepth: number }) {
  assert.throws(
    () => parsePlan(text, limits),
    (err: unknown) => err instanceof IacPlanInvalidError && err.code === 'COFFER_IAC_PLAN_INVALID' && message.test(err.message),
    `expected COFFER_IAC_PLAN_INVALID matching ${message}`,
  );
}

test('hostile plans are refused with a clear error, never a crash', () => {
  refused('[' .repeat(200_000) + ']'.repeat(200_000), /nested too deeply/);
  refused('{"a":'.repeat(100_000) + '1' + '}'.repeat(100_000), /nested too deeply/);
  refused('x'.repeat(2000), /too large/, { maxLength: 1000, maxDepth: 10 });
  refused('{"format_version": "1.2", "resource_changes": [', /not valid JSON/);
  refused('', /not valid JSON/);
  refused('[]', /top level is not a JSON object/);
  refused('"plan"', /top level is not a JSON object/);
  refused('{}', /format_version/);
  refused('{"format_version": 1.2}', /format_version/);
  refused('{"format_version": "2.0", "resource_changes": []}', /`2.0` is not supported/);
  refused('{"format_version": "1.2"}', /neither/);
  refused(plan('nope'), /resource_changes/);
  refused(plan([7]), /resource_changes\/0/);
  refused(plan([rc({ address: 7 })]), /resource_changes\/0\/address/);
  refused(plan([rc({}, { actions: ['explode'] })]), /resource_changes\/0\/change\/actions\/0/);
  refused(plan([rc({}, { actions: [] })]), /actions/);
  refused(plan([rc({}, { actions: ['update', 'read'] })]), /unknown actions/);
  refused(plan([rc({}, { after: 'x' })]), /change\/after/);
  refused(plan([rc({ mode: 'weird' })]), /mode/);
  refused(plan([]), /./, { maxLength: 10, maxDepth: 10 });
  refused(JSON.stringify({ format_version: '1.2', planned_values: { root_module: { child_modules: 'x' } } }), /child_modules/);
  refused(JSON.stringify({ format_version: '1.2', resource_changes: [], configuration: { root_module: { module_calls: { a: 5 } } } }), /module_calls/);
});

test('a byte-order mark, unknown properties and older 0.x plans are accepted', () => {
  const p = parsePlan('\ufeff' + plan([rc({ future_field: { x: 1 } })], { something_new: true }));
  assert.equal(p.resources.length, 1);
  assert.equal(parsePlan(JSON.stringify({ format_version: '0.1', resource_changes: [rc()] })).resources.length, 1);
});

test('actions map to changes; deposed objects and deletes do not exist after apply', () => {
  const p = parsePlan(
    plan([
      rc({ address: 'a.x', name: 'x' }, { actions: ['delete', 'create'] }),
      rc({ address: 'a.y', name: 'y' }, { actions: ['create', 'delete'] }),
      rc({ address: 'a.z', name: 'z' }, { actions: ['delete'], after: null }),
      rc({ address: 'a.x', name: 'x', deposed: 'deadbeef' }, { actions: ['delete'], after: null }),
      rc({ address: 'a.r', name: 'r', mode: 'data' }, { actions: ['read'] }),
    ]),
  );
  assert.deepEqual(
    p.resources.map((r) => `${r.address}:${r.change}:${r.deposed ?? ''}`),
    ['a.x:replace:', 'a.y:replace:', 'a.z:delete:', 'a.x:delete:deadbeef', 'a.r:read:'],
  );
});

test('module addresses with instance keys resolve to their module calls', () => {
  assert.deepEqual(moduleCallPath('module.a[0].module.b["x.y]"].module.c'), ['a', 'b', 'c']);
  assert.deepEqual(moduleCallPath(''), []);
});

test('fuzz: any JSON is either a plan or one IacPlanInvalidError; any accepted plan checks without throwing', () => {
  const value = fc.letrec((tie) => ({
    v: fc.oneof({ depthSize: 'small' }, fc.constant(null), fc.boolean(), fc.double(), fc.string(), fc.array(tie('v'), { maxLength: 4 }), fc.dictionary(fc.string({ maxLength: 12 }), tie('v'), { maxKeys: 5 })),
  })).v;
  const types = ['aws_security_group', 'aws_s3_bucket', 'aws_iam_policy', 'google_compute_firewall', 'azurerm_network_security_group', 'azurerm_key_vault', 'google_storage_bucket_iam_policy', 'aws_s3_bucket_policy'];
  const rules = builtinRules();
  fc.assert(
    fc.property(
      fc.array(
        fc.record({
          type: fc.constantFrom(...types),
          after: fc.dictionary(fc.constantFrom('ingress', 'egress', 'policy', 'security_rule', 'acl', 'allow', 'source_ranges', 'policy_data', 'tags', 'direction', 'statement', 'network_acls'), value, { maxKeys: 5 }),
          unknown: fc.dictionary(fc.constantFrom('ingress', 'policy', 'acl', 'allow'), fc.oneof(fc.constant(true), value), { maxKeys: 2 }),
        }),
        { maxLength: 4 },
      ),
      (resources) => {
        const text = plan(resources.map((r, i) => rc({ address: `${r.type}.r${i}`, type: r.type, name: `r${i}` }, { after: r.after, after_unknown: r.unknown })));
        let parsed;
        try {
          parsed = parsePlan(text);
        } catch (err) {
          assert.ok(err instanceof IacPlanInvalidError, String(err));
          return;
        }
        const report = checkPlan(parsed, rules);
        for (const f of report.findings) assert.ok(['violation', 'unknown', 'error'].includes(f.verdict));
      },
    ),
    { numRuns: 300 },
  );
  fc.assert(
    fc.property(value, (v) => {
      try {
        parsePlan(JSON.stringify(v));
      } catch (err) {
        assert.ok(err instanceof IacPlanInvalidError, String(err));
      }
    }),
    { numRuns: 300 },
  );
});
