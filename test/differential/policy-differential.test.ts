/**
 * Differential test of the compiled evaluator against cedar-wasm: 10,000 generated
 * cases (policies, templates, links, entities, requests), split in two files so the
 * test runner can run them side by side. Same decision, determining policies and
 * erroring policies, and the same refusals of invalid entities.
 */
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { caseToJson, runDifferential } from './run-differential.js';

void it('compiled evaluator agrees with cedar-wasm on 5,000 generated cases (seed 1000)', () => {
  const stats = runDifferential(5000, 1000);
  assert.equal(stats.cases, 5000);
  assert.ok(stats.allow > 100 && stats.withErrors > 100 && stats.denyByForbid > 20 && stats.refused > 20, JSON.stringify({ ...stats, mismatches: stats.mismatches.length }));
  assert.deepEqual(stats.mismatches.slice(0, 3).map((m) => ({ official: m.official, compiled: m.compiled, case: caseToJson(m.testCase) })), []);
});
